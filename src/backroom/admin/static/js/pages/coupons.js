// Coupons: list, create, switch on and off, delete.
import { api, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { dateTime, money, parseMoney } from "../format.js";
import { storeCurrency } from "../store.js";
import { badge, busy, confirm, errorNotice, field, heading, loading, notice, Pager, showErrors, table } from "../widgets.js";

function discount(c, currency) {
  return c.percent_off !== null ? `${c.percent_off} % off` : `${money(c.amount_off_cents, currency)} off`;
}

function window_(c) {
  if (!c.starts_at && !c.ends_at) return "always";
  return `${c.starts_at ? dateTime(c.starts_at) : "…"} – ${c.ends_at ? dateTime(c.ends_at) : "…"}`;
}

function createForm(currency, onCreated) {
  const c = {
    code: h("input", { name: "code", required: true, autocomplete: "off" }),
    kind: h("select", { name: "kind" }, h("option", { value: "percent" }, "Percent off"), h("option", { value: "amount" }, `Amount off (${currency})`)),
    value: h("input", { name: "value", required: true, inputmode: "decimal" }),
    min: h("input", { name: "min_subtotal_cents", inputmode: "decimal", placeholder: "0" }),
    max: h("input", { name: "max_redemptions", type: "number", min: 1, placeholder: "no limit" }),
    starts: h("input", { name: "starts_at", type: "datetime-local" }),
    ends: h("input", { name: "ends_at", type: "datetime-local" }),
  };
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create coupon");
  const form = h("form", { class: "form inline-form", novalidate: true },
    field("Code", c.code), field("Kind", c.kind), field("Value", c.value, "A percentage (1–100) or an amount."),
    field(`Minimum subtotal (${currency})`, c.min), field("Maximum redemptions", c.max),
    field("Starts (your time)", c.starts), field("Ends (your time)", c.ends),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { code: c.code.value.trim() };
    if (c.kind.value === "percent") body.percent_off = Number(c.value.value);
    else body.amount_off_cents = parseMoney(c.value.value, currency);
    if (c.min.value.trim()) body.min_subtotal_cents = parseMoney(c.min.value, currency);
    if (c.max.value) body.max_redemptions = Number(c.max.value);
    if (c.starts.value) body.starts_at = new Date(c.starts.value).toISOString();
    if (c.ends.value) body.ends_at = new Date(c.ends.value).toISOString();
    busy(submit, null, async () => {
      try {
        const { data } = await api.post("/coupons", body);
        form.reset();
        showErrors(form, null);
        fill(status, notice("success", `Created coupon ${data.code}.`));
        onCreated();
      } catch (error) {
        const rest = showErrors(form, error);
        fill(status, errorNotice(error), rest.length ? notice("error", rest.join("; ")) : null);
      }
    });
  });
  return h("div", {}, form, status);
}

export async function view(main, { signal }) {
  const currency = await storeCurrency(signal);
  const status = h("div", { "aria-live": "polite" });
  const results = h("div", {}, loading());
  const pager = new Pager(() => load());

  async function change(coupon, patch, control) {
    await busy(control, status, async () => {
      await api.patch(`/coupons/${coupon.id}`, patch);
      await load();
    });
  }

  async function remove(coupon, control) {
    if (!(await confirm(`Delete coupon ${coupon.code}?`, "Delete"))) return;
    await busy(control, status, async () => {
      await api.delete(`/coupons/${coupon.id}`);
      fill(status, notice("success", `Deleted coupon ${coupon.code}.`));
      await load();
    });
  }

  function actions(coupon) {
    const toggle = h("button", { type: "button" }, coupon.is_active ? "Deactivate" : "Activate");
    toggle.addEventListener("click", () => change(coupon, { is_active: !coupon.is_active }, toggle));
    const del = h("button", { type: "button", class: "danger" }, "Delete");
    del.addEventListener("click", () => remove(coupon, del));
    return h("div", { class: "row-actions" }, toggle, del);
  }

  async function load() {
    try {
      const { data } = await api.get(withQuery("/coupons", { limit: 20, cursor: pager.cursor }), { signal });
      pager.next = data.next_cursor;
      fill(results, table({
        columns: [
          { title: "Code", cell: (c) => h("code", {}, c.code) },
          { title: "Discount", cell: (c) => discount(c, currency) },
          { title: "Minimum", cell: (c) => money(c.min_subtotal_cents, currency) },
          { title: "Valid", cell: window_ },
          { title: "Used", cell: (c) => `${c.redemptions}${c.max_redemptions !== null ? ` of ${c.max_redemptions}` : ""}` },
          { title: "Status", cell: (c) => badge(c.is_active ? "active" : "inactive") },
          { title: "Actions", cell: actions },
        ],
        rows: data.items,
        empty: "No coupons yet.",
      }), pager.controls());
    } catch (error) {
      if (!signal.aborted) fill(results, errorNotice(error));
    }
  }

  fill(main, heading("Coupons"), status, results,
    h("section", { class: "card", "aria-labelledby": "new-coupon" }, h("h2", { id: "new-coupon" }, "New coupon"), createForm(currency, () => { pager.reset(); load(); })));
  await load();
}
