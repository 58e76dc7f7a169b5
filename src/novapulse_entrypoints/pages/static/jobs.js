// The job queue dashboard: queue figures, the company's jobs (keyset pages), one job's story,
// requeueing dead jobs; refreshed by hand or every few seconds.

import { api } from "./api.js";
import { badge, busy, byId, el, ms, num, percent, say, showRows, table, when } from "./dom.js";
import { guarded, showContent, showForbidden, startPage } from "./shell.js";

const PAGE = 25;
const AUTO_MS = 5000;
const STATES = ["waiting", "active", "completed", "failed", "retrying", "dead"];
const TONES = { completed: "ok", dead: "bad", failed: "bad", retrying: "warn", active: "warn" };
const message = byId("message");
const jobMessage = byId("job-message");
let pageAfter = null; // the cursor of the page shown (null: the first)
let nextAfter = null;
let openJob = null;
let timer = null;

const stateBadge = (state) => badge(state, TONES[state] ?? "muted");

// Queues

function depthRow(queue) {
  const requeue = el("button", { type: "button", class: "secondary", onclick: (e) => requeueDead(e, queue.queue) }, "Requeue dead");
  requeue.setAttribute("aria-label", `Requeue all dead jobs of the ${queue.queue} queue`);
  return [
    el("th", { scope: "row" }, queue.queue), queue.priority, num(queue.concurrency), num(queue.max_retries),
    num(queue.depth.waiting), num(queue.depth.delayed), num(queue.depth.dead),
    ...STATES.map((state) => num(queue.states[state] ?? 0)),
    el("td", {}, requeue),
  ];
}

function throughputCells(t) {
  return [num(t.processed), num(t.failed), num(percent(t.failure_rate)), num(ms(t.p50_ms)), num(ms(t.p95_ms))];
}

async function loadQueues() {
  const queues = await api("GET", "/api/v1/jobs/queues");
  const figures = (labels) => labels.map((label) => ({ label, num: true }));
  byId("queues").replaceChildren(
    table("Depth on the broker and job records by state",
      ["Queue", "Priority", ...figures(["Concurrency", "Retries", "Waiting", "Delayed", "Dead"]), ...figures(STATES.map((s) => `${s} jobs`)), ""],
      queues.map(depthRow)),
    table("Throughput",
      ["Queue", ...figures(["Processed (1 min)", "Failed (1 min)", "Failure rate (1 min)", "p50 (1 min)", "p95 (1 min)",
        "Processed (1 h)", "Failed (1 h)", "Failure rate (1 h)", "p50 (1 h)", "p95 (1 h)"])],
      queues.map((q) => [el("th", { scope: "row" }, q.queue), ...throughputCells(q.last_minute), ...throughputCells(q.last_hour)])),
  );
}

async function requeueDead(event, queue) {
  await busy(event.currentTarget, message, async () => {
    const done = await api("POST", `/api/v1/jobs/queues/${encodeURIComponent(queue)}/requeue-dead`);
    say(message, `Requeued ${done.requeued} dead job(s) of the ${queue} queue.`, "success");
    await refresh();
  });
}

// Jobs

function jobRow(job) {
  const open = el("button", { type: "button", class: "secondary", onclick: (e) => busy(e.currentTarget, message, () => showJob(job.id, true)) }, "Details");
  open.setAttribute("aria-label", `Details of job ${job.id}`);
  const error = job.error_type ? `${job.error_type}: ${job.error_message ?? ""}` : "";
  return [when(job.created_at), job.queue, job.task, el("td", {}, stateBadge(job.state)), num(job.attempts),
    el("td", { class: "wrap" }, error), el("td", {}, open)];
}

async function loadJobs() {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (byId("filter-queue").value) query.set("queue", byId("filter-queue").value);
  if (byId("filter-state").value) query.set("state", byId("filter-state").value);
  if (pageAfter) query.set("after", pageAfter);
  const page = await api("GET", `/api/v1/jobs?${query}`);
  nextAfter = page.next_after;
  byId("next-page").hidden = !nextAfter;
  byId("first-page").hidden = !pageAfter;
  showRows(byId("jobs"), {
    caption: "Jobs, newest first",
    headers: ["Created", "Queue", "Task", "State", { label: "Attempts", num: true }, "Last error", ""],
    rows: page.items.map(jobRow),
    empty: "No jobs match.",
  });
}

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value ?? "—")];
}

async function showJob(id, opened = false) {
  const job = await api("GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
  if (opened) jobMessage.textContent = "";
  openJob = job.id;
  byId("job-title").textContent = `Job ${job.id}`;
  byId("job-facts").replaceChildren(
    ...fact("Queue", job.queue), ...fact("Task", job.task), ...fact("State", stateBadge(job.state)),
    ...fact("Attempts", String(job.attempts)), ...fact("Created", when(job.created_at)),
    ...fact("Updated", when(job.updated_at)), ...fact("Finished", when(job.finished_at)),
    ...fact("Request id", job.request_id), ...fact("Error", job.error_type ? `${job.error_type}: ${job.error_message ?? ""}` : null),
  );
  byId("job-payload").textContent = JSON.stringify(job.payload, null, 2);
  byId("requeue").hidden = job.state !== "dead";
  byId("transitions").replaceChildren(table("Transitions",
    ["At", "State", { label: "Attempt", num: true }, { label: "Duration", num: true }, { label: "Retry in", num: true }, "Error"],
    job.transitions.map((t) => [when(t.at), el("td", {}, stateBadge(t.state)), num(t.attempt), num(ms(t.duration_ms)),
      num(t.retry_in_seconds === null ? "—" : `${Math.round(t.retry_in_seconds)} s`),
      el("td", { class: "wrap" }, t.error_type ? `${t.error_type}: ${t.error_message ?? ""}` : "")])));
  byId("job-detail").hidden = false;
}

async function requeueOne(event) {
  await busy(event.currentTarget, jobMessage, async () => {
    await api("POST", `/api/v1/jobs/${encodeURIComponent(openJob)}/requeue`);
    say(jobMessage, "Requeued: the job is back on its queue.", "success");
    await refresh();
  });
}

// Refreshing

async function refresh() {
  await Promise.all([loadQueues(), loadJobs(), openJob ? showJob(openJob) : null]);
  byId("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

function autoRefresh(on) {
  clearInterval(timer);
  byId("auto-refresh").checked = on;
  timer = on
    ? setInterval(() => {
        if (!document.hidden) guardedRefresh().catch((error) => say(message, error.message, "error"));
      }, AUTO_MS)
    : null;
}

const guardedRefresh = guarded(refresh, () => autoRefresh(false));

startPage();
byId("refresh").addEventListener("click", (e) => busy(e.currentTarget, message, guardedRefresh));
byId("auto-refresh").addEventListener("change", (e) => autoRefresh(e.currentTarget.checked));
byId("filter-form").addEventListener("submit", (e) => {
  e.preventDefault();
  pageAfter = null;
  busy(e.submitter, message, loadJobs);
});
byId("next-page").addEventListener("click", (e) => {
  pageAfter = nextAfter;
  busy(e.currentTarget, message, loadJobs);
});
byId("first-page").addEventListener("click", (e) => {
  pageAfter = null;
  busy(e.currentTarget, message, loadJobs);
});
byId("requeue").addEventListener("click", requeueOne);
refresh().then(showContent, (error) => {
  autoRefresh(false);
  if (showForbidden(error)) return;
  showContent();
  say(message, error.message, "error");
});
