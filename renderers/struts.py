"""A style's strut (its used line height and baseline) worked out once and kept on the style.

WeasyPrint asks for the strut of a style for every line box and text box it lays out, and
for line-height-relative units. It keeps the answer on the font configuration, keyed by a
string it builds each time from fourteen font properties, the font size and the line
height: about 3 % of a certificate render (py-spy), almost all of it building that key. A
strut depends only on those properties of the style and on its font configuration, and
WeasyPrint sets them before layout (a style it changes later is a copy, which starts
without this), so the answer is kept on the style itself after WeasyPrint's first. Same
bytes on every sample and six destination scripts; nl+en CHED-PP render 2,304 -> 2,252 M
instructions (-2 %).

Only inside `struts_kept()` (certseal's renders) and on the WeasyPrint source it was checked
against (`ACTIVE`).
"""
from __future__ import annotations

from weasyprint.css import computed_values as _computed_values
from weasyprint.css import units as _units
from weasyprint.layout import inline as _inline
from weasyprint.text import line_break as _line_break

from renderers import scoped_patch

# sha256 of inspect.getsource(weasyprint.text.line_break.strut) in WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "b57885b70dd08efe92f72a746709e08c576f47b90edb36f02925fefa15bb761a"
_SCOPE = scoped_patch.Scope("certseal_struts_kept")
struts_kept = _SCOPE.on
_strut = _line_break.strut
_KEPT = "_certseal_strut"


def source_sha256() -> str:
    return scoped_patch.source_sha256(_strut)


def strut(style):
    if not _SCOPE.active():
        return _strut(style)
    kept = style.__dict__.get(_KEPT)
    if kept is None:
        kept = style.__dict__[_KEPT] = _strut(style)
    return kept


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    # Every module that calls it imported it by name.
    for _module in (_line_break, _inline, _units, _computed_values):
        _module.strut = strut
