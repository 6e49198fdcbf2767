"""The layer explorer's computation: settings <-> URL, the layer's arithmetic shown in full, feature maps.

One :class:`ExplorerSettings` holds everything a view depends on; it travels
in the URL as short query parameters (only those that differ from the
defaults). :func:`analyze` turns it into what the page shows: shapes, the
formula with the numbers filled in, parameters, receptive field, leftover rows
and the PyTorch line, all through :mod:`cnnviz.layers.arithmetic` and
:mod:`cnnviz.layers`. :func:`feature_maps` runs the real layer on an image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from cnnviz import layers
from cnnviz.device import one_thread
from cnnviz.explorer import kernels
from cnnviz.explorer import settings as explorer_settings
from cnnviz.explorer.settings import Setting
from cnnviz.layers import LayerSpec, receptive_field
from cnnviz.layers.arithmetic import InvalidLayerConfig, ParameterCount
from cnnviz.layers.code_export import to_module
from cnnviz.layers.registry import IMAGE, KINDS, SIDES, TRANSPOSED, kind_named, kind_of, stride_of

# The registry's image kinds with a formula to show (the 1-D ones have their own explorer, cnnviz.explorer.layer1d).
EXPLORER_LAYERS = tuple(name for name, kind in KINDS.items() if kind.input_dims == IMAGE and kind.explored)
MAX_INPUT = 256  # largest input height / width the controls offer
MAX_CHANNELS = 512  # largest channel count the controls offer
MAX_BATCH = 1024
# The feature-map view runs the real layer; these caps keep every setting under a second.
MAP_MAX_KERNEL = 15  # largest kernel height / width the feature-map view runs
MAP_MAX_OUTPUT_PIXELS = 1040 * 1040  # largest output height x width it computes
MAP_MAX_SHOWN = 32  # output channels drawn at most
MAP_MAX_VALUES = 2**21  # output values computed at most: large outputs draw fewer channels
KERNEL_MODES = ("preset", "all presets", "random", "edit")


@dataclass(frozen=True)
class ExplorerSettings:
    """Everything one explorer view depends on (and that a link can carry)."""

    layer: str = EXPLORER_LAYERS[0]  # one of EXPLORER_LAYERS (Conv2d)
    batch: int = 1  # N: images per batch (changes only the shape's first number)
    in_channels: int = 1  # C_in (follows the image when feature maps are on)
    height: int = 28  # H_in
    width: int = 28  # W_in
    out_channels: int = 8  # C_out of a convolution
    groups: int = 1  # convolution groups
    kernel: tuple[int, int] = (3, 3)  # kernel_size (h, w)
    stride: tuple[int, int] = (1, 1)  # stride (h, w); a pool's default equals the kernel
    padding: tuple[int, ...] | str = (0, 0)  # zeros per side (h, w), "same" / "valid" (Conv2d), or four sides
    # (left, right, top, bottom) for a layer whose padding option takes them
    dilation: tuple[int, int] = (1, 1)  # gap between kernel taps (h, w)
    output_padding: tuple[int, int] = (0, 0)  # ConvTranspose2d: extra output rows/columns
    output_size: tuple[int, int] = (3, 3)  # adaptive pools: the output (h, w)
    upscale_factor: int = 2  # pixel shuffles: r
    scale_factor: float = 2.0  # Upsample
    mode: str = "nearest"  # Upsample: nearest or bilinear
    ceil_mode: bool = False  # pools: round up
    bias: bool = True  # convolutions: one offset per output channel
    maps: bool = True  # show feature maps on an image
    sample: str = "colour_scene"  # shipped sample image (uploads cannot travel in a link)
    kernel_mode: str = "all presets"  # one of KERNEL_MODES
    preset: str = kernels.SOBEL_X  # kernel preset when kernel_mode == "preset"
    seed: int = 0  # random initialisation seed
    relu: bool = False  # apply ReLU after the layer
    pool: bool = False  # apply 2x2 max pooling after the layer (and the ReLU)
    present: bool = False  # presentation mode: no controls, large text

    def spec(self) -> LayerSpec:
        """The layer as a :class:`LayerSpec` (for shapes, parameters and code): the options its kind has."""
        kind = KINDS.get(self.layer)
        values = {s.spec_field: getattr(self, s.field) for s in SETTINGS
                  if s.spec_field and (kind is None or kind.sets(s.spec_field))}  # fmt: skip
        return LayerSpec(self.layer, **values)  # type: ignore[arg-type]

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)


# --- every setting, declared once ---------------------------------------------------------


def _having(key: str) -> tuple[str, ...]:
    """The explorer's layers that have this option in the registry (its control shows for them)."""
    return tuple(name for name in EXPLORER_LAYERS if KINDS[name].option(key) is not None)


