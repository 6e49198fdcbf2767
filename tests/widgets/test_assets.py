"""The components' assets: the palette written into their CSS, declared once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnviz.views.palette import NAMED_COLOURS, ORANGE
from widgets.assets import palette_constants, source, with_palette

ROOT = Path(__file__).resolve().parents[2]


def test_css_palette_names_are_written_out_as_the_palette_colours():
    css = with_palette(".box { border: 2px solid var(--palette-orange); color: var(--palette-black); }")
    assert css == f".box {{ border: 2px solid {ORANGE}; color: {NAMED_COLOURS['black']}; }}"


def test_an_unknown_palette_name_fails_loudly():
    with pytest.raises(KeyError):
        with_palette(".x { color: var(--palette-magenta); }")


def test_every_palette_name_in_the_widgets_css_is_known():
    for css_file in sorted((ROOT / "widgets").glob("*.css")):
        assert "var(--palette-" not in with_palette(source(css_file.name)), css_file.name


def test_the_okabe_ito_colours_are_spelled_out_only_in_the_palette():
    """Any other file that names one by its hex value would drift from the palette when it changes."""
    spelled = re.compile("|".join(re.escape(colour) for colour in NAMED_COLOURS.values() if colour != "#000000"), re.I)
    offenders = []
    for folder in ("cnnviz", "widgets", "pages"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".css", ".js"} and path.name != "palette.py" and path.name != "assets.py":
                offenders += [f"{path.relative_to(ROOT)}: {m}" for m in spelled.findall(path.read_text("utf-8"))]
    assert offenders == []
    assert "#0072B2" in palette_constants()
