// Webhook endpoints: list, add (secret shown once), edit, rotate, delete, test, delivery log.

import { api } from "./api.js";
import { badge, busy, byId, el, ms, num, say, showRows, table, when } from "./dom.js";
import { guarded, showContent, showForbidden, startPage } from "./shell.js";

const PAGE = 50;
const POLL_MS = 2000;
const POLL_TIMES = 15;
const message = byId("message");
const detailMessage = byId("detail-message");

let endpointsAfter = null;
let selected = null;
let deliveriesAfter = null;
let polls = 0;
let pollTimer = null;

const path = (id, rest = "") => `/api/v1/webhooks/${encodeURIComponent(id)}${rest}`;
const deliveryPath = (id, rest = "") => `/api/v1/webhook-deliveries/${encodeURIComponent(id)}${rest}`;

function eventTypes(text) {
  return text.split(",").map((type) => type.trim()).filter(Boolean);
}

function showSecret(title, note, secret) {
  byId("secret-title").textContent = title;
  byId("secret-note").textContent = note;
  byId("secret-value").textContent = secret;
  byId("secret-card").hidden = false;
  byId("secret-card").scrollIntoView();
}

function forgetSecret() {
  byId("secret-value").textContent = "";
  byId("secret-card").hidden = true;
}

// Endpoints

function state(endpoint) {
  const parts = [];
  if (endpoint.active) parts.push(badge("active", "ok"));
  else if (endpoint.disabled_reason) parts.push(badge(`disabled: ${endpoint.disabled_reason}`, "bad"));
  else parts.push(badge("paused", "muted"));
  if (endpoint.consecutive_failures > 0) {
    parts.push(" ", badge(`failing since ${when(endpoint.failing_since)} (${endpoint.consecutive_failures} in a row)`, "warn"));
  }
  if (endpoint.previous_secret_expires_at) {
    parts.push(" ", badge(`old secret signs until ${when(endpoint.previous_secret_expires_at)}`, "muted"));
  }
  return el("td", {}, parts);
}

function endpointRow(endpoint) {
  const manage = el("button", { type: "button", class: "secondary", onclick: () => select(endpoint) }, "Manage");
  manage.setAttribute("aria-label", `Manage ${endpoint.url}`);
  return [
    el("td", { class: "url" }, endpoint.url),
    endpoint.event_types.length ? endpoint.event_types.join(", ") : "every event",
    el("td", { class: "wrap" }, endpoint.description),
    state(endpoint),
    el("td", {}, manage),
  ];
}

async function loadEndpoints(more = false) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (more && endpointsAfter) query.set("after", endpointsAfter);
  const page = await api("GET", `/api/v1/webhooks?${query}`);
  endpointsAfter = page.next_after;
  byId("more-endpoints").hidden = !endpointsAfter;
  showRows(byId("endpoints"), {
    caption: "Endpoints",
    headers: ["URL", "Event types", "Description", "State", ""],
    rows: page.items.map(endpointRow),
    more,
    empty: "No endpoints yet.",
  });
}

async function create(event) {
  event.preventDefault();
  await busy(event.submitter, message, async () => {
    const created = await api("POST", "/api/v1/webhooks", {
      url: byId("new-url").value.trim(),
      event_types: eventTypes(byId("new-events").value),
      description: byId("new-description").value,
    });
    event.target.reset();
    showSecret(
      "Signing secret of the new endpoint",
      "Store it now: it is shown only this once. Your receiver needs it to verify the signature of each delivery.",
      created.secret,
    );
    await loadEndpoints();
    select(created.endpoint);
  });
}

// One endpoint

function select(endpoint) {
  if (selected?.id !== endpoint.id) byId("delivery-status").value = "";
  selected = endpoint;
  byId("detail-title").textContent = `Endpoint ${endpoint.url}`;
  byId("edit-url").value = endpoint.url;
  byId("edit-events").value = endpoint.event_types.join(", ");
  byId("edit-description").value = endpoint.description;
  byId("edit-active").checked = endpoint.active;
  byId("confirm-delete").hidden = true;
  byId("attempts").replaceChildren();
  detailMessage.textContent = "";
  byId("detail").hidden = false;
  loadDeliveries().catch((error) => say(detailMessage, error.message, "error"));
}