def _declared(key: str) -> tuple[float | None, float | None]:
    """The range the registry declares for an option (the widest over the explorer's layers)."""
    options = [KINDS[name].option(key) for name in _having(key)]
    lows = [o.low for o in options if o.low is not None]
    highs = [o.high for o in options if o.high is not None]
    return (min(lows) if lows else None, max(highs) if highs else None)


_WEIGHTED = tuple(name for name in EXPLORER_LAYERS if KINDS[name].has_weights)  # kernels: presets, seeds, edits


def _setting(field: str, key: str, widget: str, widget_key: str, help_text: str, low: float | None = None,
             high: float | None = None, **more: object) -> Setting:  # fmt: skip
    """A setting of the 2-D explorer (shown for every layer unless ``layers`` says otherwise)."""
    return Setting(field, key, widget, help_text, low, high, widget_key=widget_key,
                   **{"layers": EXPLORER_LAYERS, **more})  # type: ignore[arg-type]  # fmt: skip


def _option(field: str, key: str, widget: str, widget_key: str, help_text: str, option: str, spec_field: str,
            high: float | None = None, **more: object) -> Setting:  # fmt: skip
    """A setting of the layer itself: shown for the layers that have the registry option, in the range the
    registry declares (``high`` caps it where the explorer offers less; 1 .. ``high`` while no layer has it)."""
    low, declared = _declared(option)
    highs = [h for h in (declared, high) if h is not None]
    return Setting(field, key, widget, help_text, 1 if low is None else low, min(highs) if highs else None,
                   layers=_having(option), widget_key=widget_key, spec_field=spec_field, label=spec_field,
                   option=option, **more)  # type: ignore[arg-type]  # fmt: skip


