// The JSON API from the browser: tokens in sessionStorage, one refresh on expiry, problem+json
// errors as ApiError with the server's `detail`.

const KEYS = {
  access: "novapulse.access_token",
  expires: "novapulse.access_expires_at",
  refresh: "novapulse.refresh_token",
  user: "novapulse.user",
  enrollment: "novapulse.enrollment_token",
};
const SIGN_IN = "/ui/";
const EARLY_SECONDS = 30; // refresh this long before the access token expires

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(describe(status, problem, retryAfter));
    this.status = status;
    this.problem = problem ?? {};
  }
}

function describe(status, problem, retryAfter) {
  let text = problem?.detail || problem?.title || `The server answered ${status}.`;
  if (Array.isArray(problem?.errors) && problem.errors.length) {
    text += ` (${problem.errors.map((e) => [e.key, e.message].filter(Boolean).join(": ")).join("; ")})`;
  }
  if (retryAfter) text = `${text.replace(/[\s.]*$/, "")}. Try again in ${retryAfter} s.`;
  return text;
}

// Session

export function saveSession(session) {
  sessionStorage.setItem(KEYS.access, session.access_token);
  sessionStorage.setItem(KEYS.expires, session.expires_at);
  sessionStorage.setItem(KEYS.refresh, session.refresh_token);
  sessionStorage.setItem(KEYS.user, JSON.stringify(session.user));
  sessionStorage.removeItem(KEYS.enrollment);
}

export function saveEnrollment(outcome) {
  clearSession();
  sessionStorage.setItem(KEYS.enrollment, outcome.enrollment_token);
  sessionStorage.setItem(KEYS.user, JSON.stringify(outcome.user));
}

export function clearSession() {
  for (const key of Object.values(KEYS)) sessionStorage.removeItem(key);
}

export function signedIn() {
  return sessionStorage.getItem(KEYS.access) !== null;
}

export function enrolling() {
  return !signedIn() && sessionStorage.getItem(KEYS.enrollment) !== null;
}

/** Keep `user` as the signed-in user (its role may have changed since sign-in). */
export function rememberUser(user) {
  sessionStorage.setItem(KEYS.user, JSON.stringify(user));
}

export function currentUser() {
  const raw = sessionStorage.getItem(KEYS.user);
  return raw ? JSON.parse(raw) : null;
}

/** Leave for the sign-in page, coming back here afterwards; stops the caller. */
export function goSignIn(reason = null) {
  clearSession();
  const query = new URLSearchParams({ next: location.pathname });
  if (reason) query.set(reason, "1");
  location.assign(`${SIGN_IN}?${query}`);
  throw new ApiError(401, { detail: "You are signed out." });
}

// Requests

/** One request; anonymous unless `token` is given. */
export async function send(method, path, body, token = null) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { detail: "The server cannot be reached. Check the connection and try again." });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
  return data;
}

let refreshing = null;

/** Trade the refresh token for new tokens, once even if several requests ask at the same time
 * (a refresh token is single use: sending it twice would end the session). */
function refreshTokens() {
  const token = sessionStorage.getItem(KEYS.refresh);
  if (!token) return Promise.resolve(false);
  refreshing ??= send("POST", "/api/v1/auth/refresh", { refresh_token: token })
    .then(
      (session) => {
        saveSession(session);
        return true;
      },
      (error) => {
        if (error.status === 0) throw error; // offline: keep the session, say so
        return false;
      },
    )
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

function expiresSoon() {
  const expires = Date.parse(sessionStorage.getItem(KEYS.expires) ?? "");
  return Number.isFinite(expires) && expires - EARLY_SECONDS * 1000 < Date.now();
}

/** A request as the signed-in user. `enrollment`: an enrol-only token will do (MFA setup). */
export async function api(method, path, body, { enrollment = false } = {}) {
  if (!signedIn()) {
    const token = enrollment ? sessionStorage.getItem(KEYS.enrollment) : null;
    if (!token) goSignIn("expired");
    try {
      return await send(method, path, body, token);
    } catch (error) {
      if (error.status === 401 && !error.problem.field) goSignIn("expired");
      throw error;
    }
  }
  if (expiresSoon() && !(await refreshTokens())) goSignIn("expired");
  try {
    return await send(method, path, body, sessionStorage.getItem(KEYS.access));
  } catch (error) {
    // A 401 naming a `field` is about a credential in the body (a wrong password), not the token.
    if (error.status !== 401 || error.problem.field) throw error;
    if (!(await refreshTokens())) goSignIn("expired");
    return send(method, path, body, sessionStorage.getItem(KEYS.access));
  }
}

/** End the session on the server (best effort) and forget it here. */
export async function signOut() {
  if (signedIn()) {
    try {
      if (expiresSoon()) await refreshTokens();
      const refresh = sessionStorage.getItem(KEYS.refresh) ?? undefined;
      await send("POST", "/api/v1/auth/logout", { refresh_token: refresh }, sessionStorage.getItem(KEYS.access));
    } catch {
      // A token the server no longer takes has nothing left to revoke; forgetting it is enough.
    }
  }
  clearSession();
  location.assign(`${SIGN_IN}?signed_out=1`);
}
