// Training curves along epochs as SVG, from cnnviz.train_view.CurveChart: a log axis for losses, hover
// anywhere for every curve's value at that epoch. Follows widgets/svg.js (NS, el, DASH, sizes).

const W = 560;

const MARKER = 5;  // half the width of a validation point's diamond
const number = (v) => (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3) ? v.toExponential(1) : String(+v.toPrecision(3)));

function linearTicks(lo, hi) {
  const raw = (hi - lo) / 6, magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step / 1e6; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function logTicks(lo, hi) { // lo, hi: log10 of the range; returns log10 of 1, 2, 5 x powers of ten (1 only over 3 decades)
  const ticks = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of hi - lo < 3 ? [1, 2, 5] : [1]) {
      const t = e + Math.log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) ticks.push(t);
    }
  }
  return ticks;
}

function nearest(xs, x) { // index of the value of sorted xs closest to x
  let lo = 0, hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid; else hi = mid;
  }
  return Math.abs(xs[hi] - x) < Math.abs(xs[lo] - x) ? hi : lo;
}

function curves(svg, d) {
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  el("text", { x: 4, y: 18, class: "title" }, svg, d.title);
  el("text", { x: 14, y: TOP + plotH / 2, transform: `rotate(-90 14 ${TOP + plotH / 2})`, "text-anchor": "middle", class: "axis" }, svg, d.y_title);
  el("text", { x: LEFT + plotW / 2, y: H - 24, "text-anchor": "middle", class: "axis" }, svg, d.x_title);
  const shown = d.curves.map((c) => {
    const keep = c.y.map((v, i) => i).filter((i) => !d.y_log || c.y[i] > 0); // a log axis has no place for <= 0
    return { ...c, x: keep.map((i) => c.x[i]), y: keep.map((i) => c.y[i]) };
  }).filter((c) => c.x.length);
  if (!shown.length) {
    el("text", { x: LEFT + plotW / 2, y: TOP + plotH / 2, "text-anchor": "middle", class: "axis" }, svg, "nothing logged yet");
    return;
  }
  const toY = d.y_log ? Math.log10 : (v) => v;
  let [x0, x1] = [Math.min(...shown.flatMap((c) => c.x)), Math.max(...shown.flatMap((c) => c.x))];
  let [y0, y1] = [Math.min(...shown.flatMap((c) => c.y.map(toY))), Math.max(...shown.flatMap((c) => c.y.map(toY)))];
  if (x1 - x0 < 1e-9) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  const pad = Math.max((y1 - y0) * 0.06, d.y_log ? 0.05 : Math.abs(y1) * 0.02 || 0.01);
  [y0, y1] = [y0 - pad, y1 + pad];
  const X = (v) => LEFT + 8 + ((v - x0) / (x1 - x0)) * (plotW - 16);
  const Y = (v) => TOP + plotH * (1 - (toY(v) - y0) / (y1 - y0));
  for (const t of d.y_log ? logTicks(y0, y1) : linearTicks(y0, y1)) {
    const y = TOP + plotH * (1 - (t - y0) / (y1 - y0));
    el("line", { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, stroke: "#e3e3e3" }, svg);
    const v = d.y_log ? 10 ** t : t;
    el("text", { x: LEFT - 6, y: y + 4, "text-anchor": "end", class: "tick" }, svg, d.y_percent ? pct(v) : number(v));
  }
  for (const t of linearTicks(x0, x1)) {
    el("text", { x: X(t), y: TOP + plotH + 16, "text-anchor": "middle", class: "tick" }, svg, number(t));
  }
  el("line", { x1: LEFT, x2: W - RIGHT, y1: TOP + plotH, y2: TOP + plotH, stroke: "#999" }, svg);
  for (const c of shown) {
    const points = c.x.map((x, i) => `${X(x).toFixed(1)},${Y(c.y[i]).toFixed(1)}`).join(" ");
    el("polyline", { points, fill: "none", stroke: c.colour, "stroke-width": c.width, "stroke-dasharray": DASH[c.dash] || "" }, svg);
    if (c.markers) {
      c.x.forEach((x, i) => {
        const [cx, cy] = [X(x), Y(c.y[i])];
        el("path", { d: `M${cx},${cy - MARKER}L${cx + MARKER},${cy}L${cx},${cy + MARKER}L${cx - MARKER},${cy}Z`, fill: c.colour }, svg);
      });
    }
  }
  // Hover: a guide at the nearest logged epoch and every curve's value there.
  const guide = el("g", { visibility: "hidden", "pointer-events": "none" }, svg);
  const area = el("rect", { x: LEFT, y: TOP, width: plotW, height: plotH, fill: "transparent" }, svg);
  area.addEventListener("mouseleave", () => guide.setAttribute("visibility", "hidden"));
  area.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const at = x0 + ((((event.clientX - box.left) / box.width) * W - LEFT - 8) / (plotW - 16)) * (x1 - x0);
    const rows = shown.map((c) => { const i = nearest(c.x, at); return { c, x: c.x[i], y: c.y[i] }; });
    const near = rows.reduce((a, b) => (Math.abs(b.x - at) < Math.abs(a.x - at) ? b : a));
    guide.replaceChildren();
    el("line", { x1: X(near.x), x2: X(near.x), y1: TOP, y2: TOP + plotH, stroke: "#555", "stroke-dasharray": "3 3" }, guide);
    const lines = [`epoch ${number(near.x)}`, ...rows.map((r) => `${r.c.name}: ${d.y_percent ? (r.y * 100).toFixed(1) + "%" : number(r.y)}${r.x === near.x ? "" : ` (epoch ${number(r.x)})`}`)];
    const width = 12 + 7.2 * Math.max(...lines.map((l) => l.length)), height = 8 + 17 * lines.length;
    const left = X(near.x) + width + 12 > W - RIGHT ? X(near.x) - width - 8 : X(near.x) + 8;
    el("rect", { x: left, y: TOP + 4, width, height, fill: "#fff", stroke: "#999", rx: 3, opacity: 0.95 }, guide);
    lines.forEach((line, i) => el("text", { x: left + 6, y: TOP + 20 + 17 * i, class: "tick" }, guide, line));
    rows.forEach((r) => el("circle", { cx: X(r.x), cy: Y(r.y), r: 4, fill: r.c.colour }, guide));
    guide.setAttribute("visibility", "visible");
  });
}

function curveLegend(root, d) {
  const box = document.createElement("div");
  box.className = "ch-legend";
  for (const c of d.curves) {
    const item = document.createElement("span");
    const diamond = c.markers ? `<path d="M17,0L22,5L17,10L12,5Z" fill="${c.colour}"/>` : "";
    item.innerHTML = `<svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="${c.colour}" stroke-width="${Math.max(c.width, 2)}" stroke-dasharray="${DASH[c.dash] || ""}"/>${diamond}</svg>`;
    item.append(c.name);
    box.appendChild(item);
  }
  root.appendChild(box);
}

// One chart, in its own box (.ch): the SVG and its legend.
function drawn(d) {
  const box = document.createElement("div");
  box.className = "ch";
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": d.title });
  box.appendChild(svg);
  curves(svg, d);
  curveLegend(box, d);
  return box;
}

// data.charts: one or more charts, side by side when several (they wrap where the page is narrow).
export default (component) => mountCharts(component, drawn);
