// Charts as SVG: probability bars per digit or lines along a sweep (cnnviz.draw_plots.Chart; hover a bar or
// a point for its value, the SVG <title>), and training curves along epochs (cnnviz.train_view.CurveChart;
// hover anywhere for every curve's value at that epoch).

const NS = "http://www.w3.org/2000/svg";
let W = 560;  // bars get a narrower canvas: they sit in a narrow column, and their words must stay readable
const H = 290, LEFT = 58, RIGHT = 14, TOP = 34, BOTTOM = 62;
const DASH = { solid: "", dash: "8 5", dot: "2 4", dashdot: "8 4 2 4" };

function el(name, attrs, parent, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

const pct = (v) => `${Math.round(v * 100)}%`;

function axes(svg, d) {
  const plotH = H - TOP - BOTTOM;
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const y = TOP + plotH * (1 - t);
    el("line", { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, stroke: "#e3e3e3" }, svg);
    el("text", { x: LEFT - 6, y: y + 4, "text-anchor": "end", class: "tick" }, svg, pct(t));
  }
  el("text", { x: 14, y: TOP + plotH / 2, transform: `rotate(-90 14 ${TOP + plotH / 2})`, "text-anchor": "middle", class: "axis" }, svg, "probability");
  el("text", { x: LEFT + (W - LEFT - RIGHT) / 2, y: H - 24, "text-anchor": "middle", class: "axis" }, svg, d.x_title);
  el("text", { x: 4, y: 18, class: "title" }, svg, d.title);
}

