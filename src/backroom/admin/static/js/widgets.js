// Small building blocks shared by the views. All DOM comes from dom.js.
import { ApiError } from "./api.js";
import { h } from "./dom.js";

let flashed = null;

/** A message to show on the next view (after a navigation). */
export function flash(text) {
  flashed = text;
}

export function takeFlash() {
  const text = flashed;
  flashed = null;
  return text ? notice("success", text) : null;
}

export function notice(kind, ...content) {
  const role = kind === "error" ? "alert" : "status";
  return h("div", { class: `notice notice-${kind}`, role }, ...content);
}

/** What went wrong, in words a person can act on. */
export function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 403) return "Your role does not allow this.";
    if (error.status === 429) return "Too many requests; wait a moment and try again.";
    return error.message;
  }
  if (error && error.name === "AbortError") return "Cancelled.";
  if (error instanceof TypeError) return "The server could not be reached. Check your connection and try again.";
  return (error && error.message) || "Something went wrong.";
}

export function errorNotice(error) {
  return notice("error", describe(error));
}

export function loading(text = "Loading…") {
  return h("p", { class: "muted", role: "status" }, text);
}

export function heading(text, ...actions) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, text), ...actions);
}

export function button(label, onclick, props = {}) {
  return h("button", { type: "button", onclick, ...props }, label);
}

export function badge(text) {
  return h("span", { class: `badge badge-${text}` }, text.replaceAll("_", " "));
}

let fieldIds = 0;

/** A labelled control; `error` is filled in by showErrors() on a 422. */
export function field(label, control, hint) {
  const id = control.id || `f${++fieldIds}`;
  control.id = id;
  const errorId = `${id}-error`;
  control.setAttribute("aria-describedby", errorId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("small", { class: "muted" }, hint) : null,
    h("small", { class: "field-error", id: errorId, "data-error-for": control.name }),
  );
}

/** Put each 422 message beside its field; returns messages with no field on the form. */
export function showErrors(form, error) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const rest = [];
  const fields = (error && error.fields) || {};
  for (const [name, message] of Object.entries(fields)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) {
      slot.textContent = message;
      form.elements[name]?.setAttribute("aria-invalid", "true");
    } else {
      rest.push(`${name}: ${message}`);
    }
  }
  return rest;
}

/**
 * A table. columns: [{ title, cell(row) → node or text, sort: "name" }].
 * With `sort` and `onSort`, sortable headers are buttons and carry aria-sort.
 */
export function table({ columns, rows, empty = "Nothing here yet.", caption, sort, onSort }) {
  if (!rows.length) return h("p", { class: "muted empty" }, empty);
  const head = columns.map((column) => {
    if (!column.sort || !onSort) return h("th", { scope: "col" }, column.title);
    const direction = sort === column.sort ? "ascending" : sort === `-${column.sort}` ? "descending" : null;
    const next = sort === column.sort ? `-${column.sort}` : column.sort;
    const arrow = direction === "ascending" ? " ▲" : direction === "descending" ? " ▼" : "";
    return h(
      "th",
      { scope: "col", "aria-sort": direction || "none" },
      h("button", { type: "button", class: "sort", onclick: () => onSort(next) }, column.title, arrow),
    );
  });
  const body = rows.map((row) => h("tr", {}, columns.map((column) => h("td", { "data-label": column.title }, column.cell(row)))));
  return h(
    "div",
    { class: "table-wrap" },
    h("table", {}, caption ? h("caption", {}, caption) : null, h("thead", {}, h("tr", {}, head)), h("tbody", {}, body)),
  );
}

/** Previous/next over keyset pages: keeps the stack of cursors that led here. */
export class Pager {
  constructor(onChange) {
    this.stack = [];
    this.cursor = null;
    this.next = null;
    this.onChange = onChange;
  }

  reset() {
    this.stack = [];
    this.cursor = null;
  }

  controls() {
    const previous = button("← Previous", () => {
      this.cursor = this.stack.pop() ?? null;
      this.onChange();
    }, { disabled: !this.stack.length });
    const next = button("Next →", () => {
      this.stack.push(this.cursor);
      this.cursor = this.next;
      this.onChange();
    }, { disabled: !this.next });
    return h("nav", { class: "pager", "aria-label": "Pages" }, previous, h("span", { class: "muted" }, `Page ${this.stack.length + 1}`), next);
  }
}

/** A modal question; resolves true when confirmed. Esc or Cancel resolve false. */
export function confirm(question, confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-label": question },
      h("p", {}, question),
      h(
        "form",
        { method: "dialog", class: "actions" },
        h("button", { value: "cancel", type: "submit" }, "Cancel"),
        h("button", { value: "ok", type: "submit", class: "danger" }, confirmLabel),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Run an action from a button: disable it meanwhile, report failure in `slot`. */
export async function busy(control, slot, action) {
  control.disabled = true;
  if (slot) slot.replaceChildren();
  try {
    return await action();
  } catch (error) {
    if (slot) slot.replaceChildren(errorNotice(error));
    else throw error;
    return undefined;
  } finally {
    control.disabled = false;
  }
}

/** A download of an authenticated GET (a plain link could not send the token). */
export async function download(response, filename) {
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