SETTINGS = (
    _setting("layer", "layer", "select", "ex_layer", "Conv2d slides learned kernels over the input; pooling "
            "summarises each window; ConvTranspose2d and Upsample make the image larger.", choices=EXPLORER_LAYERS),
    _setting("batch", "n", "number", "ex_batch", "Images processed together: only the first number of the shape "
            "changes.", 1, MAX_BATCH),
    _setting("in_channels", "c", "number", "ex_c", "Numbers per input pixel (1 for grayscale, 3 for RGB); a kernel "
            "sums over all of them.", 1, MAX_CHANNELS),
    _setting("height", "h", "number", "ex_h", "Rows of the input image; the output height follows from it through "
            "the formula.", 1, MAX_INPUT),
    _setting("width", "w", "number", "ex_w", "Columns of the input image; the output width follows from it through "
            "the formula.", 1, MAX_INPUT),
    # The layer's own options, in the order the sidebar shows them (ranges from the registry).
    _option("out_channels", "out", "number", "ex_out", "One kernel per output channel: more kernels, more feature "
            "maps, more weights.", "out", "out_channels", high=MAX_CHANNELS),
    _option("groups", "g", "divisor", "ex_groups", "Split the channels into groups that do not see each other; "
            "fewer weights per kernel.", "groups", "groups", high=MAX_CHANNELS),
    _option("kernel", "k", "pair", "ex_k", "Size of the window one output pixel looks at.", "kernel", "kernel_size",
            high=MAX_INPUT),
    _option("stride", "s", "pair", "ex_s", "Step size of the window: stride 2 roughly halves the output.", "stride",
            "stride", high=MAX_INPUT),
    _option("padding", "p", "padding", "ex_p", "Rows and columns of zeros added on each side: more padding, larger "
            "output.", "padding", "padding", high=MAX_INPUT, mode_key="ex_pad_mode"),
    _option("dilation", "d", "pair", "ex_d", "Gaps between the kernel's taps: a wider view with the same number of "
            "weights.", "dilation", "dilation", high=MAX_INPUT),
    _option("output_padding", "op", "pair", "ex_op", "Extra rows/columns on one side of a transposed convolution's "
            "output, to hit an exact size.", "output_padding", "output_padding", high=MAX_INPUT),
    _option("output_size", "os", "pair", "ex_os", "The output's height and width, whatever the input: the windows "
            "grow or shrink to fit.", "output_size", "output_size", high=MAX_INPUT),
    _option("upscale_factor", "r", "number", "ex_r", "Each pixel's r x r channels become an r x r block of one "
            "channel: r times larger, r^2 times fewer channels.", "upscale", "upscale_factor", high=8),
    _option("scale_factor", "scale", "float", "ex_scale", "How many times larger the output is: output = floor(input "
            "x scale).", "scale", "scale_factor"),
    _option("mode", "mode", "select", "ex_mode", "nearest copies the closest input pixel; bilinear blends the four "
            "around it.", "mode", "mode", choices=layers.UPSAMPLE_MODES),
    _option("ceil_mode", "ceil", "toggle", "ex_ceil", "Round the output size up instead of down, so a last partial "
            "window still counts.", "ceil_mode", "ceil_mode"),
    _option("bias", "bias", "toggle", "ex_bias", "One learnable number added to each output channel.", "no_bias",
            "bias"),
    _setting("maps", "maps", "toggle", "ex_maps", "Run the layer on a real image and show every output channel as a "
            "picture."),
    _setting("sample", "img", "text", "ex_sample", "Images shipped with cnnviz: MNIST digits and a colour scene."),
    _setting("kernel_mode", "kern", "select", "ex_kernel_mode", "Which weights the convolution uses: a classic "
            "kernel, one per channel, PyTorch's random initialisation, or numbers you type.", choices=KERNEL_MODES,
            layers=_WEIGHTED),
    _setting("preset", "preset", "select", "ex_preset", "Classic image-processing kernels: blur, sharpen, edge "
            "detectors.", choices=kernels.PRESETS, layers=_WEIGHTED),
    _setting("seed", "seed", "number", "ex_seed", "The random initialisation is reproducible: the same seed gives "
            "the same weights.", 0, 2**31 - 1, layers=_WEIGHTED),
    _setting("relu", "relu", "toggle", "ex_relu", "Set negative values to zero after the layer, as a CNN does."),
    _setting("pool", "pool", "toggle", "ex_pool", "Halve height and width after the layer with 2 x 2 max pooling."),
    _setting("present", "present", "none", "", "Presentation mode: no controls, large text."),
)  # fmt: skip
SETTING_BY_FIELD = {s.field: s for s in SETTINGS}
QUERY_KEYS = {s.field: s.key for s in SETTINGS}  # field -> short query key
assert set(SETTING_BY_FIELD) == {f.name for f in fields(ExplorerSettings)}  # every setting declared, once


def to_query(settings: ExplorerSettings) -> dict[str, str]:
    """The settings as short query parameters, leaving out those at their default."""
    return explorer_settings.to_query(settings, SETTINGS)


def from_query(query: dict[str, str | list[str]]) -> tuple[ExplorerSettings, list[str]]:
    """Settings from query parameters; unreadable ones keep their default and are reported.

    Returns:
        the settings, and one message per parameter that was ignored.
    """
    return explorer_settings.from_query(query, ExplorerSettings(), SETTINGS, clamp)


def setting_range(setting: Setting, layer: str) -> tuple[float | None, float | None]:
    """The range a control offers for ``layer``: its registry option's (capped where the explorer offers less)."""
    option = KINDS[layer].option(setting.option) if setting.option and layer in setting.layers else None
    if option is None or option.low is None:
        return setting.low, setting.high
    return option.low, setting.high if option.high is None else min(option.high, setting.high)  # type: ignore[type-var]


def clamp(settings: ExplorerSettings) -> tuple[ExplorerSettings, list[str]]:
    """Bring every setting into its layer's range or its choices; say what moved.

    Impossible *combinations* stay as they are: :func:`analyze` explains them.
    """
    return explorer_settings.clamp(settings, SETTINGS, lambda setting: setting_range(setting, settings.layer))


# --- the page's widgets, from the same declaration ----------------------------------------------


_SIDES = ("_l", "_r", "_t", "_b")  # four sides' widget keys, in PyTorch's order (left, right, top, bottom)


