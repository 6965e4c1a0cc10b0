// Products: search, sort, filter and page through the catalog (staff see inactive ones too).
import { api, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { dateTime, money } from "../format.js";
import { go, replaceQuery } from "../router.js";
import { badge, errorNotice, heading, loading, Pager, table } from "../widgets.js";

const SORTS = { "-created_at": "Newest", created_at: "Oldest", name: "Name A–Z", "-name": "Name Z–A", price: "Cheapest", "-price": "Dearest" };
const ACTIVE = { "": "Active and inactive", true: "Active only", false: "Inactive only" };

function options(choices, selected) {
  return Object.entries(choices).map(([value, label]) => h("option", { value, selected: value === selected }, label));
}

export async function view(main, { query, signal }) {
  const state = { q: query.q || "", sort: SORTS[query.sort] ? query.sort : "-created_at", is_active: query.is_active || "" };
  const results = h("div", { "aria-live": "polite" }, loading());
  const pager = new Pager(() => load());
  const search = h("input", { type: "search", name: "q", value: state.q, placeholder: "Name, SKU or description", autocomplete: "off" });
  const sort = h("select", { name: "sort", id: "product-sort" }, options(SORTS, state.sort));
  const active = h("select", { name: "is_active", id: "product-active" }, options(ACTIVE, state.is_active));

  async function load() {
    replaceQuery({ q: state.q, sort: state.sort === "-created_at" ? "" : state.sort, is_active: state.is_active });
    fill(results, loading());
    try {
      const path = withQuery("/products", { ...state, limit: 20, cursor: pager.cursor });
      const { data } = await api.get(path, { signal });
      pager.next = data.next_cursor;
      fill(results, table({
        caption: state.q ? `Products matching “${state.q}”` : "Products",
        columns: [
          { title: "Name", sort: "name", cell: (p) => h("a", { href: `#/products/${p.id}` }, p.name) },
          { title: "SKU", cell: (p) => p.sku },
          { title: "Price", sort: "price", cell: (p) => money(p.price_cents, p.currency) },
          { title: "Stock", cell: (p) => String(p.stock) },
          { title: "Status", cell: (p) => badge(p.is_active ? "active" : "inactive") },
          { title: "Created", sort: "created_at", cell: (p) => dateTime(p.created_at) },
        ],
        rows: data.items,
        empty: state.q ? "No product matches." : "No products yet.",
        sort: state.sort,
        onSort: (next) => { state.sort = next; sort.value = next; restart(); },
      }), pager.controls());
    } catch (error) {
      if (!signal.aborted) fill(results, errorNotice(error));
    }
  }

  function restart() {
    pager.reset();
    load();
  }

  let typing = null;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.q = search.value.trim(); restart(); }, 300);
  });
  sort.addEventListener("change", () => { state.sort = sort.value; restart(); });
  active.addEventListener("change", () => { state.is_active = active.value; restart(); });
  const form = h("form", {
    class: "filters", role: "search",
    onsubmit: (event) => { event.preventDefault(); clearTimeout(typing); state.q = search.value.trim(); restart(); },
  },
  h("label", { for: "product-search" }, "Search"), Object.assign(search, { id: "product-search" }),
  h("label", { for: "product-sort" }, "Sort"), sort,
  h("label", { for: "product-active" }, "Show"), active,
  h("button", { type: "submit" }, "Search"));

  fill(main, heading("Products", h("button", { type: "button", class: "primary", onclick: () => go("/products/new") }, "New product")), form, results);
  await load();
}
