// The sliding-window animation, drawn in the browser from cnnviz.animation.payload:
// the (padded) input grid with the kernel's taps on the left, the output on the right, play / pause / step.

function cellSize(count, room) {
  return Math.max(3, Math.min(22, Math.floor(room / Math.max(1, count))));
}

function drawInput(ctx, d, size, margin, step) {
  const gap = size >= 7 ? 1 : 0;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.fillStyle = "#333";
  ctx.font = "11px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  for (const [c, n] of d.col_ticks) ctx.fillText(String(n), margin + c * size + size / 2, margin - 3);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const [r, n] of d.row_ticks) ctx.fillText(String(n), margin - 4, margin + r * size + size / 2);
  for (let r = 0; r < d.rows; r++) {
    for (let c = 0; c < d.cols; c++) {
      ctx.fillStyle = d.colours[d.grid[r * d.cols + c]];
      ctx.fillRect(margin + c * size, margin + r * size, size - gap, size - gap);
    }
  }
  if (!step) return;
  const [rows, cols] = step;
  const top = margin + rows[0] * size, left = margin + cols[0] * size;
  const bottom = margin + (rows[rows.length - 1] + 1) * size, right = margin + (cols[cols.length - 1] + 1) * size;
  ctx.fillStyle = "rgba(8, 48, 107, 0.25)";
  ctx.fillRect(left, top, right - left, bottom - top);
  ctx.strokeStyle = d.tap_colour;
  ctx.lineWidth = 3;
  ctx.strokeRect(left, top, right - left - gap, bottom - top - gap);
  if (!d.contiguous) {
    ctx.fillStyle = d.tap_colour;
    for (const r of rows) {
      for (const c of cols) {
        ctx.beginPath();
        ctx.arc(margin + c * size + size / 2, margin + r * size + size / 2, Math.max(1.5, size * 0.25), 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }
}

function drawOutput(ctx, d, size, margin, index) {
  const nr = d.row_taps.length, nc = d.col_taps.length;
  const gap = size >= 7 ? 1 : 0;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.fillStyle = "#333";
  ctx.font = "11px sans-serif";
  const every = (n) => Math.max(1, Math.ceil(n / 12));
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  for (let c = 0; c < nc; c += every(nc)) ctx.fillText(String(c), margin + c * size + size / 2, margin - 3);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let r = 0; r < nr; r += every(nr)) ctx.fillText(String(r), margin - 4, margin + r * size + size / 2);
  for (let r = 0; r < nr; r++) {
    for (let c = 0; c < nc; c++) {
      const k = r * nc + c;
      ctx.fillStyle = k < index ? "#fbd5b5" : k === index ? d.output_colour : "#dceaf6";
      ctx.fillRect(margin + c * size, margin + r * size, size - gap, size - gap);
    }
  }
  if (index >= 0 && index < nr * nc) {
    const r = Math.floor(index / nc), c = index % nc;
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(margin + c * size, margin + r * size, size - gap, size - gap);
  }
}

function build(root, d) {
  const nr = d.row_taps.length, nc = d.col_taps.length, total = nr * nc;
  const margin = 30;
  const inSize = cellSize(Math.max(d.rows, d.cols), 460);
  const outSize = cellSize(Math.max(nr, nc), 300);
  const panel = (title) => {
    const box = document.createElement("div");
    box.className = "sw-panel";
    const head = document.createElement("div");
    head.className = "sw-head";
    head.textContent = title;
    const canvas = document.createElement("canvas");
    box.append(head, canvas);
    return [box, canvas];
  };
  const [full_r, full_c] = d.output_full;
  const [inBox, inCanvas] = panel(`input: ${d.rows} x ${d.cols} grid (numbers: input rows / columns)`);
  const shownNote = nr === full_r && nc === full_c ? "" : ` (first ${nr} x ${nc} shown)`;
  const [outBox, outCanvas] = panel(`output: ${full_r} x ${full_c}${shownNote}`);
  inCanvas.width = margin + d.cols * inSize + 4;
  inCanvas.height = margin + d.rows * inSize + 4;
  outCanvas.width = margin + Math.max(nc, 1) * outSize + 4;
  outCanvas.height = margin + Math.max(nr, 1) * outSize + 4;
  const pictures = document.createElement("div");
  pictures.className = "sw-pictures";
  pictures.append(inBox, outBox);
  const controls = document.createElement("div");
  controls.className = "sw-controls";
  const play = document.createElement("button");
  play.type = "button";
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(Math.max(0, total - 1));
  slider.value = "0";
  slider.setAttribute("aria-label", "step");
  const label = document.createElement("span");
  label.className = "sw-label";
  controls.append(play, slider, label);
  const legend = document.createElement("div");
  legend.className = "sw-legend";
  for (const [colour, name] of d.legend) {
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${colour}"></i>`;
    item.append(name);
    legend.appendChild(item);
  }
  const window_ = document.createElement("span");
  window_.innerHTML = `<i style="background:rgba(8,48,107,0.25);border:2px solid ${d.tap_colour}"></i>`;
  window_.append(d.contiguous ? "the window" : "the window and its taps (dots)");
  const out = document.createElement("span");
  out.innerHTML = `<i style="background:${d.output_colour}"></i>`;
  out.append("output cell being computed");
  legend.append(window_, out);
  root.replaceChildren(pictures, controls, legend);
  const inCtx = inCanvas.getContext("2d"), outCtx = outCanvas.getContext("2d");
  let timer = null;
  const show = (k) => {
    slider.value = String(k);
    if (!total) {
      drawInput(inCtx, d, inSize, margin, null);
      drawOutput(outCtx, d, outSize, margin, -1);
      label.textContent = "No window fits in the part drawn.";
      return;
    }
    const i = Math.floor(k / nc), j = k % nc;
    const rows = d.row_taps[i], cols = d.col_taps[j];
    drawInput(inCtx, d, inSize, margin, [rows, cols]);
    drawOutput(outCtx, d, outSize, margin, k);
    const span = (taps) => (taps.length > 1 ? `${taps[0]}-${taps[taps.length - 1]}` : `${taps[0]}`);
    label.textContent = `step ${k + 1} of ${total}: output (${i}, ${j}) reads grid rows ${span(rows)}, columns ${span(cols)}`;
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
    play.textContent = "▶ play";
  };
  play.textContent = "▶ play";
  play.disabled = total === 0;
  play.addEventListener("click", () => {
    if (timer) return stop();
    if (Number(slider.value) >= total - 1) show(0);
    play.textContent = "❚❚ pause";
    timer = setInterval(() => {
      const next = Number(slider.value) + 1;
      if (next >= total) return stop();
      show(next);
    }, d.frame_ms);
  });
  slider.addEventListener("input", () => {
    stop();
    show(Number(slider.value));
  });
  show(0);
  return stop;
}

export default function (component) {
  const { parentElement } = component;
  const data = component.data[0]; // see widgets/assets.py, sent()
  let root = parentElement.querySelector(".sw");
  if (!root) {
    root = document.createElement("div");
    root.className = "sw";
    parentElement.appendChild(root);
  }
  // Streamlit may call this with an older rerun's data after a newer one (two reruns close together):
  // the revision (the server's clock at the rerun) keeps the newest.
  if (root.__revision !== undefined && data.revision < root.__revision) return;
  root.__revision = data.revision;
  const signature = JSON.stringify({ ...data, revision: 0 });
  if (root.dataset.signature === signature) return;  // a rerun that changed nothing here: keep playing
  if (root.__stop) root.__stop();
  root.__stop = build(root, data);
  root.dataset.signature = signature;
  return () => root.__stop && root.__stop();
}
