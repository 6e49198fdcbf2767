"""``python -m cnnviz.inspect FILE [--image PNG ...] [--json]``: a student's ONNX model, layer by layer.

Prints the per-layer table (kind, output shape per sample, parameters as PyTorch counts them, multiply-adds)
and, for each image, the ten probabilities; the image goes through the Draw page's preprocessing
(:func:`cnnviz.data.preprocess.to_mnist`). The file is read and run in a child process with memory and time
caps (:mod:`cnnviz.student_models.sandbox`). The dynamo exporter's weights file (``FILE.data``) is read when
it lies beside FILE. A refused file or image: exit status 2 and one line (with ``--json``:
``{"error": "..."}``), never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from cnnviz.student_models.records import GraphRefused, Inspection
from cnnviz.student_models.sandbox import inspect_model

MAX_IMAGE_BYTES = 5 * 2**20  # an image given with --image


def _images(paths: list[str]) -> np.ndarray:
    from cnnviz.data.images import ImageRejected, decode_upload
    from cnnviz.data.preprocess import EmptyDrawing, to_mnist

    tensors = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise GraphRefused(f"cannot read the image {path}: {error.strerror}.") from None
        if len(data) > MAX_IMAGE_BYTES:
            raise GraphRefused(f"the image {path} is over {MAX_IMAGE_BYTES // 2**20} MB.")
        try:
            tensors.append(to_mnist(decode_upload(data, Path(path).name).pixels).numpy())
        except (ImageRejected, EmptyDrawing) as error:
            raise GraphRefused(f"{path}: {error}") from None
    return np.concatenate(tensors) if tensors else np.zeros((0, 1, 28, 28), np.float32)


def as_json(result: Inspection) -> dict:
    """The answer of ``--json``: ``{"parameters", "layers": [...], "predictions": [[10 floats], ...], "notes"}``."""
    layers = []
    for layer in result.table.layers:
        row = dataclasses.asdict(layer)
        row["output_shape"] = list(layer.output_shape)
        layers.append(row)
    return {
        "parameters": result.table.parameters,
        "layers": layers,
        "predictions": [list(p) for p in result.predictions],
        "notes": list(result.table.notes),
    }


def as_text(result: Inspection, image_names: list[str]) -> str:
    rows = [("layer", "kind", "output (per sample)", "parameters", "multiply-adds")]
    for layer in result.table.layers:
        shape = " x ".join(map(str, layer.output_shape)) or "?"
        kind = layer.kind + (f" (joins {layer.joins} branches)" if layer.joins else "")
        rows.append((layer.name, kind, shape, f"{layer.parameters:,}", f"{layer.macs:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"parameters: {result.table.parameters:,}")
    lines += [f"note: {note}" for note in result.table.notes]
    for name, probabilities in zip(image_names, result.predictions):
        best = int(np.argmax(probabilities))
        spread = " ".join(f"{digit}:{p:.2f}" for digit, p in enumerate(probabilities))
        lines.append(f"{name}: {best} ({probabilities[best]:.0%})  {spread}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.inspect", description=__doc__.splitlines()[0])
    parser.add_argument("file", help="an ONNX model (torch.onnx.export(model, torch.zeros(1, 1, 28, 28), FILE))")
    parser.add_argument("--image", action="append", default=[], metavar="PNG", help="a digit to classify")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = parser.parse_args(argv)
    model = Path(args.file)
    try:
        try:
            data = model.read_bytes()
        except OSError as error:
            raise GraphRefused(f"cannot read {model}: {error.strerror}.") from None
        weights = model.with_name(model.name + ".data")
        companions = {weights.name: weights.read_bytes()} if weights.is_file() else {}
        result = inspect_model(data, _images(args.image), companions=companions)
    except GraphRefused as error:
        print(json.dumps({"error": str(error)}) if args.json else f"refused: {error}", file=sys.stdout)
        return 2
    print(json.dumps(as_json(result)) if args.json else as_text(result, args.image))
    return 0


if __name__ == "__main__":
    sys.exit(main())