def padding_takes(layer: str) -> str:
    """How the layer's padding control reads: "sides", "words" (a number pair or same / valid) or "pair"."""
    option = KINDS[layer].option("padding") if layer in KINDS else None
    if option is not None and option.value == SIDES:
        return "sides"
    return "words" if option is not None and option.choices else "pair"


def widget_values(settings: ExplorerSettings) -> dict[str, object]:
    """Every widget's value for ``settings``, by session-state key (pairs as ``_h`` / ``_w``, padding's mode
    and its four sides)."""
    values: dict[str, object] = {}
    for setting in SETTINGS:
        value = getattr(settings, setting.field)
        if setting.widget == "pair":
            values[f"{setting.widget_key}_h"], values[f"{setting.widget_key}_w"] = value
        elif setting.widget == "padding":
            values[setting.mode_key] = value if isinstance(value, str) else "number"
            sides = (0, 0, 0, 0) if isinstance(value, str) else layers.arithmetic.sides(value)
            values.update({f"{setting.widget_key}{suffix}": side for suffix, side in zip(_SIDES, sides)})
            values[f"{setting.widget_key}_h"], values[f"{setting.widget_key}_w"] = sides[2], sides[0]
        elif setting.widget != "none":
            values[setting.widget_key] = value
    return values


def settings_from_widgets(state: Mapping[str, object], base: ExplorerSettings | None = None) -> ExplorerSettings:
    """The settings the widgets' session state holds; a widget not there (hidden, dropped) keeps ``base``'s value.

    The reverse of :func:`widget_values`.
    """
    base = base or ExplorerSettings()
    values: dict[str, object] = {}
    layer = str(state.get(SETTING_BY_FIELD["layer"].widget_key, base.layer))
    for setting in SETTINGS:
        key = setting.widget_key
        if setting.widget == "pair" and f"{key}_h" in state and f"{key}_w" in state:
            values[setting.field] = (int(state[f"{key}_h"]), int(state[f"{key}_w"]))  # type: ignore[call-overload]
        elif setting.widget == "padding":
            # Only a layer whose padding takes words offers "same" and "valid"; for the others the mode's radio
            # is hidden (and Streamlit forgets a hidden widget's value): their padding is always numbers.
            takes = padding_takes(layer)
            mode = state.get(setting.mode_key, "number") if takes == "words" else "number"
            if mode in ("same", "valid"):
                values[setting.field] = mode
            elif takes == "sides" and all(f"{key}{suffix}" in state for suffix in _SIDES):
                left, right, top, bottom = (int(state[f"{key}{suffix}"]) for suffix in _SIDES)  # type: ignore[call-overload]
                # even sides are a pair (h, w), as a link writes them
                values[setting.field] = (top, left) if (left, top) == (right, bottom) else (left, right, top, bottom)
            elif takes != "sides" and f"{key}_h" in state and f"{key}_w" in state:
                values[setting.field] = (int(state[f"{key}_h"]), int(state[f"{key}_w"]))  # type: ignore[call-overload]
        elif setting.widget not in ("pair", "padding", "none") and key in state:
            value = state[key]
            kind = type(getattr(base, setting.field))
            values[setting.field] = kind(value) if kind in (int, float, bool) else value
    return replace(base, **values)  # type: ignore[arg-type]


# --- the arithmetic, shown --------------------------------------------------------


@dataclass(frozen=True)
class LayerReport:
    """What the explorer shows about one layer."""

    input_shape: tuple[int, int, int, int]  # (N, C, H, W)
    output_shape: tuple[int, int, int, int]  # (N, C, H, W)
    formulas: tuple[str, str]  # the size formula with the numbers filled in, for H and for W
    general_formula: str  # the formula with names, per dimension
    parameters: ParameterCount  # weights and biases
    weight_shape: tuple[int, ...] | None  # shape of the weight tensor, if the layer has one
    receptive_field: tuple[int, int] | None  # input pixels one output pixel sees; None if it upsamples
    leftover: tuple[int, int] | None  # padded-input rows / columns no window reaches (None: not a sliding window)
    padding: tuple[tuple[int, int], tuple[int, int]]  # resolved ((top, bottom), (left, right))
    pytorch: str  # the copyable constructor call
    notes: tuple[str, ...] = ()  # remarks, e.g. a window dropped by ceil_mode
    channel_formula: str | None = None  # C_out with the numbers, when a rule of the layer (not out_channels) sets it


