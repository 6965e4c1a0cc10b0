// The one way the app talks to the server: /api/v1 with the session's bearer
// token, JSON in and out, problem+json errors turned into ApiError. A 401 is
// retried once after a token refresh.
import { accessToken, refresh } from "./auth.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }

  /** Per-field messages of a 422: { name: "…" }. */
  get fields() {
    const out = {};
    for (const error of this.problem.errors || []) out[error.field] = error.message;
    return out;
  }
}

function encode(body, headers) {
  if (body === undefined || body instanceof Blob || typeof body === "string") return body;
  headers.set("Content-Type", "application/json");
  return JSON.stringify(body);
}

async function send(method, path, token, options) {
  const headers = new Headers(options.headers || {});
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const body = encode(options.body, headers);
  return fetch(`/api/v1${path}`, {
    method,
    headers,
    body,
    signal: options.signal,
    cache: "no-store",
    credentials: "omit",
  });
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { title: response.statusText };
  }
}

/**
 * One API call. Resolves to { data, etag, status, headers } (or the raw
 * Response with `raw: true`); rejects with ApiError for any non-2xx.
 */
export async function request(method, path, options = {}) {
  let response = await send(method, path, await accessToken(), options);
  if (response.status === 401) {
    const token = await refresh();
    if (token) response = await send(method, path, token, options);
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (options.raw) return response;
  const data = response.status === 204 ? null : await response.json();
  return { data, etag: response.headers.get("ETag"), status: response.status, headers: response.headers };
}

/** "/products" + {q: "x", sort: null} → "/products?q=x" (empty values dropped). */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, body, options = {}) => request("POST", path, { ...options, body }),
  patch: (path, body, options = {}) => request("PATCH", path, { ...options, body }),
  put: (path, body, options = {}) => request("PUT", path, { ...options, body }),
  delete: (path, options) => request("DELETE", path, options),
};
