// Sign-in: password, then the MFA challenge (TOTP or recovery code) or MFA enrolment.

import { currentUser, saveEnrollment, saveSession, send, signedIn } from "./api.js";
import { byId, say } from "./dom.js";

const PAGES = ["/ui/jobs", "/ui/webhooks", "/ui/mfa"];
const query = new URLSearchParams(location.search);
const message = byId("message");
let challenge = null;
let useRecovery = false;

/** Where to go once signed in: the page that sent us here, else the role's natural page. */
function destination(user) {
  const next = query.get("next");
  if (PAGES.includes(next)) return next;
  return ["owner", "admin"].includes(user?.role) ? "/ui/jobs" : "/ui/mfa";
}

function enter(session) {
  saveSession(session);
  location.assign(destination(session.user));
}

function showStep(step) {
  byId("password-step").hidden = step !== "password";
  byId("code-step").hidden = step !== "code";
  byId(step === "password" ? "email" : useRecovery ? "recovery-code" : "code").focus();
}

function chooseFactor(recovery) {
  useRecovery = recovery;
  byId("totp-field").hidden = recovery;
  byId("recovery-field").hidden = !recovery;
  byId("use-recovery").textContent = recovery ? "Use the authenticator app instead" : "Use a recovery code instead";
  byId(recovery ? "recovery-code" : "code").focus();
}

async function submitPassword(event) {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  try {
    const outcome = await send("POST", "/api/v1/auth/login", {
      email: byId("email").value.trim(),
      password: byId("password").value,
    });
    byId("password").value = "";
    if (outcome.status === "authenticated") return enter(outcome);
    if (outcome.status === "mfa_enrollment_required") {
      saveEnrollment(outcome);
      return location.assign("/ui/mfa");
    }
    challenge = outcome.challenge_token;
    say(message, "Enter the code from your authenticator app (or a recovery code).", "info");
    chooseFactor(false);
    showStep("code");
  } catch (error) {
    say(message, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

async function submitCode(event) {
  event.preventDefault();
  const button = event.submitter;
  const answer = useRecovery
    ? { recovery_code: byId("recovery-code").value.trim() }
    : { code: byId("code").value.trim() };
  button.disabled = true;
  try {
    enter(await send("POST", "/api/v1/auth/mfa/verify", { challenge_token: challenge, ...answer }));
  } catch (error) {
    say(message, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

function startOver() {
  challenge = null;
  byId("code").value = "";
  byId("recovery-code").value = "";
  message.textContent = "";
  showStep("password");
}

if (signedIn()) {
  location.replace(destination(currentUser()));
} else {
  if (query.has("signed_out")) say(message, "You are signed out.", "success");
  if (query.has("expired")) say(message, "Your session has ended. Sign in again.", "info");
  byId("password-form").addEventListener("submit", submitPassword);
  byId("code-form").addEventListener("submit", submitCode);
  byId("use-recovery").addEventListener("click", () => chooseFactor(!useRecovery));
  byId("start-over").addEventListener("click", startOver);
}
