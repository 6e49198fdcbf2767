// Colour lookup tables from ANCHORS (prepended by widgets/assets.py), shared by map_grid.js and replay_player.js.

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
