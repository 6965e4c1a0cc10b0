// A product's stock: record a movement, and read the ledger it is the sum of.
import { api, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { dateTime } from "../format.js";
import { busy, errorNotice, field, notice, showErrors, table } from "../widgets.js";

const REASONS = ["restock", "correction", "damage", "return"];

export function stockSection({ product, signal, onMoved }) {
  const base = `/products/${encodeURIComponent(product.id)}/stock-movements`;
  const level = h("strong", { class: "stock-level" }, String(product.stock));
  const status = h("div", { "aria-live": "polite" });
  const ledger = h("div");
  const rows = [];
  let next = null;

  const delta = h("input", { name: "delta", type: "number", step: 1, required: true, placeholder: "+10 or -2" });
  const reason = h("select", { name: "reason" }, REASONS.map((r) => h("option", { value: r }, r)));
  const note = h("input", { name: "note", maxlength: 500 });
  const submit = h("button", { type: "submit" }, "Record movement");
  const form = h("form", { class: "form inline-form", novalidate: true },
    field("Change", delta), field("Reason", reason), field("Note", note), h("div", { class: "actions" }, submit));

  function renderLedger() {
    const older = next ? h("button", { type: "button", onclick: () => load(false) }, "Show older") : null;
    fill(ledger, table({
      caption: "Ledger (newest first)",
      columns: [
        { title: "When", cell: (m) => dateTime(m.created_at) },
        { title: "Change", cell: (m) => (m.delta > 0 ? `+${m.delta}` : String(m.delta)) },
        { title: "Reason", cell: (m) => m.reason },
        { title: "Stock after", cell: (m) => String(m.stock_after) },
        { title: "Note", cell: (m) => m.note || "" },
      ],
      rows,
      empty: "No movements recorded.",
    }), older);
  }

  async function load(first) {
    try {
      const { data } = await api.get(withQuery(base, { limit: 20, cursor: first ? null : next }), { signal });
      if (first) rows.length = 0;
      rows.push(...data.items);
      next = data.next_cursor;
      renderLedger();
    } catch (error) {
      if (!signal.aborted) fill(ledger, errorNotice(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { delta: Number(delta.value), reason: reason.value };
    if (note.value.trim()) body.note = note.value.trim();
    busy(submit, null, async () => {
      fill(status);
      try {
        const { data } = await api.post(base, body);
        level.textContent = String(data.stock_after);
        fill(status, notice("success", `Stock is now ${data.stock_after}.`));
        form.reset();
        await Promise.all([load(true), onMoved()]);
      } catch (error) {
        showErrors(form, error);
        fill(status, errorNotice(error));
      }
    });
  });

  load(true);
  return h("section", { class: "card", "aria-labelledby": "stock-title" },
    h("h2", { id: "stock-title" }, "Stock"),
    h("p", {}, "In stock: ", level),
    status, form, ledger);
}