def analyze(settings: ExplorerSettings) -> LayerReport:
    """Shapes, formula, parameters, receptive field, leftover and PyTorch line of the explored layer.

    Everything comes from the layer's registry entry (its formula is built from the arithmetic's terms).

    Raises:
        InvalidLayerConfig: when PyTorch would refuse the layer (the message
            names the failing constraint and the fix), or the explorer does not show that kind.
    """
    spec = settings.spec()
    kind = kind_of(spec)
    if kind.name not in EXPLORER_LAYERS:
        raise InvalidLayerConfig(f"The layer explorer shows {', '.join(EXPLORER_LAYERS)}, not {kind.name}.",
                                 f"choose one of {', '.join(EXPLORER_LAYERS)}.")  # fmt: skip
    n, c, h, w = settings.input_shape
    shape = (c, h, w)
    out_c, out_h, out_w = kind.output_shape(spec, shape)
    formula = kind.formula(spec, shape)  # type: ignore[misc]
    window = kind.window(spec, shape)
    field = None if window is None else receptive_field.receptive_fields([window])[-1].size
    return LayerReport(
        input_shape=(n, c, h, w),
        output_shape=(n, out_c, out_h, out_w),
        formulas=(f"H_out = {formula.dims[0]}", f"W_out = {formula.dims[1]}"),
        general_formula=formula.general,
        parameters=kind.parameters(spec, shape),
        weight_shape=None if kind.weight_shape is None else kind.weight_shape(spec, shape),
        receptive_field=field,
        leftover=formula.leftover,  # type: ignore[arg-type]
        padding=formula.padding,  # type: ignore[arg-type]
        pytorch=layers.pytorch_line(spec, shape),
        notes=formula.notes,
        channel_formula=formula.channels,
    )


def settings_for(spec: LayerSpec, shape: tuple[int, int, int], **more: object) -> ExplorerSettings:
    """The explorer set to ``spec`` on per-sample input ``shape`` (``more``: other settings, e.g. ``maps``).

    The reverse of :meth:`ExplorerSettings.spec`; a pool's stride is written out.
    """
    c, h, w = shape
    kind = kind_of(spec)
    values = {s.field: getattr(spec, s.spec_field) for s in SETTINGS if s.spec_field and kind.sets(s.spec_field)}
    if kind.sets("stride"):
        values["stride"] = stride_of(spec)
    return ExplorerSettings(layer=spec.kind, in_channels=c, height=h, width=w, **{**values, **more})  # type: ignore[arg-type]


# --- feature maps ---------------------------------------------------------------


@dataclass(frozen=True)
class FeatureMaps:
    """The layer run on one image."""

    maps: np.ndarray  # (C_shown, H, W) float32: the first MAP_MAX_SHOWN output channels
    titles: list[str]  # one per map
    total_channels: int  # output channels the layer made (maps may show fewer)
    kernel: np.ndarray | None  # (kh, kw) 2-D kernel used for every channel (None for random, pools, upsample)
    description: str  # what was computed, in one line


class MapsUnavailable(ValueError):
    """Feature maps cannot be computed for these settings (too large); the message says why."""


def check_map_limits(settings: ExplorerSettings, report: LayerReport) -> None:
    """Refuse settings whose feature maps would take too long, saying which cap applies."""
    kh, kw = settings.kernel
    if kind_named(settings.layer).sets("kernel_size") and max(kh, kw) > MAP_MAX_KERNEL:
        raise MapsUnavailable(
            f"Feature maps are drawn for kernels up to {MAP_MAX_KERNEL} x {MAP_MAX_KERNEL} (this one is "
            f"{kh} x {kw}) to keep the page fast; the shapes above are exact for any size."
        )
    _, _, oh, ow = report.output_shape
    if oh * ow > MAP_MAX_OUTPUT_PIXELS:
        raise MapsUnavailable(
            f"Feature maps are drawn for outputs up to {MAP_MAX_OUTPUT_PIXELS:,} pixels per channel (this one is "
            f"{oh} x {ow}); lower the input size or the stride."
        )


