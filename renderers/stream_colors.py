"""An sRGB colour's operator is worked out once per colour, not every time it is set.

WeasyPrint's `Stream.set_color` sets the colour of every border, text run and SVG stroke it
draws, some 950 times per 4-page certificate, and 740 of them emit it again (a restored
graphics state forgets the current colour). Each time it unpacks the colour through a
generator, converts it to sRGB with tinycss2 (`Color.to`, even for a colour already in sRGB)
and formats the three numbers: about 2 % of a certificate render. A certificate draws with a
handful of colours, the same objects in every render (computed values of the stylesheets
parsed once per process). Here, for a colour in sRGB, HSL or HWB (what WeasyPrint converts to
sRGB), the tuple WeasyPrint compares with the current colour and the operator it writes are
kept per colour object; the alpha goes through WeasyPrint's `set_alpha` as before. Any other
colour space is WeasyPrint's. The same operators in the same order: same bytes.

Only inside `colors_set_once()` (certseal's renders) and on the WeasyPrint and pydyf source
it was checked against (`ACTIVE`).
"""
from __future__ import annotations

import pydyf
from tinycss2.color4 import Color
from weasyprint.pdf import stream as _stream

from renderers import scoped_patch

# sha256 over inspect.getsource of weasyprint.pdf.stream.Stream.set_color and
# pydyf.Stream.set_color_rgb (what an entry's operators repeat), WeasyPrint 70.0, pydyf 0.13.0.
CHECKED_SOURCE_SHA256 = "5369b967e105c4ae98b8ad9389b4194abf5f9374ce0a71ff1914b260b7e3d9a9"
_SCOPE = scoped_patch.Scope("certseal_stream_colors")
colors_set_once = _SCOPE.on
_set_color = _stream.Stream.set_color
_TO_SRGB = frozenset({"srgb", "hsl", "hwb"})
MAX_COLORS = 1024
# id(colour) -> (colour, what WeasyPrint compares with the current colour, alpha, (fill, stroke)
# operator). The colour is held, so its id is not reused while its entry lives.
_colors: dict[int, tuple] = {}


def source_sha256() -> str:
    return scoped_patch.sources_sha256(_set_color, pydyf.Stream.set_color_rgb)


def _entry(color: Color, current: tuple) -> tuple:
    r, g, b = color.to("srgb").coordinates
    numbers = b" ".join((pydyf._to_bytes(r), pydyf._to_bytes(g), pydyf._to_bytes(b)))
    if len(_colors) >= MAX_COLORS:
        _colors.clear()
    entry = _colors[id(color)] = (color, current, color.alpha, (numbers + b" rg", numbers + b" RG"))
    return entry


def set_color(self, color, stroke=False):
    if not _SCOPE.active() or type(color) is not Color or color.space not in _TO_SRGB:
        return _set_color(self, color, stroke)
    current = (color.space, *color.coordinates)
    entry = _colors.get(id(color))
    # The same object with the same values (a colour changed in place would not match).
    if entry is None or entry[0] is not color or entry[1] != current or entry[2] != color.alpha:
        entry = _entry(color, current)
    alpha, operators = entry[2], entry[3]
    self.set_alpha(alpha, stroke)
    if stroke:
        if current == self._current_color_stroke:
            return
        self._current_color_stroke = current
        self.stream.append(operators[1])
    else:
        if current == self._current_color:
            return
        self._current_color = current
        self.stream.append(operators[0])


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    _stream.Stream.set_color = set_color
