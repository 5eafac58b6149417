"""A font's whole file is copied out of HarfBuzz only if something reads it.

For each font a document uses, WeasyPrint copies the entire font file into a Python bytes
object when it first meets the font (`Font.__init__`), then subsets the font with HarfBuzz
from HarfBuzz's own face and replaces the copy with the subset. The copy is read only on
paths certseal's renders do not take (variable or colour fonts, fontTools subsetting). For
a Chinese destination that is three Noto CJK collections of 19–26 MB, 72 MB per 4-page
CHED-PP: about 33 ms of a 600 ms render, and that much more peak memory.

Inside `font_files_read_lazily()`, a font's `file_content` starts unread and is copied from
HarfBuzz when first read, which gives the same bytes since the font keeps its face alive.
Elsewhere (the bench's naive baseline, say) WeasyPrint copies as usual. It applies only to
the `Font.__init__` source it was checked against (`ACTIVE`).
"""
from __future__ import annotations

from weasyprint.pdf import fonts as _fonts

from renderers import scoped_patch

# sha256 of inspect.getsource(weasyprint.pdf.fonts.Font.__init__) in WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "1f281166b10302a4278a04384970b91496a19b071e071a4087f77a49bc1487fe"
_UNREAD = object()
_KEY = "_certseal_file_content"
_SCOPE = scoped_patch.Scope("certseal_font_files_lazily")
font_files_read_lazily = _SCOPE.on  # the block in which certseal's renders take this path
_IN_FONT_INIT = scoped_patch.Scope("certseal_in_font_init")
_copy_out = _fonts.get_hb_object_data
_font_init = _fonts.Font.__init__


def source_sha256() -> str:
    return scoped_patch.source_sha256(_font_init)


class _FileContent:
    """Font.file_content: stored as WeasyPrint sets it; an unread file is copied on first read."""

    def __get__(self, font, owner=None):
        if font is None:
            return self
        value = font.__dict__[_KEY]
        if value is _UNREAD:
            value = font.__dict__[_KEY] = _copy_out(font.hb_face)
        return value

    def __set__(self, font, value) -> None:
        font.__dict__[_KEY] = value


def _init(font, *args, **kwargs) -> None:
    if not _SCOPE.active():
        return _font_init(font, *args, **kwargs)
    with _IN_FONT_INIT.on():
        _font_init(font, *args, **kwargs)


def _get_hb_object_data(hb_object, ot_color=None, glyph=None):
    # Font.__init__ calls it once, for its own face's whole file: leave that unread.
    if _IN_FONT_INIT.active() and ot_color is None and glyph is None:
        return _UNREAD
    return _copy_out(hb_object, ot_color, glyph)


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    _fonts.Font.file_content = _FileContent()
    _fonts.Font.__init__ = _init
    _fonts.get_hb_object_data = _get_hb_object_data