async function save(event) {
  event.preventDefault();
  await busy(event.submitter, detailMessage, async () => {
    const endpoint = await api("PATCH", path(selected.id), {
      url: byId("edit-url").value.trim(),
      event_types: eventTypes(byId("edit-events").value),
      description: byId("edit-description").value,
      active: byId("edit-active").checked,
    });
    await loadEndpoints();
    select(endpoint);
    say(detailMessage, "Saved.", "success");
  });
}

async function rotate(event) {
  await busy(event.currentTarget, detailMessage, async () => {
    const grace = Number(byId("grace").value);
    const rotated = await api("POST", path(selected.id, "/rotate-secret"), { grace_seconds: grace });
    const note = rotated.previous_valid_until
      ? `Store it now: it is shown only this once. Until ${when(rotated.previous_valid_until)} deliveries are signed with both the old and the new secret, so a receiver holding either verifies them; move your receiver to the new secret before then.`
      : "Store it now: it is shown only this once. The old secret no longer signs: move your receiver to the new one now.";
    showSecret("New signing secret", note, rotated.secret);
    await loadEndpoints();
    selected = rotated.endpoint;
  });
}

function askDelete() {
  byId("confirm-delete-text").textContent = `Delete the endpoint ${selected.url}? It stops receiving events; this cannot be undone.`;
  byId("confirm-delete").hidden = false;
  byId("confirm-delete-no").focus();
}

async function remove(event) {
  await busy(event.currentTarget, detailMessage, async () => {
    await api("DELETE", path(selected.id));
    say(message, `Deleted the endpoint ${selected.url}.`, "success");
    selected = null;
    byId("detail").hidden = true;
    forgetSecret();
    await loadEndpoints();
  });
}

async function sendTest(event) {
  await busy(event.currentTarget, detailMessage, async () => {
    await api("POST", path(selected.id, "/test"), {});
    say(detailMessage, "A webhook.test event is on its way; its delivery is listed below.", "success");
    await loadDeliveries();
  });
}

// Deliveries and attempts

function statusBadge(status) {
  return badge(status, { succeeded: "ok", failed: "bad", pending: "warn" }[status] ?? "muted");
}

function deliveryRow(delivery) {
  const actions = el("td", {}, el("div", { class: "actions" },
    el("button", { type: "button", class: "secondary", onclick: () => showAttempts(delivery) }, "Attempts"),
    delivery.status === "pending"
      ? null
      : el("button", { type: "button", class: "secondary", onclick: (e) => redeliver(e, delivery) }, "Redeliver"),
  ));
  return [when(delivery.created_at), delivery.event_type, el("td", {}, statusBadge(delivery.status)),
    num(delivery.attempts), num(delivery.last_status_code ?? "—"), el("td", { class: "wrap" }, delivery.last_error ?? ""), actions];
}

/** The endpoint's deliveries; while some are pending, looked at again every few seconds. */
async function loadDeliveries(more = false, polled = false) {
  clearTimeout(pollTimer);
  polls = polled ? polls + 1 : 0;
  const endpoint = selected;
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (byId("delivery-status").value) query.set("status", byId("delivery-status").value);
  if (more && deliveriesAfter) query.set("after", deliveriesAfter);
  const page = await api("GET", `${path(endpoint.id, "/deliveries")}?${query}`);
  if (selected !== endpoint) return;
  deliveriesAfter = page.next_after;
  byId("more-deliveries").hidden = !deliveriesAfter;
  showRows(byId("deliveries"), {
    caption: "Deliveries, newest first",
    headers: ["Created", "Event", "Status", { label: "Attempts", num: true }, { label: "Last status", num: true }, "Last error", ""],
    rows: page.items.map(deliveryRow),
    more,
    empty: byId("delivery-status").value ? `No ${byId("delivery-status").value} deliveries.` : "No deliveries yet.",
  });
  if (!more && page.items.some((d) => d.status === "pending") && polls < POLL_TIMES) {
    pollTimer = setTimeout(() => loadDeliveries(false, true).catch(() => {}), POLL_MS);
  }
}

