"""Each SVG image is drawn once per PDF, into a form XObject that every page using it shows.

WeasyPrint draws an SVG image anew wherever it appears, and it lays SVG text out one letter
at a time (a Pango layout per letter). The environment watermark is a fixed-position SVG
with two lines of text, so every page of a training or acceptance certificate paid for
about 80 letter layouts. Drawn once into a form and shown with `Do` on the other pages, it
costs one page's worth per document (callgrind: 1.9 % fewer instructions for a 4-page
CHED-PP render, about 22 M per page saved), and the file holds the drawing once.

Only images that repeat get a form: those inside a fixed-position box (CSS 2.1 §9.6.1: drawn on
every page) or a running element (copied into page margins). A form costs two indirect objects,
which every verifier's change analysis then maps; a strike-through or the QR code, drawn once,
stays inline.

The form is a plain form XObject (no transparency group), so the page composites it exactly
as it composited the drawing inline. Its bounding box reaches a page size beyond the image
on every side: the form clips nothing the inline drawing would have shown.

Only writes inside `svg_drawn_once()` share drawings (certseal's own renders); any other
WeasyPrint document in the process is drawn as WeasyPrint draws it.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from weasyprint.images import SVGImage

# (image, resources dict, width, height) → name of the form in those resources. The image
# and the resources are held in the value too, so their ids cannot be reused while it lives.
_Forms = dict[tuple[int, int, float, float], tuple[object, object, str]]
_FORMS: ContextVar[_Forms | None] = ContextVar("certseal_svg_forms", default=None)
_draw_inline = SVGImage.draw


@contextmanager
def svg_drawn_once() -> Iterator[None]:
    """Within this block, each SVG image is drawn once per PDF and reused by its pages."""
    token = _FORMS.set({})
    try:
        yield
    finally:
        _FORMS.reset(token)


def _repeats_on_pages(style) -> bool:
    while style is not None:
        position = style["position"]
        if position == "fixed" or isinstance(position, tuple):  # a tuple: running(name)
            return True
        style = getattr(style, "parent_style", None)  # the initial style has none
    return False


def _draw(image: SVGImage, stream, width: float, height: float, style) -> None:
    forms = _FORMS.get()
    if forms is None or not _repeats_on_pages(style):
        return _draw_inline(image, stream, width, height, style)
    resources = stream._resources
    key = (id(image), id(resources), width, height)
    entry = forms.get(key)
    if entry is None:
        _, _, page_width, page_height = stream.page_rectangle
        form = stream.add_group(-page_width, -page_height, width + 2 * page_width, height + 2 * page_height)
        del form.extra["Group"]
        _draw_inline(image, form, width, height, style)
        entry = forms[key] = (image, resources, form.id)
    stream.draw_x_object(entry[2])


SVGImage.draw = _draw
