// The console is a client of the API: every call goes through `api()` with the session cookie;
// unsafe methods repeat the CSRF cookie in X-CSRF-Token (double submit). A 401 tries one refresh.

const SAFE = new Set(["GET", "HEAD"]);

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** The CSRF cookie's value, repeated in X-CSRF-Token on unsafe requests. */
export function csrfToken() {
  const found = document.cookie.split("; ").find((part) => part.startsWith("tm_csrf="));
  return found ? decodeURIComponent(found.slice("tm_csrf=".length)) : "";
}

// A separator then a whole JSON number that is an integer of 16+ digits (or the same inside a
// string: the quotes counted before it tell).
const BIG_INTEGER = /([:[,]\s*)(-?\d{16,})(?![.eE\d])/g;
const QUOTE = 34;
const BACKSLASH = 92;

/** JSON with integers beyond 2^53 kept exact, as decimal strings (wei amounts are routinely
 * larger; `BigInt(value)` reads them). Portable (a reviver needs its context argument, Chrome
 * 114+). Only the candidates are matched, and one pass over the text's characters between them
 * tracks whether a candidate is inside a string: a few times faster on a megabytes call tree than
 * a regex stepping through every string. */
export function parseJson(text) {
  let fixed = "";
  let copied = 0;
  let position = 0;
  let inString = false;
  for (const match of text.matchAll(BIG_INTEGER)) {
    for (; position < match.index; position += 1) {
      const code = text.charCodeAt(position);
      if (code === BACKSLASH) position += 1;
      else if (code === QUOTE) inString = !inString;
    }
    const [whole, before, digits] = match;
    if (inString || Number.isSafeInteger(Number(digits))) continue;
    fixed += `${text.slice(copied, match.index)}${before}"${digits}"`;
    copied = match.index + whole.length;
  }
  return JSON.parse(copied ? fixed + text.slice(copied) : text);
}

/** The API's one-line reason from an error answer's body (its `detail`), else the body. */
export function errorDetail(text) {
  try {
    const parsed = JSON.parse(text).detail;
    return parsed === undefined ? text : typeof parsed === "string" ? parsed : JSON.stringify(parsed);
  } catch {
    return text; // not JSON
  }
}

async function send(method, path, body) {
  const headers = {};
  if (!SAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

let refreshing = null;
let onSignedOut = () => {};

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

async function refresh() {
  refreshing ??= send("POST", "/api/console/refresh").finally(() => {
    refreshing = null;
  });
  return (await refreshing).ok;
}

const preloaded = new Map();

/** Start GET `path` now, e.g. a shared link's data while the session check is under way; the
 * next `api(path)` takes its answer if it succeeded (else asks again, after any refresh). */
export function preload(path) {
  preloaded.set(path, send("GET", path).catch(() => null));
}

async function preloadedOr(method, path, body) {
  const early = method === "GET" && preloaded.get(path);
  preloaded.delete(path);
  const response = early && (await early);
  return response?.ok ? response : send(method, path, body);
}

export async function api(path, { method = "GET", body } = {}) {
  let response = await preloadedOr(method, path, body);
  if (response.status === 401 && !path.startsWith("/api/console/") && (await refresh())) {
    response = await send(method, path, body);
  }
  const text = await response.text();
  if (!response.ok) {
    if (response.status === 401) onSignedOut();
    throw new ApiError(response.status, errorDetail(text) || response.statusText);
  }
  return text ? parseJson(text) : null;
}

/** A WebSocket on this origin (the session cookie authenticates it), JSON messages to `onMessage`. */
export function socket(path, onMessage) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}${path}`);
  ws.onmessage = (event) => onMessage(parseJson(event.data));
  return ws;
}

export const canWrite = (role) => role === "analyst" || role === "admin";

/** The logged-in user ({username, role, …}) or null; refreshes an expired access cookie once. */
export async function currentUser() {
  let session = await api("/api/console/session");
  if (!session.me && session.can_refresh && (await refresh())) session = await api("/api/console/session");
  return session.me?.user ?? null;
}
