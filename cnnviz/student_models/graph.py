"""An ONNX graph read as the per-layer table the Network builder shows (runs inside the sandbox's child).

Shapes come from ONNX's own shape inference; parameters are counted as PyTorch counts the same layers
(weights and biases of convolutions and linear layers, a normalisation's scale and shift, never BatchNorm's
running statistics); multiply-adds per sample for convolutions and linear layers.
"""

from __future__ import annotations

import math
from pathlib import Path

import onnx
from onnx import numpy_helper, shape_inference

from cnnviz.student_models.records import GraphLayer, GraphRefused, GraphTable

# The operators a PyTorch module exports to, and the module's name (a layer kind of cnnviz's registry where it
# has one). Conv and pools are named by their spatial dimensions when exported.
MODULE_NAMES = {
    "Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "LeakyRelu": "LeakyReLU", "Softmax": "Softmax",
    "Gemm": "Linear", "MatMul": "Linear", "Flatten": "Flatten", "Reshape": "Flatten",
    "GlobalAveragePool": "AdaptiveAvgPool{d}d", "Conv": "Conv{d}d", "ConvTranspose": "ConvTranspose{d}d",
    "MaxPool": "MaxPool{d}d", "AveragePool": "AvgPool{d}d", "BatchNormalization": "BatchNorm{d}d",
    "Dropout": "Dropout", "Add": "Add", "Concat": "Concat", "Upsample": "Upsample", "Resize": "Upsample",
}  # fmt: skip
# Operators that only move data or rescale the input (a Normalize module, casts): not rows of the table.
PLUMBING = {"Identity", "Constant", "Cast", "Sub", "Div", "Mul", "Unsqueeze", "Squeeze", "Shape", "Gather"}
# Which inputs of an operator are learnable parameters in the PyTorch module it came from.
PARAMETER_INPUTS = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "BatchNormalization": (1, 2),
    "InstanceNormalization": (1, 2), "LayerNormalization": (1, 2), "PRelu": (1,),
}  # fmt: skip
JOINS = {"Add", "Concat", "Sum"}  # operators where branches meet


def _dims(value_info: onnx.ValueInfoProto) -> tuple[int | str, ...]:
    shape = value_info.type.tensor_type.shape
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in shape.dim)


def _per_sample(dims: tuple[int | str, ...]) -> tuple[int, ...]:
    rest = dims[1:]
    return tuple(rest) if all(isinstance(d, int) and d > 0 for d in rest) else ()


def _load_external_data(model: onnx.ModelProto, folder: Path) -> None:
    """Weights kept beside the model (the dynamo exporter writes ``model.onnx.data``): only plain file names in
    ``folder``, the sandbox's own, are read; a location with a path in it is refused."""
    from onnx import external_data_helper

    wanted = set()
    for tensor in external_data_helper._get_all_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            if not location or Path(location).name != location or location.startswith("."):
                raise GraphRefused(f"the model keeps weights at {location[:80]!r}: only a file beside it is read.")
            wanted.add(location)
    missing = sorted(name for name in wanted if not (folder / name).is_file())
    if missing:
        raise GraphRefused(
            f"the model's weights are in a separate file, {missing[0]}: give it too, or export with "
            "torch.onnx.export(..., external_data=False) to keep everything in one file."
        )
    if wanted:
        external_data_helper.load_external_data_for_model(model, str(folder))


def load_model(data: bytes, folder: Path | None = None) -> onnx.ModelProto:
    """The checked ONNX model in ``data``, its external weights (if any) read from ``folder``.

    Raises:
        GraphRefused: not a valid ONNX model, or its weights are missing or elsewhere.
    """
    try:
        model = onnx.load_from_string(data)
    except Exception as error:
        raise GraphRefused(f"this is not an ONNX model ({str(error).strip()[:200] or type(error).__name__}).") from None
    if folder is not None:
        _load_external_data(model, folder)
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # the checker raises many kinds: each is a refusal
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GraphRefused(f"this is not a valid ONNX model ({first[:200]}).") from None
    return model


def describe(model: onnx.ModelProto, max_nodes: int) -> GraphTable:
    """The per-layer table of a loaded model.

    Raises:
        GraphRefused: more than ``max_nodes`` operators, or not one image input.
    """
    graph = model.graph
    if len(graph.node) > max_nodes:
        raise GraphRefused(f"the model has {len(graph.node):,} operators; cnnviz reads at most {max_nodes:,}.")
    initializers = {t.name: t for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise GraphRefused(f"the model needs {len(inputs)} inputs; cnnviz gives it one image.")
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False).graph
    except Exception:  # shapes are a courtesy: the table still lists the layers without them
        inferred = graph
    shapes = {v.name: _dims(v) for v in [*inferred.value_info, *inferred.output, *inferred.input]}

    # Identity and Constant nodes pass weights along under new names (the TorchScript exporter's habit).
    aliases = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity" and n.input}

    def source(name: str) -> str:
        seen = 0
        while name in aliases and seen < 100:
            name, seen = aliases[name], seen + 1
        return name

    # Each use of a weight counts: exporters merge tensors that happen to be equal (an untrained BatchNorm's ones
    # and zeros in every block) into one, where PyTorch has a parameter per layer.
    layers = []
    for index, node in enumerate(graph.node):
        if node.op_type in PLUMBING:
            continue
        out = shapes.get(node.output[0], ()) if node.output else ()
        parameters = 0
        for position in PARAMETER_INPUTS.get(node.op_type, ()):
            if position < len(node.input) and (name := source(node.input[position])) in initializers:
                parameters += math.prod(initializers[name].dims)
        weight = initializers.get(source(node.input[1])) if len(node.input) > 1 else None
        macs = 0
        per_sample = _per_sample(out)
        if weight is not None and per_sample and node.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            kernel = numpy_helper.to_array(weight).shape
            if node.op_type == "Conv":
                macs = math.prod(per_sample) * math.prod(kernel[1:])  # each output: C_in / groups x kernel
            elif node.op_type == "ConvTranspose":
                macs = math.prod(_per_sample(shapes.get(node.input[0], ()))) * math.prod(kernel[1:])
            else:
                macs = math.prod(kernel)
        spatial = max(len(per_sample) - 1, 1)
        kind = MODULE_NAMES.get(node.op_type, node.op_type).format(d=spatial)
        joins = len(node.input) if node.op_type in JOINS else 0
        layers.append(GraphLayer(node.name or f"{node.op_type}_{index}", kind, node.op_type, per_sample,
                                 parameters, macs, joins))  # fmt: skip
    notes = ["Dropout does not appear: exporters leave it out of a model in evaluation mode."]
    if not any(layer.operator == "BatchNormalization" for layer in layers):
        notes.append("No BatchNorm in the graph: if your model had one, the exporter folded it into the "
                     "convolution before it, and its scale and shift (2 per channel) are not counted.")  # fmt: skip
    total = sum(layer.parameters for layer in layers)
    return GraphTable(inputs[0].name, _dims(inputs[0]), tuple(layers), total, tuple(notes))
