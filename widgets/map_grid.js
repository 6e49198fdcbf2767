// A grid of feature maps, painted from one PNG of colour indices (see cnnviz/map_grid.py).
// Hover a panel: its value under the pointer. Click a panel: that channel enlarged below (and, when the grid is
// clickable, the cell reported to Python and outlined). A panel may carry a box to outline (a receptive field).
// ANCHORS (colormap name -> evenly spaced RGB anchors) and lut.js (table) are prepended by widgets/map_grid.py.

function fmt(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

const LEGEND = {
  "blue-red": ["-max", "0", "+max", "signed: white = 0"],
  viridis: ["min", "", "max", "values >= 0"],
  greys: ["0", "", "1", "ink"],
};

// pick: the cell to outline at first, {channel, row, column} in map coordinates, or null.
function renderGrid(root, data, setTriggerValue, index, pick) {
  const picture = new Image();
  picture.onload = () => {
    const { rows, columns: cols, factor, panels, panel_px: panelPx } = data;
    const scratch = document.createElement("canvas");
    scratch.width = cols;
    scratch.height = rows * panels.length;
    const sctx = scratch.getContext("2d", { willReadFrequently: true });
    sctx.drawImage(picture, 0, 0);
    const indices = sctx.getImageData(0, 0, cols, rows * panels.length).data;
    const scale = panelPx / Math.max(rows, cols);
    const valueAt = (p, r, c) => {
      const q = indices[(p * rows * cols + r * cols + c) * 4];
      const panel = panels[p];
      return panel.low + (q / 255) * (panel.high - panel.low);
    };
    const status = document.createElement("div");
    status.className = "mg-status";
    status.textContent = data.clickable
      ? "Hover a map to read its values; click a cell to pick it."
      : "Hover a map to read its values; click one to enlarge it.";
    const cellOf = (event, canvas) => {
      const box = canvas.getBoundingClientRect();
      const c = Math.min(cols - 1, Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * cols)));
      const r = Math.min(rows - 1, Math.max(0, Math.floor(((event.clientY - box.top) / box.height) * rows)));
      return [r, c];
    };
    const where = (r, c) =>
      factor > 1
        ? `rows ${r * factor}-${r * factor + factor - 1}, columns ${c * factor}-${c * factor + factor - 1} (mean)`
        : `row ${r}, column ${c}`;
    const makePanel = (p, size, big) => {
      const figure = document.createElement("figure");
      figure.className = big ? "mg-panel mg-big" : "mg-panel";
      if (!big) figure.style.minWidth = "110px";
      const label = document.createElement("figcaption");
      label.innerHTML = "";
      const name = document.createElement("div");
      name.className = "mg-name";
      name.textContent = panels[p].title;
      const range = document.createElement("div");
      range.className = "mg-range";
      range.textContent = panels[p].range;
      label.append(name, range);
      const canvas = document.createElement("canvas");
      canvas.width = cols;
      canvas.height = rows;
      canvas.style.width = `${Math.max(1, Math.round(cols * size))}px`;
      canvas.style.height = `${Math.max(1, Math.round(rows * size))}px`;
      paint(canvas, indices, p * rows * cols, rows, cols, panels[p].cmap);
      canvas.addEventListener("mousemove", (event) => {
        const [r, c] = cellOf(event, canvas);
        status.textContent = `${panels[p].title}, ${where(r, c)}: ${fmt(valueAt(p, r, c))}`;
      });
      canvas.addEventListener("click", (event) => {
        const [r, c] = cellOf(event, canvas);
        if (!big && data.enlarge !== false) enlarge(p);
        if (data.clickable) {
          for (const other of (root.parentNode || root).children) if (other !== root && other.__pick) other.__pick(null);
          picked = { p, r, c };
          markPicked();
          setTriggerValue("cell", { grid: index, channel: p, row: r * factor, column: c * factor });
        }
      });
      const frame = document.createElement("div");
      frame.className = "mg-canvas";
      frame.dataset.panel = String(p);
      frame.appendChild(canvas);
      if (panels[p].box) frame.appendChild(outline(panels[p].box, "mg-box"));
      figure.append(label, frame);
      return figure;
    };
    // An outline over a panel, placed in percent of the map so that it scales with the canvas.
    const outline = ([top, left, bottom, right], className) => {
      const box = document.createElement("div");
      box.className = className;
      box.style.left = `${(left / cols) * 100}%`;
      box.style.top = `${(top / rows) * 100}%`;
      box.style.width = `${((right - left + 1) / cols) * 100}%`;
      box.style.height = `${((bottom - top + 1) / rows) * 100}%`;
      return box;
    };
    // The cell last clicked (clickable grids): outlined here at once, before the server answers.
    let picked = pick ? { p: pick.channel, r: Math.floor(pick.row / factor), c: Math.floor(pick.column / factor) } : null;
    const markPicked = () => {
      root.querySelectorAll(".mg-pick").forEach((old) => old.remove());
      if (!picked || picked.p >= panels.length) return;
      root.querySelectorAll(`.mg-canvas[data-panel="${picked.p}"]`).forEach((frame) => {
        const mark = outline([picked.r, picked.c, picked.r, picked.c], "mg-pick");
        mark.title = `picked: ${panels[picked.p].title}, ${where(picked.r, picked.c)}`;
        frame.appendChild(mark);
      });
    };
    const zoom = document.createElement("div");
    zoom.className = "mg-zoom";
    const enlarge = (p) => {
      zoom.replaceChildren(makePanel(p, Math.min(480, Math.max(240, panelPx * 3)) / Math.max(rows, cols), true));
      markPicked();
    };
    const grid = document.createElement("div");
    grid.className = "mg-grid";
    // at most per_row panels a row; fewer where the page is narrow (flex-wrap)
    grid.style.maxWidth = `${data.per_row * (Math.max(cols * scale, 110) + 12)}px`;
    panels.forEach((_, p) => grid.appendChild(makePanel(p, scale, false)));
    const title = document.createElement("div");
    title.className = "mg-title";
    title.textContent = data.title;
    const legend = document.createElement("div");
    legend.className = "mg-legend";
    for (const cmap of [...new Set(panels.map((p) => p.cmap))]) {
      const [left, middle, right, note] = LEGEND[cmap];
      const item = document.createElement("span");
      item.className = "mg-key";
      item.innerHTML = `<span class="mg-bar" style="background:${gradient(cmap)}"></span>`;
      const words = document.createElement("span");
      words.textContent = `${left} ${middle ? "… " + middle + " …" : "…"} ${right}: ${note}`;
      item.appendChild(words);
      legend.appendChild(item);
    }
    const each = document.createElement("span");
    each.className = "mg-note";
    each.textContent = panels.length > 1 ? "each panel over its own range [min, max]" : "";
    legend.appendChild(each);
    root.replaceChildren(title, grid, legend, status, zoom);
    root.__pick = (next) => {
      picked = next ? { p: next.channel, r: Math.floor(next.row / factor), c: Math.floor(next.column / factor) } : null;
      markPicked();
    };
    if (picked && picked.p < panels.length && data.enlarge !== false) enlarge(picked.p);
    markPicked();
  };
  picture.src = data.png;
}

