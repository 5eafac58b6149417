"""WeasyPrint's `resolve_percentages` with the common cases taken in line, and remembered.

Before laying a box out, WeasyPrint turns its margins, paddings, width and height (and their
minimums and maximums) from computed into used values: fourteen calls of
`resolve_one_percentage`, each calling `percentage`, each reading the style again. It runs
for every box on every layout pass, about 10 % of a certificate render (py-spy), and almost
every value is a length in px, `auto` or a percentage. This version reads each value once and
answers those three cases in place, with the same arithmetic; anything else (a math
function) goes to WeasyPrint's `percentage`. The border widths and box sizing are WeasyPrint's
own code, called as before. Same bytes on every sample and six destination scripts; nl+en
CHED-PP render 2,261 -> 2,198 M instructions (-3 %).

The answer is a function of the box's kind, twenty style values (the fourteen lengths, the four
border widths, box sizing, border collapsing), the containing block's size and, in a collapsed
table, the border widths the box already has. A 4-page CHED-PP asks 2,647 times for about 150
distinct such inputs, the same in every certificate of a model: so the answers are kept, by
those inputs, and given back without working them out again (up to MAX_REMEMBERED, then
started afresh). An answer that went through a math function (calc(), em inside it) depends
on more of the style and is never kept. The answers are values, so they hold across renders;
every model in three scripts keeps about 900 of them (0.4 MB). Same bytes on every sample and
on CHED-PP, CHED-P and INTRA with zh, ar, ja, he, el and bg destinations; nl+en CHED-PP render
1,567 -> 1,515 M instructions (-3.3 %, callgrind).

Only inside `used_lengths_in_line()` (certseal's renders) and on the WeasyPrint source it
was checked against (`ACTIVE`).
"""
from __future__ import annotations

from math import inf
from operator import attrgetter, itemgetter

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
    global _style_read
    unit = getattr(value, "unit", None)
    if unit == "px":
        return value.value
    if unit == "%":
        return refer_to * value.value / 100
    if value is None or value == "auto":
        return value
    _style_read = True  # a math function: the answer depends on more of the style (font size ...)
    return _percentage(value, style, refer_to)


# What a box's used lengths are a function of, besides its kind and its containing block's size.
_INPUTS = ("margin_left", "margin_right", "margin_top", "margin_bottom", "padding_left", "padding_right",
           "padding_top", "padding_bottom", "width", "min_width", "max_width", "height", "min_height",
           "max_height", "border_top_width", "border_right_width", "border_bottom_width", "border_left_width",
           "box_sizing", "border_collapse")
_read_inputs = itemgetter(*_INPUTS)
_COLLAPSE = len(_INPUTS) - 1
_OUTPUTS = ("margin_left", "margin_right", "margin_top", "margin_bottom", "padding_left", "padding_right",
            "padding_top", "padding_bottom", "width", "min_width", "max_width", "height", "min_height",
            "max_height", "border_top_width", "border_right_width", "border_bottom_width", "border_left_width")
_read_outputs = attrgetter(*_OUTPUTS)


def _read_borders(attributes: dict) -> tuple:
    get = attributes.get  # asked for most boxes (border-collapse is inherited): no generator
    return (get("border_top_width", _ABSENT), get("border_right_width", _ABSENT),
            get("border_bottom_width", _ABSENT), get("border_left_width", _ABSENT))


_ABSENT = object()
MAX_REMEMBERED = 4096
# inputs -> _OUTPUTS, across renders. Keys compare by value, so an answer kept for 2.0 px also
# answers 2 px: the same number, which arithmetic and the PDF's number syntax do not tell apart.
_remembered: dict[tuple, tuple] = {}
_style_read = False  # did the answer being worked out go through a math function?


def resolve_percentages(box, containing_block):
    if not _SCOPE.active():
        return _resolve_percentages(box, containing_block)
    if isinstance(containing_block, boxes.Box):
        cb_width = containing_block.width
        cb_height = containing_block.height
    else:
        cb_width, cb_height = containing_block
    style = box.style
    inputs = _read_inputs(style)
    key = (type(box), inputs, cb_width, cb_height)
    if inputs[_COLLAPSE] == "collapse":
        # Collapsed borders a box already has are its own (the table's), not the style's.
        key += (_read_borders(box.__dict__),)
    try:
        outputs = _remembered.get(key)
    except TypeError:  # a value that cannot be a key
        key = outputs = None
    if outputs is not None:
        box.__dict__.update(zip(_OUTPUTS, outputs))
        return
    global _style_read
    _style_read = False
    _resolve(box, style, cb_width, cb_height)
    if key is not None and not _style_read:
        if len(_remembered) >= MAX_REMEMBERED:
            _remembered.clear()
        _remembered[key] = _read_outputs(box)


def _resolve(box, style, cb_width, cb_height):
    maybe_height = cb_height if isinstance(box, boxes.PageBox) else cb_width
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
