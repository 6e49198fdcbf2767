"""The network builder's editable table: rows <-> specs, the results table, and size fixes from the solver.

Which cells a kind uses comes from its options in the registry
(:mod:`cnnviz.layers.registry`): a kind's option whose key is a column fills that
column, the others go in the ``extra`` cell (``p=0.3``, ``ceil_mode``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cnnviz.layers import size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.code_export import pytorch_line
from cnnviz.layers.receptive_field import axis_region, box
from cnnviz.layers.registry import (
    CHOICE,
    FLAG,
    FLOAT,
    INT,
    KINDS,
    LAYER_KINDS,
    NO_FLAG,
    PAIR,
    SIDES,
    LayerKind,
    Option,
    kind_named,
)  # fmt: skip
from cnnviz.layers.spec import LayerSpec, Shape, format_bytes, parse_padding, parse_pair, show_shape
from cnnviz.layers.stack import LayerRow, StackReport, evaluate_stack

TABLE_COLUMNS = ("layer", "out", "kernel", "stride", "padding", "dilation", "groups", "extra")
NUMBER_COLUMNS = ("out", "groups")
MAX_FIX_ANSWERS = 8  # solver answers the builder offers for a layer of the wrong size


def _pair_text(value: tuple[int, ...]) -> str:
    """``3``, ``3x5``, or four sides ``1,2,0,3`` (left, right, top, bottom) as the student types them."""
    if len(set(value)) == 1:
        return str(value[0])
    return f"{value[0]}x{value[1]}" if len(value) == 2 else ",".join(str(v) for v in value)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _extra_text(kind: LayerKind, spec: LayerSpec) -> str:
    """The extra cell: each option outside the columns that is set (or always shown), as the student types it."""
    words = []
    for option in kind.options:
        if option.key in TABLE_COLUMNS:
            continue
        value = getattr(spec, option.field)
        default = getattr(LayerSpec(spec.kind), option.field)
        if option.value == NO_FLAG:
            words += [] if value else [option.key]
        elif option.value == FLAG:
            words += [option.key] if value else []
        elif value != default or option.always_shown:
            text = (
                _pair_text(value) if isinstance(value, tuple) else f"{value:g}" if isinstance(value, float) else value
            )
            words.append(f"{option.key}={text}")
    return " ".join(words)


def spec_to_row(spec: LayerSpec) -> dict[str, object]:
    """One table row (plain strings and numbers, as st.data_editor wants them)."""
    kind = kind_named(spec.kind)
    keys = {option.key for option in kind.options}
    padding = spec.padding if isinstance(spec.padding, str) else _pair_text(spec.padding)
    return {
        "layer": spec.kind,
        "out": spec.out_channels if "out" in keys else None,
        "kernel": _pair_text(spec.kernel_size) if "kernel" in keys else "",
        "stride": _pair_text(spec.stride) if "stride" in keys and spec.stride is not None else "",
        "padding": padding if "padding" in keys else "",
        "dilation": _pair_text(spec.dilation) if "dilation" in keys else "",
        "groups": spec.groups if "groups" in keys else None,
        "extra": _extra_text(kind, spec),
    }


def row_to_spec(row: dict[str, object], number: int) -> LayerSpec:
    """Parse one table row (``number`` counts from 1, for messages).

    Raises:
        InvalidLayerConfig: naming the row and the cell that cannot be read.
    """
    name = str(row.get("layer") or "").strip()
    if name not in KINDS:
        raise InvalidLayerConfig(f"Row {number}: unknown layer {name!r}.", f"choose one of {', '.join(LAYER_KINDS)}.")
    kind = KINDS[name]
    values: dict[str, object] = {"kind": name}
    try:
        if not _blank(row.get("out")):
            values["out_channels"] = int(float(row["out"]))  # type: ignore[arg-type]
        elif kind.option("out") is not None:
            raise InvalidLayerConfig(f"{name} needs out (its output channels or features).", "fill in out.")
        for column, field in (("kernel", "kernel_size"), ("stride", "stride"), ("dilation", "dilation")):
            if not _blank(row.get(column)):
                values[field] = parse_pair(str(row[column]), column)
        if not _blank(row.get("padding")):
            values["padding"] = parse_padding(str(row["padding"]))
        if not _blank(row.get("groups")):
            values["groups"] = int(float(row["groups"]))  # type: ignore[arg-type]
        values.update(_parse_extra(kind, str(row.get("extra") or "")))
    except InvalidLayerConfig as error:
        raise InvalidLayerConfig(f"Row {number} ({name}): {error.constraint}", error.fix) from None
    except (TypeError, ValueError) as error:
        raise InvalidLayerConfig(f"Row {number} ({name}): a number cannot be read ({error}).") from None
    return LayerSpec(**values)  # type: ignore[arg-type]


def _extra_options(kind: LayerKind) -> list[Option]:
    return [option for option in kind.options if option.key not in TABLE_COLUMNS]


def _parse_value(option: Option, text: str) -> object:
    """One extra setting's value, read as its option is written (raises ValueError or InvalidLayerConfig)."""
    if option.value == INT:
        return int(text)
    if option.value == FLOAT:
        return float(text)
    if option.value == PAIR:
        return parse_pair(text, option.field)
    if option.value == SIDES:
        return parse_padding(text)
    if option.value == FLAG:
        return text.lower() not in ("false", "0")
    if option.value == NO_FLAG:
        return False
    return text.strip("'\"") if option.value == CHOICE else text