function bars(svg, d) {
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const slot = plotW / d.x.length, groups = d.series.length;
  const width = (slot * 0.72) / groups;
  const defs = el("defs", {}, svg);
  const hatch = el("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
  el("rect", { width: 6, height: 6, fill: "#E69F00" }, hatch);
  el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#fff", "stroke-width": 2 }, hatch);
  d.x.forEach((label, i) => {
    const x0 = LEFT + slot * i + slot * 0.14;
    d.series.forEach((s, k) => {
      const v = s.values[i], h = plotH * v, x = x0 + k * width;
      const bar = el("rect", { x, y: TOP + plotH - h, width: width - 1, height: Math.max(h, 0.5), fill: s.hatched ? "url(#hatch)" : s.colours[i], class: "bar" }, svg);
      el("title", {}, bar, `${s.name}, digit ${label}: ${(v * 100).toFixed(1)}%`);
      if (v >= 0.005) el("text", { x: x + width / 2, y: TOP + plotH - h - 4, "text-anchor": "middle", class: "value" }, svg, pct(v));
    });
    el("text", { x: LEFT + slot * (i + 0.5), y: TOP + plotH + 22, "text-anchor": "middle", class: "digit" }, svg, label);
  });
}

function lines(svg, d) {
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const lo = Math.min(...d.x), hi = Math.max(...d.x);
  const X = (v) => LEFT + 10 + ((v - lo) / (hi - lo || 1)) * (plotW - 20);
  const Y = (p) => TOP + plotH * (1 - p);
  const step = Math.max(1, Math.ceil(d.x.length / 7));
  d.x.forEach((v, i) => {
    if (i % step === 0 || i === d.x.length - 1) el("text", { x: X(v), y: TOP + plotH + 16, "text-anchor": "middle", class: "tick" }, svg, String(v));
  });
  if (d.marker !== null && d.marker !== undefined) {
    const x = X(d.marker);
    el("line", { x1: x, x2: x, y1: TOP, y2: TOP + plotH, stroke: "#333", "stroke-dasharray": "4 4" }, svg);
    el("text", { x, y: TOP - 4, "text-anchor": "middle", class: "tick" }, svg, `now: ${d.marker}`);
  }
  d.series.forEach((s) => {
    const points = d.x.map((v, i) => `${X(v)},${Y(s.values[i])}`).join(" ");
    el("polyline", { points, fill: "none", stroke: s.colours[0], "stroke-width": 3, "stroke-dasharray": DASH[s.dash] || "" }, svg);
    d.x.forEach((v, i) => {
      const dot = el("circle", { cx: X(v), cy: Y(s.values[i]), r: 4, fill: s.colours[0] }, svg);
      el("title", {}, dot, `${s.name}: ${(s.values[i] * 100).toFixed(1)}% at ${v}`);
    });
  });
}

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
  const CW = W; // W is shared by every chart drawn: the hover handler, called later, keeps this chart's
  const plotW = CW - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
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
    const at = x0 + ((((event.clientX - box.left) / box.width) * CW - LEFT - 8) / (plotW - 16)) * (x1 - x0);
    const rows = shown.map((c) => { const i = nearest(c.x, at); return { c, x: c.x[i], y: c.y[i] }; });
    const near = rows.reduce((a, b) => (Math.abs(b.x - at) < Math.abs(a.x - at) ? b : a));
    guide.replaceChildren();
    el("line", { x1: X(near.x), x2: X(near.x), y1: TOP, y2: TOP + plotH, stroke: "#555", "stroke-dasharray": "3 3" }, guide);
    const lines = [`epoch ${number(near.x)}`, ...rows.map((r) => `${r.c.name}: ${d.y_percent ? (r.y * 100).toFixed(1) + "%" : number(r.y)}${r.x === near.x ? "" : ` (epoch ${number(r.x)})`}`)];
    const width = 12 + 7.2 * Math.max(...lines.map((l) => l.length)), height = 8 + 17 * lines.length;
    const left = X(near.x) + width + 12 > CW - RIGHT ? X(near.x) - width - 8 : X(near.x) + 8;
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

function legend(root, d) {
  if (d.series.length < 2) return;
  const box = document.createElement("div");
  box.className = "ch-legend";
  for (const s of d.series) {
    const item = document.createElement("span");
    const key = d.kind === "bars"
      ? `<i style="background:${s.hatched ? "repeating-linear-gradient(45deg,#E69F00 0 3px,#fff 3px 5px)" : s.colours[s.colours.length - 1] === s.colours[0] ? s.colours[0] : "#0072B2"}"></i>`
      : `<svg width="34" height="10"><line x1="0" y1="5" x2="34" y2="5" stroke="${s.colours[0]}" stroke-width="3" stroke-dasharray="${DASH[s.dash] || ""}"/></svg>`;
    item.innerHTML = key;
    item.append(s.name);
    box.appendChild(item);
  }
  root.appendChild(box);
}

// One chart, in its own box (.ch): the SVG and its legend.
function drawn(d) {
  W = d.kind === "bars" ? 400 : 560;
  const box = document.createElement("div");
  box.className = "ch";
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": d.title });
  box.appendChild(svg);
  if (d.kind === "curves") {
    curves(svg, d);
    curveLegend(box, d);
    return box;
  }
  axes(svg, d);
  (d.kind === "bars" ? bars : lines)(svg, d);
  legend(box, d);
  return box;
}

// data.charts: one or more charts, side by side when several (they wrap where the page is narrow).
export default function (component) {
  const { parentElement } = component;
  const data = component.data[0]; // see widgets/assets.py, sent()
  let root = parentElement.querySelector(".ch-all");
  if (!root) {
    root = document.createElement("div");
    root.className = "ch-all";
    parentElement.appendChild(root);
  }
  // Streamlit may call this with an older rerun's data after a newer one (two reruns close together):
  // the revision (the server's clock at the rerun) keeps the newest.
  if (root.__revision !== undefined && data.revision < root.__revision) return;
  root.__revision = data.revision;
  const signature = JSON.stringify({ ...data, revision: 0 });
  if (root.dataset.signature === signature) return;
  root.classList.toggle("ch-row", data.charts.length > 1);
  root.replaceChildren(...data.charts.map(drawn));
  root.dataset.signature = signature;
}
