"""Inside the network: the server-side cost of each interaction of the Inside page.

Rows: clicking a feature-map cell (the layer's maps, the cell's box and effective receptive field, both
figures as JSON), picking a class ("why not 7?": saliency and Grad-CAM, figure as JSON), clicking a point of
the latent plane (decode it, figure as JSON), drawing the latent plane (3,000 digits and the clickable grid,
as JSON), and the interpolation strips. The latent projection of the 10,000 MNIST test digits is computed once
and cached (``$CNNVIZ_RUNS_DIR/cache``), as the page does; the rows time what a click costs after that.
Needs MNIST (``$CNNVIZ_DATA_DIR``); without it the plane rows are skipped and the page's digit is a shipped
sample.
"""

from __future__ import annotations

import plotly.io
import torch

from benchmarks.table import measure, print_table
from cnnviz.analysis import attribution, latent, receptive
from cnnviz.analysis.features import classify, reconstruct
from cnnviz.data import images
from cnnviz.data.mnist import MNISTNotFound, mnist_test_digit
from cnnviz.views import inside_view
from cnnviz.views.draw_view import field_grids
from models import PRETRAINED_DIR, load_pretrained

LAYER = "backbone.layers.res2_1"  # the page's default layer


def digit_tensor() -> torch.Tensor:
    """``(1, 1, 28, 28)``: MNIST test digit 3, or the shipped sample of a 0 without MNIST."""
    try:
        pixels = mnist_test_digit(3).pixels
    except MNISTNotFound:
        pixels = images.load_sample("mnist_0").pixels.copy()  # shared and read-only
    return torch.from_numpy(pixels).float().div(255.0)[None, None]


def main() -> None:
    torch.set_num_threads(1)  # as the page does for one digit
    classifier, autoencoder = load_pretrained("classifier"), load_pretrained("autoencoder")
    digit = digit_tensor()
    rows = []

    def row(name: str, fn, repeats: int = 20) -> None:
        median, p95 = measure(fn, repeats=repeats, warmup=2)
        rows.append((name, median, p95))

    def click_cell() -> None:
        maps = next(item.maps for item in classify(classifier, digit).layers if item.path == LAYER)  # (C, h, w)
        cell = receptive.cell_field(classifier, LAYER, 0, 3, 4, digit)
        inside_view.cell_picker(maps[0], LAYER).payload(panel_px=160, clickable=True)
        for grid in field_grids(digit[0, 0].numpy(), cell):
            grid.payload(panel_px=196)

    def pick_class() -> None:
        explained = attribution.explain(classifier, digit, 7)
        for grid in inside_view.attribution_grids(digit[0, 0].numpy(), explained.saliency, explained.gradcam, 7):
            grid.payload(panel_px=196)

    row("click a cell: maps + box + effective field, map-grid payloads", click_cell)
    row("pick a class: saliency + Grad-CAM, map-grid payloads", pick_class)
    try:
        plane = latent.projection(autoencoder, PRETRAINED_DIR / "autoencoder.pt")
    except MNISTNotFound as error:
        print(f"(latent rows skipped: {error})")
    else:
        here = plane.project(reconstruct(autoencoder, digit).code)

        def click_plane() -> None:
            decoded = latent.decode_point(autoencoder, plane, float(here[0]) + 0.5, float(here[1]))
            inside_view.digit_strip([decoded], ["decoded"], "The decoder's image").payload(panel_px=224)

        def strips() -> None:
            strip = latent.interpolate(autoencoder, digit, digit.flip(-1))
            weights = [f"{w:.1f}" for w in strip.weights]
            for pictures in (strip.decoded, strip.pixels):
                inside_view.digit_strip(list(pictures), weights, "strip").payload(panel_px=84)

        def plane_figure() -> int:
            current = (here[0], here[1])
            figure = inside_view.latent_plane(plane.points, plane.labels, current, plane.exact, plane.explained)
            return len(plotly.io.to_json(figure, validate=False))

        row("click the plane: decode + map-grid payload", click_plane)
        row(f"latent plane figure to JSON ({plane_figure() // 1000} kB)", plane_figure, repeats=10)
        row("interpolation strips (10 + 10 images), map-grid payloads", strips)
    print_table(["interaction (server side, one torch thread)", "median ms", "p95 ms"], rows)


if __name__ == "__main__":
    main()