def _example(kind: LayerKind, option: Option) -> str:
    """How the extra cell writes an option, at the kind's default: ``p=0.5``, ``mode=nearest``, ``ceil_mode``."""
    if option.value in (FLAG, NO_FLAG):
        return option.key
    value = getattr(LayerSpec(kind.name), option.field)
    value = option.low if value is None else value
    text = _pair_text(value) if isinstance(value, tuple) else f"{value:g}" if isinstance(value, float) else value
    return f"{option.key}={text}"


def _parse_extra(kind: LayerKind, text: str) -> dict[str, object]:
    """The extra cell: the kind's options outside the columns, ``key=value`` (``p=0.3``, ``scale=2 mode=bilinear``,
    ``output_padding=1``, ``in=288``) or a flag alone (``ceil_mode``, ``no_bias``); the PyTorch name works too."""
    values: dict[str, object] = {}
    extras = _extra_options(kind)
    for token in text.replace(",", " ").split():
        key, _, value = token.partition("=")
        key = key.strip().lower()
        option = next((o for o in extras if key in (o.key, o.field)), None)
        if option is None:
            known = " ".join(_example(kind, o) for o in extras)
            raise InvalidLayerConfig(
                f"extra setting {token!r} is not known for {kind.name}.",
                f"{kind.name} takes {known}." if known else f"leave extra empty: {kind.name} has no extra settings.",
            )
        values[option.field] = _parse_value(option, value)
    return values


