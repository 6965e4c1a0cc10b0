// Webhooks (admins only): endpoints, their signing secret (shown once), and the
// delivery log. A server without webhooks answers 404: the page says so.
import { api, ApiError, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { dateTime } from "../format.js";
import { badge, busy, confirm, errorNotice, field, heading, loading, notice, Pager, showErrors, table } from "../widgets.js";

const EVENTS = [
  "product.created", "product.updated", "product.deleted", "stock.low",
  "order.created", "order.paid", "order.shipped", "order.delivered", "order.cancelled", "order.refunded",
  "import.finished",
];

function unavailable(error) {
  return error instanceof ApiError && error.status === 404
    ? notice("info", "Webhooks are not available on this server.")
    : errorNotice(error);
}

function createForm(onCreated) {
  const url = h("input", { name: "url", type: "url", required: true, placeholder: "https://example.com/hooks/backroom" });
  const all = h("input", { type: "checkbox", id: "wh-all", checked: true });
  const boxes = EVENTS.map((name) => h("input", { type: "checkbox", value: name, id: `wh-${name}`, disabled: true }));
  all.addEventListener("change", () => boxes.forEach((box) => { box.disabled = all.checked; }));
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create webhook");
  const form = h("form", { class: "form", novalidate: true }, field("URL", url),
    h("fieldset", {}, h("legend", {}, "Events"),
      h("div", { class: "check" }, all, h("label", { for: "wh-all" }, "All events")),
      h("div", { class: "checks" }, boxes.map((box) => h("div", { class: "check" }, box, h("label", { for: box.id }, box.value)))),
      h("small", { class: "field-error", "data-error-for": "events" })),
    h("div", { class: "actions" }, submit), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const events = all.checked ? ["*"] : boxes.filter((box) => box.checked).map((box) => box.value);
    busy(submit, null, async () => {
      try {
        const { data } = await api.post("/webhooks", { url: url.value.trim(), events });
        form.reset();
        all.dispatchEvent(new Event("change"));
        showErrors(form, null);
        const secret = h("input", { readonly: true, value: data.secret, class: "mono", "aria-label": "Signing secret" });
        fill(status, notice("success", "Created. Copy the signing secret now: it is not shown again. ", secret));
        secret.select();
        onCreated();
      } catch (error) {
        const rest = showErrors(form, error);
        fill(status, errorNotice(error), rest.length ? notice("error", rest.join("; ")) : null);
      }
    });
  });
  return form;
}

export async function view(main, { signal }) {
  const status = h("div", { "aria-live": "polite" });
  const results = h("div", {}, loading());
  const pager = new Pager(() => load());
  const form = h("section", { class: "card", "aria-labelledby": "new-webhook" }, h("h2", { id: "new-webhook" }, "New webhook"), createForm(() => { pager.reset(); load(); }));

  function actions(hook) {
    const toggle = h("button", { type: "button" }, hook.is_active ? "Deactivate" : "Activate");
    toggle.addEventListener("click", () => busy(toggle, status, async () => {
      await api.patch(`/webhooks/${hook.id}`, { is_active: !hook.is_active });
      await load();
    }));
    const del = h("button", { type: "button", class: "danger" }, "Delete");
    del.addEventListener("click", async () => {
      if (!(await confirm(`Delete the webhook to ${hook.url}?`, "Delete"))) return;
      await busy(del, status, async () => {
        await api.delete(`/webhooks/${hook.id}`);
        await load();
      });
    });
    return h("div", { class: "row-actions" }, h("a", { href: `#/webhooks/${hook.id}` }, "Deliveries"), toggle, del);
  }

  async function load() {
    try {
      const { data } = await api.get(withQuery("/webhooks", { limit: 20, cursor: pager.cursor }), { signal });
      pager.next = data.next_cursor;
      fill(results, table({
        columns: [
          { title: "URL", cell: (w) => h("span", { class: "mono" }, w.url) },
          { title: "Events", cell: (w) => w.events.join(", ") },
          { title: "Status", cell: (w) => [badge(w.is_active ? "active" : "inactive"), w.disabled_reason ? h("small", { class: "muted" }, ` ${w.disabled_reason}`) : null] },
          { title: "Created", cell: (w) => dateTime(w.created_at) },
          { title: "Actions", cell: actions },
        ],
        rows: data.items,
        empty: "No webhooks yet.",
      }), pager.controls());
      return true;
    } catch (error) {
      if (!signal.aborted) fill(results, unavailable(error));
      return false;
    }
  }

  fill(main, heading("Webhooks"), status, results);
  if (await load()) main.append(form);
}

export async function deliveries(main, { params, signal }) {
  const base = `/webhooks/${encodeURIComponent(params.id)}`;
  const results = h("div", {}, loading());
  const pager = new Pager(() => load());
  let hook;
  try {
    hook = (await api.get(base, { signal })).data;
  } catch (error) {
    fill(main, heading("Webhook deliveries"), unavailable(error));
    return;
  }

  async function load() {
    try {
      const { data } = await api.get(withQuery(`${base}/deliveries`, { limit: 20, cursor: pager.cursor }), { signal });
      pager.next = data.next_cursor;
      fill(results, table({
        caption: "Delivery attempts, newest first",
        columns: [
          { title: "When", cell: (d) => dateTime(d.created_at) },
          { title: "Event", cell: (d) => `${d.event_type} #${d.event_id}` },
          { title: "Attempt", cell: (d) => String(d.attempt) },
          { title: "Status", cell: (d) => badge(d.status) },
          { title: "Response", cell: (d) => (d.response_status === null ? "" : String(d.response_status)) },
          { title: "Error", cell: (d) => d.error || "" },
        ],
        rows: data.items,
        empty: "No deliveries yet.",
      }), pager.controls());
    } catch (error) {
      if (!signal.aborted) fill(results, errorNotice(error));
    }
  }

  const refresh = h("button", { type: "button", onclick: () => load() }, "Refresh");
  fill(main, heading("Webhook deliveries", refresh), h("p", {}, h("span", { class: "mono" }, hook.url), " · ", hook.events.join(", ")),
    h("p", {}, h("a", { href: "#/webhooks" }, "← All webhooks")), results);
  await load();
}
