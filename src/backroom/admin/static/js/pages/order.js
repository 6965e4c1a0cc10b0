// One order: lines, totals, address, history, and the transitions staff may make now.
import { api } from "../api.js";
import { fill, h } from "../dom.js";
import { dateTime, money } from "../format.js";
import { badge, busy, confirm, errorNotice, field, heading, notice, table } from "../widgets.js";

// What staff can do from each status (API.md; paying is the customer's own step).
const ACTIONS = {
  pending_payment: ["cancel"],
  paid: ["ship", "cancel"],
  shipped: ["deliver", "refund"],
  delivered: ["refund"],
};
const LABELS = { ship: "Mark shipped", deliver: "Mark delivered", cancel: "Cancel order", refund: "Refund" };
const QUESTIONS = {
  cancel: "Cancel this order? Its stock is returned, and a paid order is refunded.",
  refund: "Refund this order?",
};

function totals(order) {
  const row = (label, cents, strong) => [h("dt", {}, label), h("dd", {}, strong ? h("strong", {}, money(cents, order.currency)) : money(cents, order.currency))];
  return h("dl", { class: "totals-list" },
    row("Subtotal", order.subtotal_cents),
    row(order.coupon_code ? `Discount (${order.coupon_code})` : "Discount", -order.discount_cents),
    row("Tax", order.tax_cents), row("Shipping", order.shipping_cents), row("Total", order.total_cents, true));
}

function address(a) {
  const lines = [a.name, a.line1, a.line2, [a.postal_code, a.city].filter(Boolean).join(" "), a.region, a.country];
  return h("address", {}, lines.filter(Boolean).map((line) => h("div", {}, line)));
}

function shipForm(onShip) {
  const carrier = h("input", { name: "carrier", maxlength: 100 });
  const tracking = h("input", { name: "tracking_number", maxlength: 100 });
  const submit = h("button", { type: "submit", class: "primary" }, "Mark shipped");
  const form = h("form", { class: "form inline-form" }, field("Carrier", carrier), field("Tracking number", tracking), h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    if (carrier.value.trim()) body.carrier = carrier.value.trim();
    if (tracking.value.trim()) body.tracking_number = tracking.value.trim();
    onShip(body, submit);
  });
  return form;
}

export async function view(main, { params, signal }) {
  const path = `/orders/${encodeURIComponent(params.id)}`;
  const status = h("div", { "aria-live": "polite" });

  async function act(action, body, control) {
    if (QUESTIONS[action] && !(await confirm(QUESTIONS[action], LABELS[action]))) return;
    await busy(control, status, async () => {
      await api.post(`${path}/${action}`, body);
      await render();
      fill(status, notice("success", `Done: ${LABELS[action].toLowerCase()}.`));
    });
  }

  async function render() {
    const [{ data: order }, history] = await Promise.all([
      api.get(path, { signal }),
      api.get(`${path}/history`, { signal }).catch((error) => ({ error })),
    ]);
    const actions = (ACTIONS[order.status] || []).filter((a) => a !== "ship").map((action) => {
      const control = h("button", { type: "button", class: action === "cancel" || action === "refund" ? "danger" : "primary" }, LABELS[action]);
      control.addEventListener("click", () => act(action, undefined, control));
      return control;
    });
    const ship = order.status === "paid" ? shipForm((body, control) => act("ship", body, control)) : null;
    fill(main,
      heading(`Order ${order.number}`, badge(order.status)),
      h("p", { class: "muted" }, `Placed ${dateTime(order.created_at)}`, order.paid_at ? ` · paid ${dateTime(order.paid_at)}` : "", ` · customer ${order.customer_id}`),
      status,
      h("div", { class: "actions transitions", role: "group", "aria-label": "Order actions" }, actions),
      ship,
      h("div", { class: "columns" },
        h("section", { class: "card", "aria-labelledby": "lines-title" }, h("h2", { id: "lines-title" }, "Lines"),
          table({
            columns: [
              { title: "Product", cell: (l) => h("a", { href: `#/products/${l.product_id}` }, l.name) },
              { title: "SKU", cell: (l) => l.sku },
              { title: "Price", cell: (l) => money(l.unit_price_cents, order.currency) },
              { title: "Qty", cell: (l) => String(l.quantity) },
              { title: "Total", cell: (l) => money(l.line_total_cents, order.currency) },
            ],
            rows: order.items,
          }),
          totals(order)),
        h("section", { class: "card", "aria-labelledby": "ship-title" }, h("h2", { id: "ship-title" }, "Ship to"), address(order.shipping_address),
          h("h2", {}, "History"),
          history.error ? errorNotice(history.error) : h("ol", { class: "history" }, history.data.items.map((e) =>
            h("li", {}, h("time", { datetime: e.created_at }, dateTime(e.created_at)), " ",
              e.from_status ? `${e.from_status.replaceAll("_", " ")} → ` : "", h("strong", {}, e.to_status.replaceAll("_", " ")))))),
      ));
  }
  await render();
}