def conv_weight(per_output: torch.Tensor, in_channels: int, groups: int, transposed: bool) -> torch.Tensor:
    """The weight tensor applying 2-D kernel ``per_output[o]`` to the mean of output ``o``'s input channels.

    Args:
        per_output: ``(out, kh, kw)``, one kernel per output channel.
        in_channels: C_in.
        groups: output ``o`` reads the ``C_in / groups`` inputs of its group.
        transposed: ConvTranspose2d layout ``(in, out / groups, kh, kw)`` instead
            of Conv2d's ``(out, in / groups, kh, kw)``.
    """
    out = per_output.shape[0]
    per_group_in, per_group_out = in_channels // groups, out // groups
    scaled = per_output / per_group_in  # a mean, not a sum, over the inputs
    if not transposed:
        return scaled[:, None].expand(out, per_group_in, *per_output.shape[1:]).contiguous()
    # input i belongs to group i // per_group_in and feeds that group's outputs
    rows = [
        scaled[(i // per_group_in) * per_group_out : (i // per_group_in + 1) * per_group_out]
        for i in range(in_channels)
    ]
    return torch.stack(rows).contiguous()


def layer_weights(
    settings: ExplorerSettings, kernel_grid: np.ndarray | None = None
) -> tuple[torch.Tensor, torch.Tensor | None, np.ndarray | None, str]:
    """``(weight, bias, kernel_2d, description)`` for the convolution the settings describe.

    Args:
        settings: a Conv2d or ConvTranspose2d.
        kernel_grid: the edited ``(kh, kw)`` values when ``kernel_mode == "edit"``.
    """
    transposed = _transposed(settings)
    c, out, g = settings.in_channels, settings.out_channels, settings.groups
    if settings.kernel_mode == "random":
        weight, bias = kernels.random_conv(c, out, settings.kernel, g, settings.seed, transposed)
        description = f"random weights (PyTorch's own initialisation, seed {settings.seed})"
        return (weight, bias if settings.bias else None, None, description)
    if settings.kernel_mode == "all presets":
        names = kernels.PRESETS
        per_output = torch.stack(
            [torch.from_numpy(kernels.preset_kernel(names[o % len(names)], settings.kernel)) for o in range(out)]
        )
        description = f"output channel o uses preset o mod {len(names)}; no bias"
        return (conv_weight(per_output, c, g, transposed), None, None, description)
    if settings.kernel_mode == "edit":
        if kernel_grid is None:
            raise MapsUnavailable("no kernel values were given.")
        kernel = np.asarray(kernel_grid, dtype=np.float32)
        description = "the kernel typed in the grid, on every channel; no bias"
    else:
        kernel = kernels.preset_kernel(settings.preset, settings.kernel)
        description = f"the {settings.preset} kernel on every channel; no bias"
    per_output = torch.from_numpy(kernel)[None].expand(out, *kernel.shape)
    return (conv_weight(per_output, c, g, transposed), None, kernel, description)


def first_channels(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, settings: ExplorerSettings, limit: int
) -> torch.Tensor:
    """The first ``limit`` output channels of the explored (transposed) convolution, computing only those.

    A 512-channel layer costs 16 times a 32-channel one; only 32 are drawn.
    Works group by group, so grouped layers give exactly PyTorch's channels.

    Args:
        x: ``(1, C_in, H, W)``.
        weight: the full weight (Conv2d or ConvTranspose2d layout).
        bias: ``(C_out,)`` or None.
        settings: the layer.
        limit: output channels to compute.
    """
    spec = settings.spec()
    groups = settings.groups
    per_in, per_out = settings.in_channels // groups, settings.out_channels // groups
    pieces = []
    for group in range(groups):
        low, high = group * per_out, min((group + 1) * per_out, limit)
        if low >= high:
            break
        inputs = x[:, group * per_in : (group + 1) * per_in]
        part_bias = None if bias is None else bias[low:high]
        if not _transposed(settings):
            pieces.append(F.conv2d(inputs, weight[low:high], part_bias, stride_of(spec), spec.padding,
                                   spec.dilation))  # fmt: skip
        else:
            local = weight[group * per_in : (group + 1) * per_in, low - group * per_out : high - group * per_out]
            pieces.append(F.conv_transpose2d(inputs, local, part_bias, stride_of(spec), spec.padding,
                                             spec.output_padding, 1, spec.dilation))  # fmt: skip
    return torch.cat(pieces, dim=1)


def group_means(
    x: torch.Tensor, weight: torch.Tensor, settings: ExplorerSettings
) -> tuple[torch.Tensor, torch.Tensor, ExplorerSettings]:
    """The same convolution on the mean of each group's channels, ``C_in / groups`` times cheaper.

    Only valid for weights from :func:`conv_weight` (every input channel of a
    group gets the same kernel divided by their number), which presets, "all
    presets" and typed kernels use.

    Returns:
        ``(1, groups, H, W)`` means, the matching one-input-per-group weight,
        and the settings with ``in_channels = groups``.
    """
    groups = settings.groups
    per_in = settings.in_channels // groups
    means = x.reshape(x.shape[0], groups, per_in, *x.shape[2:]).mean(dim=2)
    if not _transposed(settings):
        single = weight[:, :1] * per_in  # (out, 1, kh, kw)
    else:
        single = weight[::per_in] * per_in  # (groups, out / groups, kh, kw)
    return means, single, replace(settings, in_channels=groups)


def feature_maps(
    image: torch.Tensor, settings: ExplorerSettings, report: LayerReport, kernel_grid: np.ndarray | None = None
) -> FeatureMaps:
    """Run the explored layer (then optional ReLU and 2x2 max pooling) on one image.

    Args:
        image: ``(C, H, W)`` float in [0, 1], already at the settings' size and channels.
        settings: the layer.
        report: :func:`analyze`'s result for the same settings (proves they are valid).
        kernel_grid: edited kernel values (kernel_mode "edit").

    Raises:
        MapsUnavailable: when a cap applies, or the kernel preset does not fit.
    """
    check_map_limits(settings, report)
    with one_thread():
        return _feature_maps(image, settings, report, kernel_grid)


def _feature_maps(
    image: torch.Tensor, settings: ExplorerSettings, report: LayerReport, kernel_grid: np.ndarray | None
) -> FeatureMaps:
    x = image[None]  # (1, C, H, W)
    spec = settings.spec()
    kind = kind_of(spec)
    kernel = None
    try:
        if kind.has_weights:
            weight, bias, kernel, description = layer_weights(settings, kernel_grid)
            _, _, oh, ow = report.output_shape
            limit = max(1, min(MAP_MAX_SHOWN, MAP_MAX_VALUES // (oh * ow)))
            layer = settings
            if settings.kernel_mode != "random":
                x, weight, layer = group_means(x, weight, settings)
            y = first_channels(x, weight, bias, layer, limit)
        else:  # nothing to choose: the real layer itself
            with torch.no_grad():
                y = to_module(spec, tuple(image.shape))(x)
            description = f"{kind.summary[0].lower()}{kind.summary[1:].rstrip('.')}: the real {report.pytorch}"
    except kernels.KernelError as error:
        raise MapsUnavailable(str(error)) from None
    if tuple(y.shape[2:]) != report.output_shape[2:]:  # the arithmetic and PyTorch must agree
        raise AssertionError(f"PyTorch gave {tuple(y.shape)}, the arithmetic {report.output_shape}")
    if settings.relu:
        y = F.relu(y)
        description += ", then ReLU"
    if settings.pool:
        if min(y.shape[-2:]) < 2:
            raise MapsUnavailable("the 2 x 2 max pooling after the layer needs an output of at least 2 x 2.")
        y = F.max_pool2d(y, 2)
        description += ", then 2 x 2 max pooling"
    total = report.output_shape[1]
    shown = y[0, :MAP_MAX_SHOWN].numpy()
    titles = [_map_title(settings, report, o) for o in range(shown.shape[0])]
    return FeatureMaps(shown.astype(np.float32, copy=False), titles, total, kernel, description)


def _map_title(settings: ExplorerSettings, report: LayerReport, channel: int) -> str:
    has_weights = kind_named(settings.layer).has_weights
    if has_weights and settings.kernel_mode == "all presets":
        return f"{channel}: {kernels.PRESETS[channel % len(kernels.PRESETS)].split(' (')[0]}"
    if not has_weights and report.input_shape[1] == report.output_shape[1] == 3:  # each colour on its own
        return f"{channel}: {('red', 'green', 'blue')[channel]}"
    return f"channel {channel}"


def _transposed(settings: ExplorerSettings) -> bool:
    """A transposed convolution: its weight layout is (in, out / groups, kh, kw)."""
    return kind_named(settings.layer).geometry == TRANSPOSED
