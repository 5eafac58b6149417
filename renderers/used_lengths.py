"""WeasyPrint's `resolve_percentages` with the common cases taken in line.

Before laying a box out, WeasyPrint turns its margins, paddings, width and height (and their
minimums and maximums) from computed into used values: fourteen calls of
`resolve_one_percentage`, each calling `percentage`, each reading the style again. It runs
for every box on every layout pass, about 10 % of a certificate render (py-spy), and almost
every value is a length in px, `auto` or a percentage. This version reads each value once and
answers those three cases in place, with the same arithmetic; anything else (a math
function) goes to WeasyPrint's `percentage`. The border widths and box sizing are WeasyPrint's
own code, called as before. Same bytes on every sample and six destination scripts; nl+en
CHED-PP render 2,261 -> 2,198 M instructions (-3 %).

Only inside `used_lengths_in_line()` (certseal's renders) and on the WeasyPrint source it
was checked against (`ACTIVE`).
"""
from __future__ import annotations

from math import inf

from weasyprint.formatting_structure import boxes
from weasyprint.layout import absolute, block, column, float as float_layout, grid, inline, page, table
from weasyprint.layout import percent as _percent

from renderers import scoped_patch

# sha256 over the sources of the functions this replaces and repeats (see `source_sha256`),
# WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "d4733d2b4fd64e6921580ce8cc3c77c6a35d54d96d2ad19223b406302fca4d67"
_SCOPE = scoped_patch.Scope("certseal_used_lengths_in_line")
used_lengths_in_line = _SCOPE.on
_resolve_percentages = _percent.resolve_percentages
_percentage = _percent.percentage
_adjust_box_sizing = _percent.adjust_box_sizing
_check_math = _percent.check_math
_CALLERS = (absolute, block, column, float_layout, grid, inline, page, table)
_SIDES = ("top", "right", "bottom", "left")


def source_sha256() -> str:
    return scoped_patch.sources_sha256(_resolve_percentages, _percent.resolve_one_percentage, _percentage,
                                       _adjust_box_sizing)


def _used(value, style, refer_to):
    """`percentage(value, style, refer_to)`, px, auto and % answered here."""
    unit = getattr(value, "unit", None)
    if unit == "px":
        return value.value
    if unit == "%":
        return refer_to * value.value / 100
    if value is None or value == "auto":
        return value
    return _percentage(value, style, refer_to)


def resolve_percentages(box, containing_block):
    if not _SCOPE.active():
        return _resolve_percentages(box, containing_block)
    if isinstance(containing_block, boxes.Box):
        cb_width = containing_block.width
        cb_height = containing_block.height
    else:
        cb_width, cb_height = containing_block
    maybe_height = cb_height if isinstance(box, boxes.PageBox) else cb_width
    style = box.style
    box.margin_left = _used(style["margin_left"], style, cb_width)
    box.margin_right = _used(style["margin_right"], style, cb_width)
    box.margin_top = _used(style["margin_top"], style, maybe_height)
    box.margin_bottom = _used(style["margin_bottom"], style, maybe_height)
    box.padding_left = _used(style["padding_left"], style, cb_width)
    box.padding_right = _used(style["padding_right"], style, cb_width)
    box.padding_top = _used(style["padding_top"], style, maybe_height)
    box.padding_bottom = _used(style["padding_bottom"], style, maybe_height)
    box.width = _used(style["width"], style, cb_width)
    min_width = _used(style["min_width"], style, cb_width)
    box.min_width = 0 if min_width == "auto" else min_width
    box.max_width = _used(style["max_width"], style, cb_width)

    if cb_height == "auto":
        height = style["height"]
        if height == "auto" or _check_math(height) or height.unit == "%":
            box.height = "auto"
        else:
            assert height.unit.lower() == "px"
            box.height = height.value
        min_height = _used(style["min_height"], style, 0)
        box.max_height = _used(style["max_height"], style, inf)
    else:
        box.height = _used(style["height"], style, cb_height)
        min_height = _used(style["min_height"], style, cb_height)
        box.max_height = _used(style["max_height"], style, cb_height)
    box.min_height = 0 if min_height == "auto" else min_height

    collapse = style["border_collapse"] == "collapse"
    for side in _SIDES:
        prop = f"border_{side}_width"
        if not (collapse and hasattr(box, prop)):
            setattr(box, prop, style[prop])

    _adjust_box_sizing(box, "width")
    _adjust_box_sizing(box, "height")


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    # Every layout module imported it by name.
    _percent.resolve_percentages = resolve_percentages
    for _module in _CALLERS:
        _module.resolve_percentages = resolve_percentages
