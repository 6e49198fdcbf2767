"""What both explorers' settings share: one :class:`Setting` declaration per field, and the URL codec and the
clamping derived from it.

Each explorer (:mod:`~cnnviz.explorer.layer2d`, :mod:`~cnnviz.explorer.layer1d`) declares its settings as a
tuple of :class:`Setting` for a frozen dataclass of values; :func:`to_query`, :func:`from_query` and
:func:`clamp` then work for either.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TypeVar

from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.spec import parse_padding, parse_pair

Values = TypeVar("Values")  # an explorer's frozen settings dataclass


@dataclass(frozen=True)
class Setting:
    """One explorer setting, declared once: its link, its range and its widget follow.

    Widgets: ``select`` (one of ``choices``), ``number`` (int), ``float``, ``toggle``, ``text`` (``high``: its
    longest), ``pair`` (two ints), ``padding`` (a pair, "same" / "valid", or four sides), ``divisor`` (an int
    dividing both channel counts) or ``none`` (a link only).
    """

    field: str  # the settings dataclass field
    key: str  # its URL query key
    widget: str  # the kind of control (see above)
    help: str  # one sentence for the student: what it does to the output
    low: float | None = None  # smallest value offered (numbers, pairs; text: shortest)
    high: float | None = None  # largest value offered (text: longest)
    choices: tuple[str, ...] = ()  # for "select"
    layers: tuple[str, ...] = ()  # the layers whose controls show it
    label: str = ""  # the widget's label ("": the field's name)
    widget_key: str = ""  # its session-state key (the prefix, for pairs and padding)
    mode_key: str = ""  # padding: the session-state key of its number / same / valid choice
    spec_field: str = ""  # the LayerSpec field it sets ("": the explorer's own, not the layer's)
    option: str = ""  # the registry option it shows (its key): each layer's range is that option's
    sources: tuple[str, ...] = ()  # 1-D: the inputs it applies to

    @property
    def name(self) -> str:
        """How messages name it."""
        return self.label or self.spec_field or self.field


def encode(value: object) -> str:
    """A value as a link writes it: ``1`` / ``0``, ``3`` or ``3x5`` (or four sides), ``2.5``."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return str(value[0]) if len(set(value)) == 1 else "x".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def decode(setting: Setting, text: str) -> object:
    """One query value, read as its setting holds it (raises ValueError or InvalidLayerConfig)."""
    if setting.widget in ("toggle", "none"):
        if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError(text)
        return text.lower() in ("1", "true", "yes")
    if setting.widget == "padding":
        return parse_padding(text)
    if setting.widget == "pair":
        return parse_pair(text, setting.key)
    if setting.widget in ("number", "divisor"):
        return int(text)
    if setting.widget == "float":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value
    return text


def to_query(settings: object, declared: Sequence[Setting]) -> dict[str, str]:
    """The settings as short query parameters, leaving out those at their default."""
    defaults = asdict(type(settings)())  # type: ignore[call-arg]
    keys = {s.field: s.key for s in declared}
    return {keys[k]: encode(v) for k, v in asdict(settings).items() if v != defaults[k]}  # type: ignore[call-overload]


def from_query(
    query: Mapping[str, str | list[str]], defaults: Values, declared: Sequence[Setting],
    clamp: Callable[[Values], tuple[Values, list[str]]],
) -> tuple[Values, list[str]]:  # fmt: skip
    """Settings from query parameters; unreadable ones keep their default and are reported, then ``clamp``.

    Returns:
        the settings, and one message per parameter that was ignored or moved into range.
    """
    values: dict[str, object] = {}
    problems: list[str] = []
    for setting in declared:
        if setting.key not in query:
            continue
        raw = query[setting.key]
        text = str(raw[-1] if isinstance(raw, list) else raw).strip()
        try:
            values[setting.field] = decode(setting, text)
        except (ValueError, InvalidLayerConfig):
            default = encode(getattr(defaults, setting.field))
            problems.append(f"The link's {setting.key}={text!r} could not be read; it was left at {default}.")
    settings, clamped = clamp(replace(defaults, **values))  # type: ignore[type-var]
    return settings, problems + clamped


def clamp(
    settings: Values, declared: Sequence[Setting],
    range_of: Callable[[Setting], tuple[float | None, float | None]] = lambda s: (s.low, s.high),
) -> tuple[Values, list[str]]:  # fmt: skip
    """Bring every setting into its range (``range_of``: the declared one) or choices; say what moved.

    Impossible *combinations* stay as they are: the explorer's ``analyze`` explains them.
    """
    notes: list[str] = []
    changes: dict[str, object] = {}
    defaults = type(settings)()  # type: ignore[call-arg]

    def bound(name: str, value: float, low: float, high: float) -> float:
        fixed = min(max(value, low), high)
        if fixed != value:
            notes.append(f"{name} {encode(value)} is outside {encode(low)} .. {encode(high)}; it was set to "
                         f"{encode(fixed)}.")  # fmt: skip
        return fixed

    for setting in declared:
        value = getattr(settings, setting.field)
        low, high = range_of(setting)
        if setting.widget == "select" and value not in setting.choices:
            notes.append(f"{setting.name} {value!r} is not one of {', '.join(setting.choices)}; the default is used.")
            changes[setting.field] = getattr(defaults, setting.field)
        elif setting.widget in ("number", "divisor"):
            changes[setting.field] = int(bound(setting.name, value, low, high))  # type: ignore[arg-type]
        elif setting.widget == "float":
            changes[setting.field] = float(bound(setting.name, value, low, high))  # type: ignore[arg-type]
        elif setting.widget == "pair" or (setting.widget == "padding" and not isinstance(value, str)):
            changes[setting.field] = tuple(int(bound(setting.name, v, low, high)) for v in value)  # type: ignore[arg-type]
        elif setting.widget == "text" and high is not None and len(value) > high:
            notes.append(f"{setting.name} is {len(value)} long; the first {int(high)} are used.")
            changes[setting.field] = value[: int(high)]
    return replace(settings, **changes), notes  # type: ignore[type-var]
