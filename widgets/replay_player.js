// A run's replay (widgets/replay_player.py): the first layer's kernels, the fixed digit's maps and the prediction
// at each moment, all frames sent once; the slider and play run here, without the server.
// ANCHORS, PALETTE and lut.js's table() are prepended by widgets/replay_player.py.

function decodePng(url) {
  return new Promise((resolve, reject) => {
    const picture = new Image();
    picture.onload = () => {
      const scratch = document.createElement("canvas");
      scratch.width = picture.width;
      scratch.height = picture.height;
      const ctx = scratch.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(picture, 0, 0);
      resolve({ width: picture.width, data: ctx.getImageData(0, 0, picture.width, picture.height).data });
    };
    picture.onerror = reject;
    picture.src = url;
  });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function panelGrid(title, count, rows, cols, px, legend) {
  const box = element("div", "rp-block");
  box.append(element("div", "rp-head", title));
  const grid = element("div", "rp-grid");
  const canvases = [];
  for (let c = 0; c < count; c++) {
    const figure = element("figure", "rp-panel");
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    canvas.style.width = `${px}px`;
    canvas.style.height = `${Math.round((px * rows) / cols)}px`;
    figure.append(canvas, element("figcaption", "", String(c)));
    grid.append(figure);
    canvases.push(canvas);
  }
  box.append(grid, legend);
  return [box, canvases];
}

function legendFor(cmap, words) {
  const legend = element("div", "rp-legend");
  const bar = element("span", "rp-bar");
  bar.style.background = gradient(cmap);
  legend.append(bar, element("span", "", words));
  return legend;
}

async function build(root, d, state, token) {
  const [kernels, change, maps, digit] = await Promise.all(
    [d.kernels_png, d.change_png, d.maps_png, d.digit_png].map(decodePng));
  if (root.__build !== token) return () => {};  // newer data arrived while these pictures decoded
  const count = d.frames.length, C = d.channels, k = d.kernel, H = d.height, W = d.width;
  const controls = element("div", "rp-controls");
  const play = element("button", "rp-play", "▶ play");
  play.type = "button";
  const slider = document.createElement("input");
  slider.type = "range";
  slider.className = "rp-slider";
  slider.min = "0";
  slider.max = String(count - 1);
  slider.setAttribute("aria-label", "moment of training");
  const label = element("span", "rp-label");
  controls.append(play, slider, label);

  const kernelLegend = legendFor(d.kernel_cmap, "");
  const [kernelBox, kernelCanvases] = panelGrid(`First-layer kernels (${C}, each ${k} x ${k})`, C, k, k, 40, kernelLegend);
  const since = d.first_images ? `its value after ${d.first_images.toLocaleString("en")} images` : "its random start";
  const changeLegend = legendFor(
    d.kernel_cmap, `-${d.change_largest} … 0 … +${d.change_largest}: one range for every moment`);
  const [changeBox, changeCanvases] = panelGrid(`What training changed: each kernel minus ${since}`, C, k, k, 40, changeLegend);
  const kernelColumn = element("div", "rp-block");
  kernelColumn.append(kernelBox, changeBox);
  const mapLegend = legendFor(d.map_cmap, "0 … each map's largest value (after ReLU)");
  const [mapBox, mapCanvases] = panelGrid(`Their maps of the fixed digit (${H} x ${W})`, C, H, W, 56, mapLegend);
  const digitBox = element("div", "rp-block");
  digitBox.append(element("div", "rp-head", `The fixed digit (a ${d.label})`));
  const digitCanvas = document.createElement("canvas");
  digitCanvas.width = digit.width;
  digitCanvas.height = digit.width;
  digitCanvas.className = "rp-digit";
  paint(digitCanvas, digit.data, 0, digit.width, digit.width, "greys");
  digitBox.append(digitCanvas);
  const bars = element("div", "rp-bars");
  const barParts = [];
  const classifier = d.frames[0].probabilities.length > 0;
  if (classifier) {
    for (let c = 0; c < d.frames[0].probabilities.length; c++) {
      const row = element("div", "rp-bar-row");
      const track = element("span", "rp-track");
      const fill = element("span", "rp-fill");
      track.append(fill);
      const value = element("span", "rp-value");
      row.append(element("span", "rp-class", String(c)), track, value);
      bars.append(row);
      barParts.push([fill, value]);
    }
    digitBox.append(element("div", "rp-head", "Its prediction"), bars);
  }
  const pictures = element("div", "rp-pictures");
  pictures.append(kernelColumn, digitBox, mapBox);
  root.replaceChildren(controls, pictures);

  const show = (i) => {
    state.index = i;
    state.follow = i === count - 1;  // live: a student at the newest moment keeps seeing the newest
    slider.value = String(i);
    const f = d.frames[i];
    for (let c = 0; c < C; c++) {
      paint(kernelCanvases[c], kernels.data, (i * C + c) * k * k, k, k, d.kernel_cmap);
      paint(changeCanvases[c], change.data, (i * C + c) * k * k, k, k, d.kernel_cmap);
      paint(mapCanvases[c], maps.data, (i * C + c) * H * W, H, W, d.map_cmap);
    }
    kernelLegend.lastChild.textContent = `-${f.largest} … 0 … +${f.largest}: the weights, white = 0 (this moment's largest)`;
    let top = 0;
    f.probabilities.forEach((p, c) => { if (p > f.probabilities[top]) top = c; });
    barParts.forEach(([fill, value], c) => {
      const p = f.probabilities[c];
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      fill.style.background = c === top ? PALETTE.orange : PALETTE.blue;
      value.textContent = `${(p * 100).toFixed(1)}%`;
    });
    const guess = classifier ? ` · says ${top} (${(f.probabilities[top] * 100).toFixed(0)}%)` : "";
    const moved = ` · kernels ${(f.moved * 100).toFixed(1)}% from the start`;
    label.textContent = `after ${f.images.toLocaleString("en")} images (epoch ${f.epoch.toFixed(2)})${guess}${moved} · moment ${i + 1} of ${count}`;
  };
  let timer = null;
  const stop = () => {
    clearInterval(timer);
    timer = null;
    state.playing = false;
    play.textContent = "▶ play";
  };
  const start = () => {
    if (state.index >= count - 1) show(0);
    state.playing = true;
    play.textContent = "❚❚ pause";
    timer = setInterval(() => {
      if (state.index + 1 >= count) return stop();
      show(state.index + 1);
    }, d.frame_ms);
  };
  play.addEventListener("click", () => (timer ? stop() : start()));
  slider.addEventListener("input", () => {
    stop();
    show(Number(slider.value));
  });
  // At first the newest moment (a finished run: the trained filters). Live, new frames arrive with reruns:
  // stay where the student is, unless they were at the newest one.
  const wasPlaying = state.playing;
  show(state.index === undefined || state.follow ? count - 1 : Math.min(state.index, count - 1));
  if (wasPlaying) start();
  return stop;
}

// The frames by signature, kept for this tab: a rerun that changed nothing sends the signature alone.
const KEPT = new Map();
const KEEP = 4;

export default function (component) {
  const { parentElement, setTriggerValue } = component;
  let data = component.data[0]; // see widgets/assets.py, sent()
  let root = parentElement.querySelector(".rp");
  if (!root) {
    root = element("div", "rp");
    root.__state = { follow: true };
    parentElement.appendChild(root);
  }
  // Streamlit may call this with an older rerun's data after a newer one: the revision keeps the newest.
  if (root.__revision !== undefined && data.revision < root.__revision) return;
  root.__revision = data.revision;
  if (data.frames) {
    KEPT.delete(data.signature);
    KEPT.set(data.signature, data);
    while (KEPT.size > KEEP) KEPT.delete(KEPT.keys().next().value);
  }
  if (root.dataset.signature === data.signature) return;  // nothing new here: keep playing
  if (!data.frames) {
    const kept = KEPT.get(data.signature);
    if (!kept) {  // mounted afresh after the frames were sent: ask for them once
      if (root.__asked !== data.signature) setTriggerValue("missing", data.signature);
      root.__asked = data.signature;
      return;
    }
    data = { ...kept, live: data.live };
  }
  root.dataset.signature = data.signature;
  const playing = root.__state.playing;
  if (root.__stop) root.__stop();
  root.__state.playing = playing;  // a live rerun with new frames goes on playing
  const token = (root.__build || 0) + 1;
  root.__build = token;
  build(root, data, root.__state, token).then((stop) => { if (root.__build === token) root.__stop = stop; });
  return () => root.__stop && root.__stop();
}
