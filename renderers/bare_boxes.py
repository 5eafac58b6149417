"""Boxes with nothing to paint behind them are settled from a flag kept on their style.

After layout, WeasyPrint visits every box of every page to place its backgrounds: it reads
about a dozen properties of the box's style (four corner radii, border and mask images,
visibility, background images and colour, shadows) and builds lists and colours from them,
only to find, for almost every box of a certificate (line boxes, text, table cells without
shading), that there is nothing to paint: no background and square corners. That walk was
about 5 % of a certificate render (py-spy). Whether a style is so bare depends on those
properties alone, which are fixed once computed, so the answer is kept on the style and a
bare box gets, directly, what WeasyPrint would have given it: zero radii and no background.
Any other box (a shaded header cell, the page itself, the canvas background taken from the
root) still goes through WeasyPrint's code.

Only inside `bare_boxes_settled()` (certseal's renders) and on the WeasyPrint source it was
checked against (`ACTIVE`).
"""
from __future__ import annotations

from weasyprint.draw.color import get_color
from weasyprint.layout import background as _background
from weasyprint.layout import percent as _percent

from renderers import scoped_patch

# sha256 over inspect.getsource of layout_box_backgrounds and resolve_radii_percentages
# in WeasyPrint 70.0: what `_is_bare` mirrors.
CHECKED_SOURCE_SHA256 = "16a5c36c3825fa1f6ab4392a7e22cb60cf84b3838e2a1246e36f0824aa1aa7fd"
_SCOPE = scoped_patch.Scope("certseal_bare_boxes")
bare_boxes_settled = _SCOPE.on
_layout_box_backgrounds = _background.layout_box_backgrounds
_KEPT = "_certseal_bare"
_SQUARE = (0, "px")
_RADII = ("border_top_left_radius", "border_top_right_radius",
          "border_bottom_right_radius", "border_bottom_left_radius")


def source_sha256() -> str:
    return scoped_patch.sources_sha256(_layout_box_backgrounds, _percent.resolve_radii_percentages)


def _is_bare(style) -> bool:
    """Would WeasyPrint give a box of this style no background and zero radii, whatever its
    size? The same tests, in the same order, as layout_box_backgrounds, except that an image
    of any kind (even one that would fail to load) sends the box through WeasyPrint."""
    if style["border_image_source"][0] != "none" or style["mask_border_source"][0] != "none":
        return False
    if any(_SQUARE not in style[radius] for radius in _RADII):
        return False
    if style["box_shadow"]:
        return False
    if style["visibility"] == "hidden":
        return True  # WeasyPrint paints neither its images nor its colour
    if any(kind != "none" for kind, _ in style["background_image"]):
        return False
    return get_color(style, "background_color").alpha == 0


def _bare(style) -> bool:
    kept = style.__dict__.get(_KEPT)
    if kept is None:
        kept = style.__dict__[_KEPT] = _is_bare(style)
    return kept


def layout_box_backgrounds(page, box, get_image_from_uri, layout_children=True, style=None):
    if style is not None or box is page or not _SCOPE.active() or not _bare(box.style):
        return _layout_box_backgrounds(page, box, get_image_from_uri, layout_children, style)
    box.border_top_left_radius = box.border_top_right_radius = (0, 0)
    box.border_bottom_right_radius = box.border_bottom_left_radius = (0, 0)
    if layout_children:
        for child in box.all_children():
            layout_box_backgrounds(page, child, get_image_from_uri)
    box.background = None


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    # WeasyPrint's own recursion (and layout_backgrounds) look the name up in the module.
    _background.layout_box_backgrounds = layout_box_backgrounds
