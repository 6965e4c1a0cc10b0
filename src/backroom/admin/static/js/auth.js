// The signed-in session lives in this module's memory only: never in
// localStorage, sessionStorage or a cookie. A reload signs you out. The access
// token is refreshed before it expires; refresh tokens rotate, so one refresh
// runs at a time (two racing with the same token would revoke the session).

const API = "/api/v1";
let session = null; // { access, refresh, expiresAt, user }
let refreshing = null;
let timer = null;
const listeners = new Set();

export class AuthError extends Error {}

/** Called with the user (or null) whenever the session starts or ends. */
export function onChange(listener) {
  listeners.add(listener);
}

function emit(reason) {
  for (const listener of listeners) listener(session ? session.user : null, reason);
}

async function post(path, body) {
  return fetch(API + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
}

async function problemDetail(response) {
  try {
    const problem = await response.json();
    return problem.detail || problem.title;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function store(pair) {
  const lifetime = pair.expires_in * 1000;
  session = {
    ...session,
    access: pair.access_token,
    refresh: pair.refresh_token,
    expiresAt: Date.now() + lifetime,
  };
  clearTimeout(timer);
  // Well before expiry: at 80 % of the lifetime, or a minute before, whichever is first.
  const wait = Math.max(1000, Math.min(lifetime * 0.8, lifetime - 60_000));
  timer = setTimeout(() => refresh(), wait);
}

export async function signIn(email, password) {
  const response = await post("/auth/token", { email, password });
  if (!response.ok) throw new AuthError(await problemDetail(response));
  store(await response.json());
  const me = await fetch(`${API}/users/me`, {
    headers: { Authorization: `Bearer ${session.access}` },
    cache: "no-store",
  });
  if (!me.ok) {
    await discard();
    throw new AuthError(await problemDetail(me));
  }
  const user = await me.json();
  if (user.role === "customer") {
    await discard();
    throw new AuthError("This app is for staff and admins; your account is a customer account.");
  }
  session.user = user;
  emit("signed-in");
  return user;
}

/** End the session on the server too; tell no one (the sign-in form is still up). */
async function discard() {
  const refreshToken = session && session.refresh;
  session = null;
  clearTimeout(timer);
  if (refreshToken) {
    await post("/auth/logout", { refresh_token: refreshToken }).catch(() => undefined);
  }
}

export async function signOut() {
  const ending = discard();
  emit("signed-out");
  await ending;
}

async function rotate() {
  const response = await post("/auth/refresh", { refresh_token: session.refresh }).catch(
    () => null,
  );
  if (!session) return null;
  if (!response || !response.ok) {
    if (response && response.status === 401) {
      session = null;
      clearTimeout(timer);
      emit("expired");
    }
    return null;
  }
  store(await response.json());
  return session.access;
}

/** A fresh access token (one rotation in flight at most), or null if signed out. */
export function refresh() {
  if (!session) return Promise.resolve(null);
  refreshing ||= rotate().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** The access token to send now, refreshed first if it is about to expire. */
export async function accessToken() {
  if (!session) return null;
  if (refreshing || session.expiresAt - Date.now() < 10_000) return refresh();
  return session.access;
}

export function currentUser() {
  return session ? session.user : null;
}

export function isAdmin() {
  return Boolean(session && session.user && session.user.role === "admin");
}
