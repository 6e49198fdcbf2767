"""What an ONNX model is, as the pages and the command line show it: plain records, no onnx import.

The sandbox's child fills them in (:mod:`cnnviz.student_models.graph`) and sends them back as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass


class GraphRefused(ValueError):
    """The file is not an ONNX model cnnviz can describe; the message says why in one line."""


@dataclass(frozen=True)
class GraphLayer:
    """One row of the table."""

    name: str  # the node's name in the file (or its operator and number)
    kind: str  # the PyTorch module it comes from ("Conv2d", "Linear", ...), else the ONNX operator
    operator: str  # the ONNX operator
    output_shape: tuple[int, ...]  # per sample (no batch dimension); () when ONNX could not infer it
    parameters: int  # learnable numbers, as PyTorch counts them
    macs: int  # multiply-adds per sample (convolutions and linear layers; 0 for the rest)
    joins: int  # how many branches meet here (Add, Concat); 0 elsewhere


@dataclass(frozen=True)
class GraphTable:
    """An ONNX model described layer by layer."""

    input_name: str
    input_shape: tuple[int | str, ...]  # as declared, batch included (a name where it is dynamic)
    layers: tuple[GraphLayer, ...]
    parameters: int  # over the whole graph, as PyTorch counts its layers
    notes: tuple[str, ...]  # what a student should know when comparing with their PyTorch model


@dataclass(frozen=True)
class Inspection:
    """A model's table and, for each image it was given, its ten probabilities."""

    table: GraphTable
    predictions: tuple[tuple[float, ...], ...]


def inspection_from_json(body: dict) -> Inspection:
    """The child's JSON answer as records (it is our own child's output, but checked like any input)."""
    table = body["table"]
    layers = tuple(
        GraphLayer(str(r["name"]), str(r["kind"]), str(r["operator"]), tuple(int(d) for d in r["output_shape"]),
                   int(r["parameters"]), int(r["macs"]), int(r["joins"]))
        for r in table["layers"]
    )  # fmt: skip
    graph = GraphTable(str(table["input_name"]), tuple(table["input_shape"]), layers, int(table["parameters"]),
                       tuple(str(n) for n in table["notes"]))  # fmt: skip
    return Inspection(graph, tuple(tuple(float(p) for p in row) for row in body["predictions"]))
