// One product: create, edit (with If-Match, so a concurrent change is a clear
// 412 instead of a silent overwrite), delete, and its stock ledger.
import { api, ApiError } from "../api.js";
import { fill, h } from "../dom.js";
import { confirm, errorNotice, flash, heading, notice, showErrors } from "../widgets.js";
import { go } from "../router.js";
import { storeCurrency } from "../store.js";
import { productForm } from "./product-form.js";
import { stockSection } from "./stock.js";

const CONFLICT = "Someone else changed this product after you opened it, so your changes were not saved. "
  + "Load the latest version, then make your change again.";

async function categories(signal) {
  const { data } = await api.get("/categories?limit=100", { signal });
  return data.items;
}

function formFailure(form, status, error) {
  const rest = showErrors(form, error);
  fill(status, errorNotice(error), rest.length ? notice("error", rest.join("; ")) : null);
}

export async function create(main, { signal }) {
  const [cats, currency] = await Promise.all([categories(signal), storeCurrency(signal)]);
  const status = h("div", { "aria-live": "polite" });
  const form = productForm({
    categories: cats, currency, submitLabel: "Create product",
    onSubmit: async ({ body, errors }, theForm) => {
      if (Object.keys(errors).length) return formFailure(theForm, status, { fields: errors, message: "Check the highlighted fields." });
      try {
        const { data } = await api.post("/products", body);
        flash(`Created “${data.name}”.`);
        go(`/products/${data.id}`);
      } catch (error) {
        formFailure(theForm, status, error);
      }
      return undefined;
    },
  });
  fill(main, heading("New product"), status, form);
}

// Fields an edit can change: a different value here means someone else edited it.
const EDITABLE = ["sku", "slug", "name", "description", "price_cents", "category_id", "is_active", "attributes"];

function sameEditable(a, b) {
  return EDITABLE.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}

export async function edit(main, { params, signal }) {
  const path = `/products/${encodeURIComponent(params.id)}`;
  const cats = await categories(signal);
  let current = await api.get(path, { signal });
  const status = h("div", { "aria-live": "polite" });

  async function reload() {
    current = await api.get(path, { signal });
    render();
    fill(status, notice("info", "Showing the latest version."));
  }

  async function save({ body, errors }, form) {
    if (Object.keys(errors).length) return formFailure(form, status, { fields: errors, message: "Check the highlighted fields." });
    try {
      current = await api.patch(path, body, { headers: { "If-Match": current.etag } });
      render();
      fill(status, notice("success", "Saved."));
      main.querySelector("h1").focus();
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        fill(status, notice("error", CONFLICT, " ", h("button", { type: "button", onclick: reload }, "Load the latest version")));
      } else {
        formFailure(form, status, error);
      }
    }
    return undefined;
  }

  async function remove() {
    if (!(await confirm(`Delete “${current.data.name}”? Past orders keep their copy.`, "Delete"))) return;
    try {
      await api.delete(path, { headers: { "If-Match": current.etag } });
      flash(`Deleted “${current.data.name}”.`);
      go("/products");
    } catch (error) {
      fill(status, error.status === 412 ? notice("error", CONFLICT) : errorNotice(error));
    }
  }

  // A stock movement changes the product (and its ETag); take the new ETag only
  // if nothing else changed, so a real concurrent edit still ends in a 412.
  async function stockMoved() {
    const fresh = await api.get(path, { signal });
    if (sameEditable(fresh.data, current.data)) current = fresh;
    else current.data.stock = fresh.data.stock;
  }

  function render() {
    const product = current.data;
    const form = productForm({ product, categories: cats, currency: product.currency, onSubmit: save, submitLabel: "Save changes" });
    const del = h("button", { type: "button", class: "danger", onclick: remove }, "Delete");
    fill(main,
      heading(product.name, del),
      h("p", { class: "muted" }, `SKU ${product.sku} · ${product.is_active ? "active" : "inactive"}`),
      status,
      h("div", { class: "columns" },
        h("section", { class: "card", "aria-label": "Details" }, form),
        stockSection({ product, signal, onMoved: stockMoved })));
  }
  render();
}
