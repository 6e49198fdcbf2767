// Probability charts as SVG, from cnnviz.draw_plots.Chart: bars per digit, or lines along a sweep.
// Hover a bar or a point for its value (the SVG <title>). Follows widgets/svg.js (NS, el, DASH, sizes).

let W = 560;  // bars get a narrower canvas: they sit in a narrow column, and their words must stay readable

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
  el("rect", { width: 6, height: 6, fill: PALETTE.orange }, hatch);
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

function legend(root, d) {
  if (d.series.length < 2) return;
  const box = document.createElement("div");
  box.className = "ch-legend";
  for (const s of d.series) {
    const item = document.createElement("span");
    const key = d.kind === "bars"
      ? `<i style="background:${s.hatched ? `repeating-linear-gradient(45deg,${PALETTE.orange} 0 3px,#fff 3px 5px)` : s.colours[s.colours.length - 1] === s.colours[0] ? s.colours[0] : PALETTE.blue}"></i>`
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
  axes(svg, d);
  (d.kind === "bars" ? bars : lines)(svg, d);
  legend(box, d);
  return box;
}


// data.charts: one or more charts, side by side when several (they wrap where the page is narrow).
export default (component) => mountCharts(component, drawn);
