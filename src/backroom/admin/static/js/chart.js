// A bar chart drawn as SVG (no library): one bar per period, scaled to the
// largest value, with a few axis labels. Colours and fonts come from app.css.
import { s } from "./dom.js";

const HEIGHT = 220;
const PAD = { top: 12, right: 8, bottom: 28, left: 64 };

/** bars: [{ label, value, title }]; format(value) → axis text. */
export function barChart(bars, { label, format }) {
  // A narrower drawing on a phone, so its labels are not scaled down to nothing.
  const WIDTH = window.matchMedia("(max-width: 700px)").matches ? 420 : 900;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const step = plotW / Math.max(1, bars.length);
  const gridlines = [0, 0.5, 1].map((fraction) => {
    const y = PAD.top + plotH * (1 - fraction);
    return [
      s("line", { class: "grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y }),
      s("text", { class: "axis", x: PAD.left - 6, y: y + 4, "text-anchor": "end" }, format(max * fraction)),
    ];
  });
  const labelEvery = Math.ceil(bars.length / (WIDTH / 110));
  const columns = bars.map((bar, i) => {
    const height = (bar.value / max) * plotH;
    const x = PAD.left + i * step;
    return s(
      "g",
      {},
      s("rect", { class: "bar", x: x + step * 0.15, y: PAD.top + plotH - height, width: step * 0.7, height: Math.max(height, 0) }, s("title", {}, bar.title)),
      i % labelEvery === 0
        ? s("text", { class: "axis", x: x + step / 2, y: HEIGHT - 8, "text-anchor": "middle" }, bar.label)
        : null,
    );
  });
  return s(
    "svg",
    { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label },
    s("title", {}, label),
    gridlines,
    columns,
  );
}
