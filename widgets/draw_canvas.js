// A drawing canvas: black ink on white, undo / redo / clear, mouse, pen or finger.
// When a stroke ends it sends the picture as a PNG data URL (a few kB), so the page reruns once per stroke.

function redraw(state) {
  const { ctx, canvas } = state;
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#000000";
  ctx.fillStyle = "#000000";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of state.strokes) {
    ctx.lineWidth = stroke.width;
    if (stroke.points.length === 1) {
      const [x, y] = stroke.points[0];
      ctx.beginPath();
      ctx.arc(x, y, stroke.width / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    stroke.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
  }
}

function send(state) {
  state.setStateValue("picture", state.strokes.length ? state.canvas.toDataURL("image/png") : null);
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let state = parentElement.__drawState;
  if (!state) {
    const root = document.createElement("div");
    root.className = "dc";
    const tools = document.createElement("div");
    tools.className = "dc-tools";
    const button = (label, title) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.title = title;
      tools.appendChild(b);
      return b;
    };
    const undo = button("↶ undo", "Undo the last stroke");
    const redo = button("↷ redo", "Redo the stroke undone last");
    const clear = button("🗑 clear", "Clear the canvas");
    const canvas = document.createElement("canvas");
    canvas.setAttribute("aria-label", "drawing canvas");
    canvas.dataset.testid = "draw-canvas";
    root.append(tools, canvas);
    parentElement.appendChild(root);
    state = { canvas, ctx: canvas.getContext("2d"), strokes: [], undone: [], current: null, setStateValue };
    parentElement.__drawState = state;
    const at = (event) => {
      const box = canvas.getBoundingClientRect();
      return [((event.clientX - box.left) / box.width) * canvas.width, ((event.clientY - box.top) / box.height) * canvas.height];
    };
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      state.current = { width: state.pen, points: [at(event)] };
      state.strokes.push(state.current);
      state.undone = [];
      redraw(state);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!state.current) return;
      state.current.points.push(at(event));
      redraw(state);
    });
    const end = () => {
      if (!state.current) return;
      state.current = null;
      send(state);
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    undo.addEventListener("click", () => {
      if (!state.strokes.length) return;
      state.undone.push(state.strokes.pop());
      redraw(state);
      send(state);
    });
    redo.addEventListener("click", () => {
      if (!state.undone.length) return;
      state.strokes.push(state.undone.pop());
      redraw(state);
      send(state);
    });
    clear.addEventListener("click", () => {
      if (!state.strokes.length) return;
      state.undone = [];
      state.strokes = [];
      redraw(state);
      send(state);
    });
  }
  state.setStateValue = setStateValue;
  state.pen = data.pen;
  if (state.canvas.width !== data.size) {
    state.canvas.width = state.canvas.height = data.size;
    state.canvas.style.width = state.canvas.style.height = `${data.size}px`;
    redraw(state);
  }
}
