// What widgets/chart.js and widgets/curves.js share: SVG elements, line dashes, the charts' sizes, and
// mounting a component's charts (drawn(d) -> one chart's box), side by side when several.

const NS = "http://www.w3.org/2000/svg";
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

function mountCharts(component, drawn) {
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
