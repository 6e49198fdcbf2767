"""A layer as PyTorch source and as a real module, a whole stack as runnable code, and modules read back as specs.

Every constructor call is written from the registry (:mod:`cnnviz.layers.registry`);
:func:`to_module` evaluates that same line, so the code students copy is the
code the tests run.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.registry import kind_of, module_kind
from cnnviz.layers.spec import LayerSpec, Shape, show_shape
from cnnviz.layers.stack import evaluate_stack


def pytorch_line(spec: LayerSpec, shape: Shape, prefix: str = "nn.") -> str:
    """The constructor call, e.g. ``nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)``.

    Args:
        spec: the layer.
        shape: per-sample input shape (gives in_channels / in_features).
        prefix: module prefix for torch layers (the residual block has none).
    """
    kind = kind_of(spec)
    positional, keywords = kind.arguments(spec, tuple(shape))
    args = ", ".join(positional + [f"{k}={v}" for k, v in keywords.items()])
    return f"{prefix if kind.code_prefix else ''}{spec.kind}({args})"


def to_module(spec: LayerSpec, shape: Shape) -> nn.Module:
    """The real PyTorch layer for ``spec`` on per-sample input ``shape``."""
    from models.residual import ResidualBlock

    namespace = {"nn": nn, "ResidualBlock": ResidualBlock}
    # The arguments are numbers, pairs, booleans and quoted words that this module wrote itself.
    return eval(pytorch_line(spec, shape), {"__builtins__": {}}, namespace)  # noqa: S307


_AXES = {1: ("F",), 2: ("C", "L"), 3: ("C", "H", "W")}


def export_code(specs: Sequence[LayerSpec], input_shape: Shape, batch: int = 1) -> str:
    """The stack as self-contained, runnable PyTorch code (needs only ``torch``).

    Running the file builds ``model`` and prints each layer's output shape for
    a batch of the given input shape.

    Raises:
        InvalidLayerConfig: if a layer cannot work (export only working stacks).
    """
    report = evaluate_stack(specs, input_shape)
    if report.error_index is not None:
        bad = report.rows[report.error_index]
        raise InvalidLayerConfig(
            f"Layer {report.error_index + 1} ({bad.spec.kind}) cannot work: {bad.error.constraint}",
            bad.error.fix,
        )
    lines = ['"""A CNN built in cnnviz\'s network builder. Needs only PyTorch: python this_file.py"""', ""]
    lines += ["import torch", "from torch import nn"]
    for source in dict.fromkeys(kind_of(s).code_source for s in specs if kind_of(s).code_source):
        lines.append(source.rstrip("\n"))
    lines += ["", "", "model = nn.Sequential("]
    for row in report.rows:
        lines.append(f"    {pytorch_line(row.spec, row.input_shape)},  # -> {show_shape(row.output_shape)}")
    lines.append(")")
    shape = ", ".join(str(s) for s in (batch, *input_shape))
    lines += [
        "",
        'if __name__ == "__main__":',
        f"    x = torch.zeros({shape})  # (N, {', '.join(_AXES[len(input_shape)])})",
        "    for layer in model:",
        "        x = layer(x)",
        '        print(f"{type(layer).__name__:>16} -> {tuple(x.shape)}")',
        '    print(f"{sum(p.numel() for p in model.parameters()):,} parameters")',
        "",
    ]
    return "\n".join(lines)


def spec_from_module(module: nn.Module) -> LayerSpec | None:
    """The spec of a PyTorch layer, or None for one that has no place in a stack (e.g. Normalize)."""
    kind = module_kind(module)
    return None if kind is None else kind.from_module(module)


def specs_from_model(model: nn.Module) -> list[LayerSpec]:
    """The layers of one of the project's models (or any stack of known layers), in forward order.

    Descends into containers; a residual block stays one layer. Layers with
    no place in a stack (the input normalisation) are skipped.
    """
    from models.residual import ResidualBlock

    specs: list[LayerSpec] = []

    def walk(module: nn.Module) -> None:
        spec = spec_from_module(module)
        if spec is not None:
            specs.append(spec)
        elif not isinstance(module, ResidualBlock):
            for child in module.children():
                walk(child)

    walk(model)
    return specs
