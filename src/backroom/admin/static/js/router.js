// Hash routes (#/products/ID?q=x): the server serves one page, the app picks the view.
import { withQuery } from "./api.js";

const routes = [];

/** Register a view: pattern "/products/:id", view(main, ctx), options { admin }. */
export function route(pattern, view, options = {}) {
  routes.push({ parts: pattern.split("/").filter(Boolean), view, ...options });
}

export function location() {
  const [path, query = ""] = window.location.hash.replace(/^#/, "").split("?");
  return { path: path || "/", query: Object.fromEntries(new URLSearchParams(query)) };
}

export function match(path) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const candidate of routes) {
    if (candidate.parts.length !== parts.length) continue;
    const params = {};
    const ok = candidate.parts.every((part, i) => {
      if (part.startsWith(":")) params[part.slice(1)] = parts[i];
      return part.startsWith(":") || part === parts[i];
    });
    if (ok) return { ...candidate, params };
  }
  return null;
}

export function href(path, query = {}) {
  return `#${withQuery(path, query)}`;
}

export function go(path, query = {}) {
  const target = href(path, query);
  if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else window.location.hash = target;
}

/** Change the query of the current view without adding a history entry or re-rendering. */
export function replaceQuery(query) {
  history.replaceState(null, "", href(location().path, query));
}
