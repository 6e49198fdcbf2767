// Colour lookup tables from ANCHORS (prepended by widgets/assets.py), and painting with them: shared by
// map_grid.js and replay_player.js.

// The 256-entry table, interpolated exactly as cnnviz.views.palette.colormap_lut does.
function lut(name) {
  const anchors = ANCHORS[name];
  const table = new Uint8Array(256 * 3);
  const last = anchors.length - 1;
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * last;
    const k = Math.min(Math.floor(x), last - 1);
    const f = x - k;
    for (let c = 0; c < 3; c++) {
      const v = anchors[k][c] + (anchors[k + 1][c] - anchors[k][c]) * f;
      table[i * 3 + c] = Math.round(v);
    }
  }
  return table;
}
const TABLES = {};
const table = (name) => TABLES[name] || (TABLES[name] = lut(name));

// Paint rows x cols colour indices (the red channel of a grey PNG, from pixel `offset`) into `canvas`.
function paint(canvas, indices, offset, rows, cols, cmap) {
  const t = table(cmap);
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const k = indices[(offset + i) * 4] * 3;  // the red channel of a grey pixel is its index
    image.data[i * 4] = t[k];
    image.data[i * 4 + 1] = t[k + 1];
    image.data[i * 4 + 2] = t[k + 2];
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

function gradient(cmap) {
  const t = table(cmap);
  const stops = [];
  for (let s = 0; s <= 8; s++) {
    const k = Math.round((s * 255) / 8) * 3;
    stops.push(`rgb(${t[k]},${t[k + 1]},${t[k + 2]}) ${(s * 100) / 8}%`);
  }
  return `linear-gradient(to right, ${stops.join(",")})`;
}