def complete_rows(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Rows with every table column present: text cells as strings ("" when blank), numbers or None."""
    complete = []
    for row in rows:
        filled: dict[str, object] = {}
        for column in TABLE_COLUMNS:
            value = row.get(column)
            if column in NUMBER_COLUMNS:
                filled[column] = None if _blank(value) else int(float(value))  # type: ignore[arg-type]
            else:
                filled[column] = "" if _blank(value) else str(value)
        complete.append(filled)
    return complete


def rows_to_specs(rows: Sequence[dict[str, object]]) -> list[LayerSpec]:
    """Parse the whole table, skipping rows without a layer (an empty new row)."""
    return [row_to_spec(row, i + 1) for i, row in enumerate(rows) if not _blank(row.get("layer"))]


def _field_columns(row, network_input: tuple[int, ...]) -> tuple[str, str]:
    """Effective stride and the input the first output cell reads (clipped to the network's input).

    ``"n/a"`` after a layer that upsamples and for flat outputs (every output sees everything).
    """
    field, out = row.field, row.output_shape
    if field is None or out is None or len(out) != len(row.input_shape):
        return "n/a", "n/a"
    if len(out) == 2:  # (C, L): both axes of the field are the length
        start, end = axis_region(field, 0, 0, network_input[-1]).clipped
        return str(field.jump[0]), f"positions {start}-{end}"
    (top, left), (bottom, right) = box(field, 0, 0, (network_input[1], network_input[2]))
    stride = str(field.jump[0]) if field.jump[0] == field.jump[1] else f"{field.jump[0]} x {field.jump[1]}"
    return stride, f"rows {top}-{bottom}, columns {left}-{right}"


def _field_text(row: LayerRow) -> str:
    """``"5 x 5"``; after windows of uneven size (an adaptive pool) the largest, and it says so."""
    if not row.receptive_field:
        return "n/a"
    text = " x ".join(str(r) for r in row.receptive_field)
    return text if row.field is None or row.field.exact else f"{text} (largest window)"


def report_table(report: StackReport) -> list[dict[str, str]]:
    """One display row per evaluated layer: the PyTorch line, shape, parameters, receptive field, memory.

    The receptive field reads ``"n/a"`` from the first layer that upsamples on;
    a layer that cannot work says so in ``status``. "effective stride" is the
    input pixels between neighbouring output cells, "first cell reads" the input
    region output cell 0 sees (Araujo, Norris and Sim, Distill 2019).
    """
    table = []
    for i, row in enumerate(report.rows, start=1):
        ok = row.error is None
        stride, first_cell = _field_columns(row, report.input_shape) if ok else ("—", "—")
        table.append(
            {
                "#": str(i),
                "layer": pytorch_line(row.spec, row.input_shape) if ok else row.spec.kind,
                "output shape": show_shape(row.output_shape) if ok else "—",
                "parameters": f"{row.parameters.total:,}" if ok else "—",
                "receptive field": _field_text(row) if ok else "—",
                "effective stride": stride,
                "first cell reads": first_cell,
                "activation memory": format_bytes(row.activation_bytes) if ok else "—",
                "status": "ok" if ok else "cannot work",
            }
        )  # fmt: skip
    return table


# --- a layer of the wrong size: the solver's answers ---------------------------------------------


@dataclass(frozen=True)
class SizeFix:
    """Ways to make one layer produce the size a later ``Linear`` needs."""

    layer_index: int  # 0-based position of the layer to change
    target: tuple[int, ...]  # the spatial size it should produce: (length,) or (h, w)
    reason: str  # why that size, in one sentence
    specs: tuple[LayerSpec, ...]  # the layer reconfigured, simplest first; each makes the whole stack work
    lines: tuple[str, ...]  # their PyTorch lines


def _targets(features: int, channels: int, current: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Spatial sizes whose cells times ``channels`` give ``features``; 2-D: closest to the current aspect first."""
    if features % channels:
        return []
    cells = features // channels
    if len(current) == 1:
        return [(cells,)]
    pairs = [(h, cells // h) for h in range(1, cells + 1) if cells % h == 0]
    aspect = current[0] / current[1]
    return sorted(pairs, key=lambda p: abs(math.log(p[0] / p[1] / aspect)))[:3]


def size_fixes(specs: Sequence[LayerSpec], input_shape: Shape, report: StackReport) -> SizeFix | None:
    """When a ``Linear`` fails because its ``in_features`` does not match, the solver's answers for the layer
    before the ``Flatten`` that sets the size (Conv, MaxPool or ConvTranspose, 1-D or 2-D).

    Only layers followed by shape-keeping ones up to the ``Flatten`` are changed; None when there is none.
    """
    bad = report.error_index
    if bad is None or bad < 1 or not kind_named(specs[bad].kind).sets("in_features") or specs[bad].in_features is None:
        return None
    flattened = report.rows[bad - 1]  # the layer before lays every value out in one row
    if flattened.output_shape is None or len(flattened.output_shape) != 1 or len(flattened.input_shape) == 1:
        return None
    index = bad - 2
    while index >= 0 and report.rows[index].input_shape == report.rows[index].output_shape:
        index -= 1  # ReLU, BatchNorm, Dropout, residual blocks keep the shape
    if index < 0 or kind_named(specs[index].kind).solver_family is None:
        return None
    row = report.rows[index]
    channels, current = row.output_shape[0], tuple(row.output_shape[1:])
    wanted = specs[bad].in_features
    found: list[LayerSpec] = []
    target: tuple[int, ...] = ()
    for target in _targets(wanted, channels, current):
        size = row.input_shape[1:]
        answers = size_solver.solve(specs[index].kind, size[0] if len(size) == 1 else tuple(size),
                                   target[0] if len(target) == 1 else target)  # fmt: skip
        for answer in answers:
            fixed = replace(specs[index], **answer.changes())  # type: ignore[arg-type]
            trial = evaluate_stack([*specs[:index], fixed, *specs[index + 1 :]], input_shape)
            if trial.error_index is None or trial.error_index > bad:
                found.append(fixed)
            if len(found) == MAX_FIX_ANSWERS:
                break
        if found:
            break
    if not found:
        return None
    reason = (f"Linear (row {bad + 1}) takes {wanted} features: {channels} channels x "
              f"{' x '.join(str(t) for t in target)} = {wanted}, so row {index + 1} should give "
              f"{' x '.join(str(t) for t in target)} instead of {' x '.join(str(c) for c in current)}.")  # fmt: skip
    lines = tuple(pytorch_line(s, row.input_shape) for s in found)
    return SizeFix(index, target, reason, tuple(found), lines)