function attemptsTable(caption, attempts) {
  const headers = [{ label: "#", num: true }, "Time", "Result", { label: "Status", num: true }, { label: "Latency", num: true }, "Error", "Response excerpt"];
  const rows = attempts.map((a) => [num(a.number), when(a.at), el("td", {}, a.succeeded ? badge("succeeded", "ok") : badge("failed", "bad")),
    num(a.status_code ?? "—"), num(ms(a.latency_ms)), el("td", { class: "wrap" }, a.error ?? ""),
    el("td", {}, a.response_excerpt ? el("pre", { class: "payload" }, a.response_excerpt) : "")]);
  return rows.length ? table(caption, headers, rows) : el("p", { class: "muted" }, "No attempts yet.");
}

async function showAttempts(delivery) {
  try {
    const page = await api("GET", `${deliveryPath(delivery.id, "/attempts")}?limit=200`);
    byId("attempts").replaceChildren(
      el("h3", {}, `Delivery ${delivery.id}`),
      el("dl", { class: "facts" },
        el("dt", {}, "Event"), el("dd", {}, delivery.event_type),
        el("dt", {}, "webhook-id"), el("dd", {}, delivery.message_id),
        el("dt", {}, "Request id"), el("dd", {}, delivery.request_id ?? "—")),
      el("pre", { class: "payload" }, delivery.payload),
      attemptsTable("Attempts of this delivery", page.items),
    );
    byId("attempts").scrollIntoView();
  } catch (error) {
    say(detailMessage, error.message, "error");
  }
}

async function showEndpointAttempts() {
  const page = await api("GET", `${path(selected.id, "/attempts")}?limit=${PAGE}`);
  byId("attempts").replaceChildren(attemptsTable("Latest attempts to this endpoint, newest first", page.items));
}

async function redeliver(event, delivery) {
  await busy(event.currentTarget, detailMessage, async () => {
    await api("POST", deliveryPath(delivery.id, "/redeliver"));
    say(detailMessage, "Sent again, with the same body and webhook-id.", "success");
    await loadDeliveries();
  });
}

// Start

startPage();
byId("reload").addEventListener("click", (e) => busy(e.currentTarget, message, guarded(() => loadEndpoints())));
byId("more-endpoints").addEventListener("click", (e) => busy(e.currentTarget, message, () => loadEndpoints(true)));
byId("create-form").addEventListener("submit", create);
byId("secret-stored").addEventListener("click", forgetSecret);
byId("edit-form").addEventListener("submit", save);
byId("rotate").addEventListener("click", rotate);
byId("send-test").addEventListener("click", sendTest);
byId("delete").addEventListener("click", askDelete);
byId("confirm-delete-no").addEventListener("click", () => { byId("confirm-delete").hidden = true; });
byId("confirm-delete-yes").addEventListener("click", remove);
byId("delivery-status").addEventListener("change", () => loadDeliveries().catch((e) => say(detailMessage, e.message, "error")));
byId("reload-deliveries").addEventListener("click", (e) => busy(e.currentTarget, detailMessage, () => loadDeliveries()));
byId("endpoint-attempts").addEventListener("click", (e) => busy(e.currentTarget, detailMessage, showEndpointAttempts));
byId("more-deliveries").addEventListener("click", (e) => busy(e.currentTarget, detailMessage, () => loadDeliveries(true)));
loadEndpoints().then(showContent, (error) => {
  if (showForbidden(error)) return;
  showContent();
  say(message, error.message, "error");
});
