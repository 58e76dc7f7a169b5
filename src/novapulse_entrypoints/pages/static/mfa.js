// MFA setup: status, enrolment with a QR code, confirmation, recovery codes, turning it off.
// Also the landing page of an enrol-only token (the company requires MFA for the user's role).

import { api, enrolling, saveSession } from "./api.js";
import { byId, clearError, say, when } from "./dom.js";
import { startPage } from "./shell.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const message = byId("message");
const ENROLLING = { enrollment: true };

/** The API's QR code as an image: an <img> never runs what the SVG might contain. */
function qrImage(svg) {
  const namespaced = svg.includes("xmlns=") ? svg : svg.replace(/^<svg\b/, `<svg xmlns="${SVG_NS}"`);
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(namespaced)}`;
}

function describe(status) {
  if (status.enabled) {
    return `MFA is on since ${when(status.enabled_at)}. ${status.recovery_codes_left} recovery codes left.`;
  }
  if (status.pending) return "MFA is off: a setup was started but not confirmed. Start again for a new secret.";
  return "MFA is off.";
}

/** The current password is asked only of a full session (an enrol-only one just proved it). */
function showPasswordField() {
  byId("setup-password-field").hidden = enrolling();
  byId("setup-password").required = !enrolling();
}

async function loadStatus() {
  const status = await api("GET", "/api/v1/auth/mfa", undefined, ENROLLING);
  byId("status").textContent = describe(status);
  byId("setup-card").hidden = status.enabled;
  byId("manage-card").hidden = !status.enabled;
  if (!status.enabled) byId("setup").hidden = true;
  showPasswordField();
}

function showCodes(codes) {
  byId("codes").replaceChildren(...codes.map((code) => {
    const item = document.createElement("li");
    const text = document.createElement("code");
    text.textContent = code;
    item.append(text);
    return item;
  }));
  byId("codes-card").hidden = false;
  byId("codes-card").scrollIntoView();
}

function setupBody() {
  return enrolling() ? undefined : { password: byId("setup-password").value };
}

async function startSetup(event) {
  event.preventDefault();
  const button = event.submitter ?? byId("start-setup");
  button.disabled = true;
  clearError(message);
  try {
    const setup = await api("POST", "/api/v1/auth/mfa/setup", setupBody(), ENROLLING);
    byId("setup-password").value = "";
    byId("qr").src = qrImage(setup.qr_svg);
    byId("secret").textContent = setup.secret;
    byId("account").textContent = `${setup.account} (${setup.issuer})`;
    byId("otpauth").textContent = setup.otpauth_uri;
    byId("setup").hidden = false;
    button.textContent = "Start again";
    byId("confirm-code").focus();
  } catch (error) {
    say(message, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

async function submit(event, run) {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  clearError(message);
  try {
    await run();
    event.target.reset();
  } catch (error) {
    say(message, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

async function confirm() {
  const done = await api("POST", "/api/v1/auth/mfa/confirm", { code: byId("confirm-code").value.trim() }, ENROLLING);
  if (done.session) {
    saveSession(done.session);
    byId("nav").hidden = false;
    byId("continue").hidden = false;
  }
  byId("setup").hidden = true;
  say(message, "MFA is on.", "success");
  showCodes(done.recovery_codes);
  await loadStatus();
}

async function regenerate() {
  const done = await api("POST", "/api/v1/auth/mfa/recovery-codes", { code: byId("regenerate-code").value.trim() });
  say(message, "New recovery codes made; the old ones no longer work.", "success");
  showCodes(done.recovery_codes);
  await loadStatus();
}

async function disable() {
  await api("POST", "/api/v1/auth/mfa/disable", {
    password: byId("disable-password").value,
    code: byId("disable-code").value.trim(),
  });
  say(message, "MFA is off.", "success");
  await loadStatus();
}

function codesStored() {
  byId("codes").replaceChildren();
  byId("codes-card").hidden = true;
}

const user = startPage(ENROLLING);
if (enrolling()) {
  say(message, "Your company requires MFA for your role: set it up to continue.", "info");
}
byId("continue").href = ["owner", "admin"].includes(user?.role) ? "/ui/jobs" : "/ui/mfa";
showPasswordField();
byId("setup-form").addEventListener("submit", startSetup);
byId("confirm-form").addEventListener("submit", (e) => submit(e, confirm));
byId("regenerate-form").addEventListener("submit", (e) => submit(e, regenerate));
byId("disable-form").addEventListener("submit", (e) => submit(e, disable));
byId("codes-stored").addEventListener("click", codesStored);
loadStatus().catch((error) => say(message, error.message, "error"));
