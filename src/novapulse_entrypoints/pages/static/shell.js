// What every page behind sign-in shares: the header (who, sign-out) and the signed-out and
// not-allowed states.

import { currentUser, enrolling, goSignIn, signedIn, signOut } from "./api.js";
import { byId } from "./dom.js";

/** Start a page that needs a session (`enrollment`: an enrol-only token will do); the user. */
export function startPage({ enrollment = false } = {}) {
  if (!signedIn() && !(enrollment && enrolling())) goSignIn();
  const user = currentUser();
  byId("who").textContent = user ? `${user.name} (${user.role})` : "";
  byId("nav").hidden = !signedIn();
  byId("sign-out").addEventListener("click", () => signOut());
  return user;
}

/** Replace the page's content by the not-allowed state when the API answered 403. */
export function showForbidden(error, user) {
  if (error.status !== 403) return false;
  byId("content").hidden = true;
  byId("forbidden-role").textContent = user?.role ?? "unknown";
  byId("forbidden-detail").textContent = error.message;
  byId("forbidden").hidden = false;
  return true;
}
