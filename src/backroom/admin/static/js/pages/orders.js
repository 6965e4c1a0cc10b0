// Orders: filter by status, dates and customer; page through the results.
import { api, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { dateTime, money } from "../format.js";
import { replaceQuery } from "../router.js";
import { badge, errorNotice, field, heading, loading, Pager, table } from "../widgets.js";

export const STATUSES = ["pending_payment", "paid", "shipped", "delivered", "cancelled", "refunded"];

/** A calendar day as the start (or end) of that UTC day, for created_from/created_to. */
function dayBound(day, end) {
  return day ? `${day}T${end ? "23:59:59.999" : "00:00:00"}Z` : "";
}

export async function view(main, { query, signal }) {
  const controls = {
    status: h("select", { name: "status" }, h("option", { value: "" }, "Any status"),
      STATUSES.map((s) => h("option", { value: s, selected: s === query.status }, s.replaceAll("_", " ")))),
    from: h("input", { name: "from", type: "date", value: query.from || "" }),
    to: h("input", { name: "to", type: "date", value: query.to || "" }),
    customer: h("input", { name: "customer_id", value: query.customer_id || "", placeholder: "customer id" }),
  };
  const results = h("div", { "aria-live": "polite" }, loading());
  const pager = new Pager(() => load());

  async function load() {
    const filters = {
      status: controls.status.value,
      from: controls.from.value,
      to: controls.to.value,
      customer_id: controls.customer.value.trim(),
    };
    replaceQuery(filters);
    fill(results, loading());
    try {
      const path = withQuery("/orders", {
        status: filters.status,
        created_from: dayBound(filters.from, false),
        created_to: dayBound(filters.to, true),
        customer_id: filters.customer_id,
        limit: 20,
        cursor: pager.cursor,
      });
      const { data } = await api.get(path, { signal });
      pager.next = data.next_cursor;
      fill(results, table({
        caption: "Orders, newest first",
        columns: [
          { title: "Order", cell: (o) => h("a", { href: `#/orders/${o.id}` }, o.number) },
          { title: "Status", cell: (o) => badge(o.status) },
          { title: "Items", cell: (o) => String(o.items.reduce((n, line) => n + line.quantity, 0)) },
          { title: "Total", cell: (o) => money(o.total_cents, o.currency) },
          { title: "Customer", cell: (o) => h("code", { title: o.customer_id }, o.customer_id.slice(-8)) },
          { title: "Placed", cell: (o) => dateTime(o.created_at) },
        ],
        rows: data.items,
        empty: "No orders match these filters.",
      }), pager.controls());
    } catch (error) {
      if (!signal.aborted) fill(results, errorNotice(error));
    }
  }

  const form = h("form", {
    class: "filters",
    onsubmit: (event) => { event.preventDefault(); pager.reset(); load(); },
  },
  field("Status", controls.status), field("Placed from", controls.from), field("Placed to", controls.to),
  field("Customer", controls.customer), h("button", { type: "submit" }, "Filter"));
  fill(main, heading("Orders"), form, results);
  await load();
}