// data.grids: one or more grids, drawn one after the other (data.side_by_side: in a row).
// data.picked: {grid, channel, row, column}, the cell to outline (clickable grids), or null.
export default function (component) {
  const { parentElement, setTriggerValue } = component;
  const data = component.data[0]; // see widgets/assets.py, sent()
  let root = parentElement.querySelector(".mg-all");
  if (!root) {
    root = document.createElement("div");
    root.className = "mg-all";
    parentElement.appendChild(root);
  }
  // Streamlit may call this with an older rerun's data after a newer one (two reruns close together):
  // the revision (the server's clock at the rerun) keeps the newest.
  if (root.__revision !== undefined && data.revision < root.__revision) return;
  root.__revision = data.revision;
  const pickFor = (i) => (data.picked && data.picked.grid === i ? data.picked : null);
  const signature = data.grids.map((g) => g.png + g.title + g.panels.map((p) => p.title + p.range + (p.box || "")).join("|")).join("#");
  if (root.dataset.signature === signature) {  // a rerun that changed nothing here but, maybe, the picked cell
    Array.from(root.children).forEach((section, i) => section.__pick && section.__pick(pickFor(i)));
    return;
  }
  root.classList.toggle("mg-row", Boolean(data.side_by_side));
  const sections = data.grids.map((grid, i) => {
    const section = document.createElement("div");
    section.className = "mg";
    renderGrid(section, grid, setTriggerValue, i, pickFor(i));
    return section;
  });
  root.replaceChildren(...sections);
  root.dataset.signature = signature;
}
