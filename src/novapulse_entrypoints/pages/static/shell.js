// What every page behind sign-in shares: the header (who, sign-out) and the signed-out and
// not-allowed states.

import { api, currentUser, enrolling, goSignIn, rememberUser, signedIn, signOut } from "./api.js";
import { byId } from "./dom.js";

/** Start a page that needs a session (`enrollment`: an enrol-only token will do); the user. */
export function startPage({ enrollment = false } = {}) {
  if (!signedIn() && !(enrollment && enrolling())) goSignIn();
  const user = currentUser();
  showWho(user);
  byId("nav").hidden = !signedIn();
  byId("sign-out").addEventListener("click", () => signOut());
  return user;
}

function showWho(user) {
  byId("who").textContent = user ? `${user.name} (${user.role})` : "";
}

/** Replace the page's content by the not-allowed state when the API answered 403, naming the
 * role the user has now: it is read again, as it may have changed since sign-in. */
export function showForbidden(error) {
  if (error.status !== 403) return false;
  byId("content").hidden = true;
  byId("forbidden-role").textContent = currentUser()?.role ?? "unknown";
  byId("forbidden-detail").textContent = error.message;
  byId("forbidden").hidden = false;
  api("GET", "/api/v1/users/me").then(
    (me) => {
      rememberUser(me);
      showWho(me);
      byId("forbidden-role").textContent = me.role;
    },
    () => {},
  );
  return true;
}

/** Show the page's content: it stays hidden until the first answer says the user may see it
 * (so controls of a role the user lacks never flash up). */
export function showContent() {
  byId("content").hidden = false;
}

/** `load`, wrapped so that a 403 shows the not-allowed state instead of an error message
 * (and calls `onForbidden`, to stop what would ask again). */
export function guarded(load, onForbidden = () => {}) {
  return () =>
    load().catch((error) => {
      if (!showForbidden(error)) throw error;
      onForbidden();
    });
}
