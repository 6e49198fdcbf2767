"""What a layer is: exact shape arithmetic, the registry of layer kinds, specs, stacks, the solver, code export.

Imports only torch and its own modules (``models.residual`` for the residual block's module): everything else in
cnnviz builds on it, nothing here knows a page, a run or a lesson. The names scripts use are importable from here::

    from cnnviz.layers import LayerSpec, evaluate_stack, export_code
    evaluate_stack([LayerSpec("Conv2d", out_channels=8, kernel_size=3)], (1, 28, 28)).output_shape  # (8, 26, 26)
"""

from cnnviz.layers.code_export import export_code, pytorch_line, spec_from_module, specs_from_model, to_module
from cnnviz.layers.registry import KINDS, LAYER_KINDS, kind_of, module_kind
from cnnviz.layers.spec import (
    AVG_POOL,
    AVG_POOL1D,
    BATCHNORM,
    BATCHNORM1D,
    CONV,
    CONV1D,
    CONV_T,
    CONV_T1D,
    DROPOUT,
    FLATTEN,
    LINEAR,
    MAX_POOL,
    MAX_POOL1D,
    RELU,
    RESIDUAL,
    SIGMOID,
    UPSAMPLE,
    UPSAMPLE_MODES,
    LayerSpec,
    Pair,
    Shape,
    format_bytes,
    parse_padding,
    parse_pair,
    show_pair,
    show_shape,
)
from cnnviz.layers.stack import FLOAT32_BYTES, LayerRow, StackReport, evaluate_stack, output_shape, parameters, window

__all__ = [
    "AVG_POOL", "AVG_POOL1D", "BATCHNORM", "BATCHNORM1D", "CONV", "CONV1D", "CONV_T", "CONV_T1D", "DROPOUT",
    "FLATTEN", "KINDS", "LAYER_KINDS", "LINEAR", "MAX_POOL", "MAX_POOL1D", "RELU", "RESIDUAL", "SIGMOID",
    "UPSAMPLE", "UPSAMPLE_MODES", "FLOAT32_BYTES", "LayerRow", "LayerSpec", "Pair", "Shape", "StackReport",
    "evaluate_stack", "export_code", "format_bytes", "kind_of", "module_kind", "output_shape", "parameters",
    "parse_pair", "parse_padding", "pytorch_line", "show_pair", "show_shape", "spec_from_module", "specs_from_model",
    "to_module", "window",
]  # fmt: skip
