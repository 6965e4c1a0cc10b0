// The product form, shared by "new product" and "edit product".
import { h } from "../dom.js";
import { moneyInput, parseMoney } from "../format.js";
import { field } from "../widgets.js";

export function productForm({ product, categories, currency, onSubmit, submitLabel }) {
  const p = product || { name: "", sku: "", slug: "", description: "", price_cents: 0, category_id: null, is_active: true, attributes: {} };
  const controls = {
    name: h("input", { name: "name", value: p.name, required: true, maxlength: 200 }),
    sku: h("input", { name: "sku", value: p.sku, required: true }),
    slug: h("input", { name: "slug", value: p.slug || "", placeholder: "derived from the name" }),
    price_cents: h("input", { name: "price_cents", value: moneyInput(p.price_cents, currency), inputmode: "decimal", required: true }),
    category_id: h("select", { name: "category_id" },
      h("option", { value: "" }, "No category"),
      categories.map((c) => h("option", { value: c.id, selected: c.id === p.category_id }, c.name))),
    description: h("textarea", { name: "description", rows: 4, maxlength: 20000 }, p.description),
    attributes: h("textarea", { name: "attributes", rows: 3, class: "mono" }, JSON.stringify(p.attributes || {}, null, 1)),
    is_active: h("input", { name: "is_active", type: "checkbox", checked: p.is_active }),
  };
  const stock = product ? null : h("input", { name: "stock", type: "number", min: 0, value: "0" });
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const form = h("form", { class: "form product-form", novalidate: true },
    field("Name", controls.name),
    field("SKU", controls.sku),
    field("Slug", controls.slug, "Lower-case words joined by hyphens; used in product URLs."),
    field(`Price (${currency})`, controls.price_cents),
    stock ? field("Initial stock", stock) : null,
    field("Category", controls.category_id),
    field("Description", controls.description),
    field("Attributes (JSON object)", controls.attributes),
    h("div", { class: "field check" }, controls.is_active, h("label", { for: "product-active-box" }, "Active (visible in the shop)")),
    h("div", { class: "actions" }, submit));
  controls.is_active.id = "product-active-box";

  function values() {
    const errors = {};
    const price = parseMoney(controls.price_cents.value, currency);
    if (price === null) errors.price_cents = "a price like 12.50";
    let attributes = {};
    try {
      attributes = JSON.parse(controls.attributes.value.trim() || "{}");
    } catch {
      errors.attributes = "not valid JSON";
    }
    const body = {
      name: controls.name.value,
      sku: controls.sku.value,
      price_cents: price,
      description: controls.description.value,
      category_id: controls.category_id.value || null,
      is_active: controls.is_active.checked,
      attributes,
    };
    if (controls.slug.value.trim()) body.slug = controls.slug.value.trim();
    if (stock) body.stock = Number(stock.value || "0");
    return { body, errors };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await onSubmit(values(), form);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
