"""One HarfBuzz subsetting pass per embedded font instead of WeasyPrint's two.

WeasyPrint subsets each font twice: first keeping the used glyphs at their ids (the page
content refers to glyphs by id), then once more keeping every glyph up to the last used one,
so as to drop the empty glyphs beyond it and, since certseal embeds fonts unhinted, the
hinting. The HarfBuzz this runs on already stops the first pass's font at the last used
glyph, so the second pass only drops the hinting, and it costs as much as the first: on a
Chinese destination it works through all 38,000–63,000 glyph slots of each Noto CJK subset
again. Asking the first pass to drop the hinting as well gives the same font, byte for byte
(every sample, and CJK, Arabic, Hebrew, Greek and Cyrillic destinations, checked), in one
pass: a zh render 546 -> 502 ms CPU (interleaved medians); Latin fonts are small either way.

Where the one pass does not end at the last used glyph (another HarfBuzz), or fails, the
font goes through WeasyPrint's own two passes. Only inside `one_subset_pass()` (certseal's
renders) and only on the method source it was checked against (`ACTIVE`).

The subsets of large fonts (the Noto CJK collections, tens of thousands of glyph slots) are
kept: with a Chinese, Japanese or Korean destination the CJK glyphs a certificate uses are
those of its model's labels in that language, the same from one certificate to the next, and
subsetting them was still 8 % of such a render (~29 ms). A subset is kept per font (its
description, face index, file length, units per em and glyph count), glyph set and flags,
which decide HarfBuzz's output; `KEPT_SUBSETS` of them at most, the least recently used
forgotten first. Small fonts, whose glyph sets follow the certificate's data, are subset
every time: it costs little.
"""
from __future__ import annotations

from collections import OrderedDict

from weasyprint.pdf import fonts as _fonts
from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset

from renderers import scoped_patch

# sha256 of inspect.getsource(weasyprint.pdf.fonts.Font._harfbuzz_subset) in WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "f80805663ede8080a3e1ffff831e20c74bd25fa3b8e4410334ba807158dc685f"
# The tables WeasyPrint's first pass drops.
_DROPPED_TABLES = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF",
                   b"LTSH", b"PCLT", b"SVG ")
_SCOPE = scoped_patch.Scope("certseal_one_subset_pass")
one_subset_pass = _SCOPE.on  # the block in which certseal's renders take this path
_two_passes = _fonts.Font._harfbuzz_subset


def source_sha256() -> str:
    return scoped_patch.source_sha256(_two_passes)


KEPT_SUBSETS = 32
LARGE_FONT_GLYPHS = 5_000  # Latin, Greek, Cyrillic, Arabic, Hebrew faces have far fewer
_kept: OrderedDict[tuple, bytes] = OrderedDict()


def _subset(font, to_unicode, hinting) -> None:
    if not _SCOPE.active() or harfbuzz_subset is None:
        return _two_passes(font, to_unicode, hinting)
    glyph_ids = sorted(to_unicode)
    key = _kept_key(font, glyph_ids, hinting)
    subset = None if key is None else _kept.get(key)
    if subset is not None:
        _kept.move_to_end(key)
    else:
        subset = _one_pass(font, glyph_ids, hinting)
        if subset is None:
            return _two_passes(font, to_unicode, hinting)
        if key is not None:
            _kept[key] = subset
            while len(_kept) > KEPT_SUBSETS:
                _kept.popitem(last=False)
    font.file_content = subset


def _kept_key(font, glyph_ids: list[int], hinting: bool) -> tuple | None:
    """What decides the subset of a large font; None for a small one (not kept)."""
    glyph_count = harfbuzz.hb_face_get_glyph_count(font.hb_face)
    if glyph_count < LARGE_FONT_GLYPHS:
        return None
    blob = harfbuzz.hb_face_reference_blob(font.hb_face)
    try:
        file_length = harfbuzz.hb_blob_get_length(blob)
    finally:
        harfbuzz.hb_blob_destroy(blob)
    return (font.hash, font.index, file_length, font.upem, glyph_count, tuple(glyph_ids), bool(hinting),
            bool(font.missing))


def _one_pass(font, glyph_ids: list[int], hinting: bool) -> bytes | None:
    """The subset with glyphs 0 to the last used one, used ones at their ids; None if
    HarfBuzz fails or keeps more glyphs than that."""
    hb_input = ffi.gc(harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy)
    if hb_input == ffi.NULL:
        return None
    glyph_set = harfbuzz_subset.hb_subset_input_glyph_set(hb_input)
    harfbuzz.hb_set_add_sorted_array(glyph_set, ffi.new(f"hb_codepoint_t[{len(glyph_ids)}]", glyph_ids),
                                     len(glyph_ids))
    flags = (harfbuzz_subset.HB_SUBSET_FLAGS_RETAIN_GIDS | harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
             | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE)
    if not hinting:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
    if font.missing:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
    harfbuzz_subset.hb_subset_input_set_flags(hb_input, flags)
    drop_set = harfbuzz_subset.hb_subset_input_set(hb_input, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG)
    tags = sorted(harfbuzz.hb_tag_from_string(name, -1) for name in _DROPPED_TABLES)
    harfbuzz.hb_set_add_sorted_array(drop_set, ffi.new(f"hb_codepoint_t[{len(tags)}]", tags), len(tags))
    face = ffi.gc(harfbuzz_subset.hb_subset_or_fail(font.hb_face, hb_input), harfbuzz.hb_face_destroy)
    if face == ffi.NULL or harfbuzz.hb_face_get_glyph_count(face) != glyph_ids[-1] + 1:
        return None
    return _fonts.get_hb_object_data(face) or None


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    _fonts.Font._harfbuzz_subset = _subset
