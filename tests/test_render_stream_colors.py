"""An sRGB colour's operator worked out once per colour (renderers.stream_colors): the same
operators and graphics states as WeasyPrint's set_color, the same PDF, other colour spaces and
changed colours left to WeasyPrint."""
from __future__ import annotations

import pytest
from tinycss2.color4 import Color, parse_color
from weasyprint.pdf.stream import Stream

import renderers.stream_colors as stream_colors
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint or pydyf upgrade that changed Stream.set_color or set_color_rgb:
    # check that set_color still writes what they write, then update the checksum.
    assert stream_colors.ACTIVE, stream_colors.source_sha256()


def _stream() -> Stream:
    return Stream(fonts={}, page_rectangle=(0, 0, 595, 842), resources={"ExtGState": {}}, images={}, tags={},
                  color_profiles={}, output_intent=None)


def _drawn(set_color, colors: list[tuple[Color, bool]]) -> tuple[list[bytes], dict]:
    """What a run of set_color calls writes: the stream's operators and its alpha states."""
    stream = _stream()
    with stream_colors.colors_set_once():
        for color, stroke in colors:
            set_color(stream, color, stroke)
            stream.push_state()  # a state restored after drawing forgets the colour, as in a page
            stream.pop_state()
            set_color(stream, color, stroke)  # the same colour again: nothing more written
    return stream.stream, stream._resources["ExtGState"]


_COLORS = [parse_color(text) for text in (
    "#8c8c8c", "black", "rgb(10% 20% 30%)", "rgba(0, 0, 255, 0.5)", "hsl(120deg 50% 40%)",
    "hwb(200 10% 20% / 0.3)", "lab(50% 40 30)", "oklch(0.7 0.1 200)", "color(display-p3 1 0 0)", "white",
)]


def test_every_colour_space_writes_what_weasyprint_writes():
    calls = [(color, stroke) for color in _COLORS for stroke in (False, True)]
    assert _drawn(stream_colors.set_color, calls) == _drawn(stream_colors._set_color, calls)
    assert stream_colors._colors  # the sRGB, HSL and HWB ones were kept


def test_a_colour_changed_in_place_is_worked_out_again():
    color = parse_color("#ff0000")
    stream = _stream()
    with stream_colors.colors_set_once():
        stream_colors.set_color(stream, color)
        color.coordinates = (0.0, 0.0, 1.0)
        stream.push_state()
        stream.pop_state()
        stream_colors.set_color(stream, color)
    assert stream.stream[-1] == b"0 0 1 rg"


def test_outside_certseals_renders_weasyprint_sets_the_colour(monkeypatch):
    monkeypatch.setattr(stream_colors, "_colors", {})
    stream = _stream()
    stream_colors.set_color(stream, parse_color("#00ff00"))
    assert stream.stream[-1] == b"0 1 0 rg" and not stream_colors._colors


def test_the_colours_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(stream_colors, "MAX_COLORS", 3)
    monkeypatch.setattr(stream_colors, "_colors", {})
    calls = [(parse_color(f"rgb({i} 0 0)"), False) for i in range(10)]
    assert _drawn(stream_colors.set_color, calls) == _drawn(stream_colors._set_color, calls)
    assert 0 < len(stream_colors._colors) <= 3


@pytest.mark.parametrize("name, model, destination", [
    ("roses-ke-nl", "CHED-PP", "ar"),
    ("tuna-vn-nl", "CHED-P", "zh"),
])
def test_the_pdf_is_the_one_weasyprint_colours(monkeypatch, name, model, destination):
    cert = sample_certificate(name, model, destination)
    assert render_certificate(cert).data == render_without(monkeypatch, cert, "colors_set_once")
