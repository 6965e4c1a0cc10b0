// Imports: upload a CSV or NDJSON file, watch the job until it ends, read its
// bad rows. Exports: download the catalog or the orders.
import { api, request, withQuery } from "../api.js";
import { fill, h } from "../dom.js";
import { dateTime, isoDay } from "../format.js";
import { busy, download, field, heading, notice, table } from "../widgets.js";

const POLL_MS = 1000;
const DONE = new Set(["succeeded", "failed"]);
// The imports started in this tab, newest first (the API has no list of imports).
const started = [];

function contentType(file) {
  return /\.(ndjson|jsonl)$/i.test(file.name) ? "application/x-ndjson" : "text/csv";
}

function progress(job, expectedRows) {
  const counts = h("dl", { class: "counts" },
    ["processed", "created", "updated", "failed"].map((key) => [h("dt", {}, key), h("dd", { "data-count": key }, String(job[`rows_${key}`]))]));
  const running = !DONE.has(job.status);
  const bar = running
    ? h("progress", { max: expectedRows || undefined, value: expectedRows ? Math.min(job.rows_processed, expectedRows) : undefined, "aria-label": "Import progress" })
    : null;
  const errors = job.errors.length
    ? table({
      caption: `Rows with errors (${job.rows_failed}${job.rows_failed > job.errors.length ? `, first ${job.errors.length} shown` : ""})`,
      columns: [
        { title: "Row", cell: (e) => String(e.row) },
        { title: "Field", cell: (e) => e.field || "" },
        { title: "Problem", cell: (e) => e.message },
      ],
      rows: job.errors,
    })
    : null;
  return [
    h("p", {}, h("span", { class: `badge badge-${job.status}`, "data-testid": "import-status" }, job.status),
      ` started ${dateTime(job.created_at)}`, job.finished_at ? `, finished ${dateTime(job.finished_at)}` : ""),
    job.failure_reason ? notice("error", `The import failed: ${job.failure_reason}`) : null,
    bar, counts, errors,
  ];
}

async function watch(job, panel, expectedRows, signal) {
  let current = job;
  for (;;) {
    fill(panel, progress(current, expectedRows));
    if (DONE.has(current.status) || signal.aborted) return current;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (signal.aborted) return current;
    current = (await api.get(`/imports/${current.id}`, { signal })).data;
  }
}

function uploadSection(signal, history) {
  const file = h("input", { name: "file", type: "file", accept: ".csv,.ndjson,.jsonl,text/csv,application/x-ndjson", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Upload and import");
  const panel = h("div", { "aria-live": "polite", id: "import-progress" });
  const form = h("form", { class: "form inline-form" }, field("CSV or NDJSON file", file,
    "Columns: sku, name, description, price_cents, stock, category_slug, is_active. Rows upsert by SKU."), h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    busy(submit, panel, async () => {
      // Count lines for a progress bar when the file is small enough to read here.
      const lines = chosen.size < 20_000_000 ? (await chosen.text()).split("\n").filter((l) => l.trim()).length : 0;
      const expected = lines ? lines - (contentType(chosen) === "text/csv" ? 1 : 0) : 0;
      const { data } = await api.post("/imports/products", chosen, { headers: { "Content-Type": contentType(chosen) } });
      started.unshift({ ...data, file: chosen.name });
      form.reset();
      const finished = await watch(data, panel, expected, signal);
      Object.assign(started.find((job) => job.id === finished.id), finished);
      history();
    });
  });
  return h("section", { class: "card", "aria-labelledby": "import-title" }, h("h2", { id: "import-title" }, "Import products"), form, panel);
}

function exportSection() {
  const status = h("div", { "aria-live": "polite" });
  const from = h("input", { name: "from", type: "date", value: isoDay(29) });
  const to = h("input", { name: "to", type: "date", value: isoDay(0) });
  const exporter = (label, path, filename) => {
    const control = h("button", { type: "button" }, label);
    control.addEventListener("click", () => busy(control, status, async () => {
      const target = typeof path === "function" ? path() : path;
      await download(await request("GET", target, { raw: true }), filename);
      fill(status, notice("success", `Downloaded ${filename}.`));
    }));
    return control;
  };
  return h("section", { class: "card", "aria-labelledby": "export-title" }, h("h2", { id: "export-title" }, "Export"),
    h("div", { class: "actions" },
      exporter("Products (CSV)", "/exports/products.csv", "products.csv"),
      exporter("Products (NDJSON)", "/exports/products.ndjson", "products.ndjson")),
    h("div", { class: "form inline-form" }, field("Orders from", from), field("to", to),
      h("div", { class: "actions" }, exporter("Orders (CSV)", () => withQuery("/exports/orders.csv", { from: from.value, to: to.value }), "orders.csv"))),
    status);
}

export async function view(main, { signal }) {
  const list = h("div");
  const history = () => fill(list, table({
    caption: "Imports from this session",
    columns: [
      { title: "File", cell: (j) => j.file },
      { title: "Status", cell: (j) => h("span", { class: `badge badge-${j.status}` }, j.status) },
      { title: "Created / updated / failed", cell: (j) => `${j.rows_created} / ${j.rows_updated} / ${j.rows_failed}` },
      { title: "Started", cell: (j) => dateTime(j.created_at) },
    ],
    rows: started,
    empty: "No imports started in this session.",
  }));
  history();
  fill(main, heading("Imports & exports"), h("div", { class: "columns" }, uploadSection(signal, history), exportSection()), list);
}
