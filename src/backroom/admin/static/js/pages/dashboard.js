// The dashboard: sales chart, top products, low stock and recent orders, kept
// up to date by the event stream (or by polling where the server has none).
import { api, withQuery } from "../api.js";
import { barChart } from "../chart.js";
import { fill, h } from "../dom.js";
import { dateTime, isoDay, money, shortDay } from "../format.js";
import { follow, POLL_MS } from "../live.js";
import { badge, errorNotice, heading, loading, table } from "../widgets.js";

const DAYS = 30;
const LOW_STOCK = 5;
const MODES = {
  live: "● Live",
  reconnecting: "Reconnecting…",
  polling: `Updating every ${POLL_MS / 1000} s`,
  off: "Not updating",
};
// Polling: recent orders every tick, the reports every this many ticks.
const REPORT_EVERY = 6;

function card(title, id) {
  const body = h("div", {}, loading());
  const section = h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), body);
  return { section, body };
}

async function loadRecent(body, signal) {
  try {
    const { data } = await api.get("/orders?limit=8", { signal });
    fill(body, table({
      columns: [
        { title: "Order", cell: (o) => h("a", { href: `#/orders/${o.id}` }, o.number) },
        { title: "Status", cell: (o) => badge(o.status) },
        { title: "Total", cell: (o) => money(o.total_cents, o.currency) },
        { title: "Placed", cell: (o) => dateTime(o.created_at) },
      ],
      rows: data.items,
      empty: "No orders yet.",
    }));
  } catch (error) {
    if (!signal.aborted) fill(body, errorNotice(error));
  }
}

function salesChart(report) {
  const bars = report.rows.map((row) => ({
    label: shortDay(row.period_start),
    value: row.net_cents,
    title: `${row.period_start}: ${money(row.net_cents, report.currency)} net, ${row.orders} orders`,
  }));
  const totals = report.totals;
  return [
    barChart(bars, { label: `Net sales per day, last ${DAYS} days`, format: (v) => money(Math.round(v), report.currency) }),
    h("p", { class: "totals" },
      h("strong", {}, money(totals.net_cents, report.currency)), " net from ",
      h("strong", {}, String(totals.orders)), " orders, ",
      h("strong", {}, String(totals.units)), " units"),
  ];
}

function productLink(row) {
  return h("a", { href: `#/products/${row.product_id}` }, row.name);
}

async function loadReports(parts, signal) {
  const range = { from: isoDay(DAYS - 1), to: isoDay(0) };
  try {
    const [sales, top, inventory] = await Promise.all([
      api.get(withQuery("/reports/sales", { ...range, granularity: "day" }), { signal }),
      api.get(withQuery("/reports/top-products", { ...range, limit: 5 }), { signal }),
      api.get(withQuery("/reports/inventory", { low_stock_threshold: LOW_STOCK }), { signal }),
    ]);
    const currency = sales.data.currency;
    fill(parts.sales, salesChart(sales.data));
    fill(parts.top, table({
      columns: [
        { title: "Product", cell: productLink },
        { title: "Units", cell: (r) => String(r.units) },
        { title: "Revenue", cell: (r) => money(r.revenue_cents, currency) },
      ],
      rows: top.data.rows,
      empty: "No sales in this period.",
    }));
    const stock = inventory.data;
    fill(parts.low,
      h("p", { class: "totals" }, `${stock.total_skus} products, ${stock.total_units} units in stock, `,
        `${stock.out_of_stock_count} out of stock`),
      table({
        columns: [
          { title: "Product", cell: productLink },
          { title: "SKU", cell: (r) => r.sku },
          { title: "Stock", cell: (r) => String(r.stock) },
        ],
        rows: stock.low_stock,
        empty: `No product has fewer than ${LOW_STOCK} units.`,
      }));
  } catch (error) {
    if (!signal.aborted) fill(parts.sales, errorNotice(error));
  }
}

/** Run `task` at most once per `ms`, the last call winning. */
function throttle(task, ms) {
  let timer = null;
  return () => {
    if (!timer) timer = setTimeout(() => { timer = null; task(); }, ms);
  };
}

export async function view(main, { signal }) {
  const mode = h("span", { class: "live-mode", role: "status", "data-testid": "live-mode" }, "Connecting…");
  const sales = card(`Sales, last ${DAYS} days`, "sales-title");
  const recent = card("Recent orders", "recent-title");
  const top = card("Top products", "top-title");
  const low = card("Low stock", "low-title");
  sales.section.classList.add("wide");
  recent.section.classList.add("wide");
  recent.section.id = "recent-orders";
  fill(main, heading("Dashboard", mode), h("div", { class: "grid" }, sales.section, recent.section, top.section, low.section));

  const parts = { sales: sales.body, top: top.body, low: low.body };
  const reports = throttle(() => loadReports(parts, signal), 1000);
  const orders = throttle(() => loadRecent(recent.body, signal), 500);
  await Promise.all([loadReports(parts, signal), loadRecent(recent.body, signal)]);

  let ticks = 0;
  follow({
    signal,
    onMode: (name) => { mode.textContent = MODES[name]; },
    onEvent: (event) => {
      const type = String(event.type || "");
      if (type.startsWith("order.")) orders();
      if (type !== "order.created") reports(); // payments, stock and products move the reports
    },
    onTick: async () => {
      ticks += 1;
      await loadRecent(recent.body, signal);
      if (ticks % REPORT_EVERY === 0) await loadReports(parts, signal);
    },
  });
}
