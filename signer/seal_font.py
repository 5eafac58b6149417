"""The visible seal's font: Noto Serif, cut once per process, its embedded subsets remembered.

pyHanko's OpenType engine (`GlyphAccumulator`) shapes the seal text with HarfBuzz and, when the
appearance is written, subsets the font with fontTools to the glyphs used and compiles the
subset: about 10 ms of a 37 ms B-B seal, for a font program that is the same for every seal
whose text uses the same glyphs. Here:

- the font is first cut to the seal's character set without layout tables (`seal_font_bytes`:
  parsing the full font for every seal cost ~1 s);
- the subset always holds the digits and the punctuation of dates and times, so seals that
  differ only in their date, time or reference use the same glyphs;
- the compiled, compressed subset is kept per glyph set (`_PROGRAMS`, a few dozen at most):
  a worker sealing a day's certificates for a few officers and language pairs compiles each
  subset once;
- the cut font is parsed once per process (`_parsed_font`), not by every engine: the parse
  (fontTools, HarfBuzz, the glyph set) was another ~5 ms per seal. Subsetting, which rewrites
  the font it works on, gets a parse of its own.

Seal B-B CPU on a CHED-PP, medians of 30-40: 37.4 ms before, 31.7 with the kept programs,
23-25 with the shared parse too.

The embedded program is the one pyHanko would have embedded for that glyph set (same
subsetter options, same font), except the `head` table's modification time, which is that of
the first compilation instead of each seal's.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine
from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator, GlyphAccumulatorFactory

from renderers.scoped_patch import sources_sha256

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf"),
    Path("/usr/share/fonts/noto/NotoSerif-Regular.ttf"),
)

# What the seal text can contain: Latin (all EU languages), Greek, Cyrillic, punctuation.
# Everything else would have no glyph in the subset; names in other scripts are rare on EU
# certificates and still appear correctly in the page text, which the renderer typesets.
SEAL_UNICODES = [
    *range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x370, 0x400), *range(0x400, 0x530),
    *range(0x1E00, 0x1F00), *range(0x2010, 0x2028), *range(0x2030, 0x2045), 0x202F, 0x20AC, 0x2212,
]

# In every subset: what dates, times and offsets are written with (~1 kB), so that the glyph
# set, and with it the embedded program, does not change with the time of day.
ALWAYS_EMBEDDED = "0123456789:.,/-+() \u202f"

PROGRAMS_KEPT = 64

# SealFontEngine sets up what GlyphAccumulator.__init__ sets up, from a font parsed once per
# process, only on the pyHanko source it was written against (0.38.0); elsewhere it calls that
# __init__. The sources of FontEngine.__init__ and of the GlyphAccumulator methods reading those
# attributes are in the checksum too.
CHECKED_SOURCE_SHA256 = "585b80c4af908494994e2ade908281f46d24f5fbfc5276a2d37f39b098051814"
SOURCE_SHA256 = sources_sha256(
    GlyphAccumulator.__init__, FontEngine.__init__, GlyphAccumulator._get_cid_and_width,
    GlyphAccumulator.shape, GlyphAccumulator._reverse_cmap.fget, GlyphAccumulator._extract_subset,
    GlyphAccumulator.prepare_write, CIDFontType2.set_font_file,
)
SHARED_PARSE = SOURCE_SHA256 == CHECKED_SOURCE_SHA256


@cache
def seal_font() -> Path | None:
    """Noto Serif (Debian fonts-noto-core); None leaves the seal invisible rather than ugly."""
    return next((p for p in FONT_CANDIDATES if p.is_file()), None)


@cache
def seal_font_bytes() -> bytes | None:
    """Noto Serif cut down once per process to the seal's character set, without OpenType
    layout tables: parsing the full font for every seal costs ~1 s (GPOS, glyf); the cut
    one parses in milliseconds. Latin text needs no shaping beyond the cmap."""
    path = seal_font()
    if path is None:
        return None
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH"]
    options.name_IDs = [1, 2, 4, 6]  # keep the PostScript name the PDF font is named after
    options.notdef_outline = True
    font = TTFont(str(path), lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=SEAL_UNICODES)
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


# glyph ids of a subset → its compiled font program, deflated (what /FontFile2 holds)
_PROGRAMS: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
_PROGRAMS_LOCK = threading.Lock()


def _kept_program(glyphs: tuple[int, ...]) -> bytes | None:
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(glyphs)
        if program is not None:
            _PROGRAMS.move_to_end(glyphs)
        return program


def _keep_program(glyphs: tuple[int, ...], program: bytes) -> None:
    with _PROGRAMS_LOCK:
        _PROGRAMS[glyphs] = program
        while len(_PROGRAMS) > PROGRAMS_KEPT:
            _PROGRAMS.popitem(last=False)


class _SubsetProgram(CIDFontType2):
    """pyHanko's TrueType CID font, embedding a remembered program when there is one."""

    program: bytes | None = None  # set by the engine before the font is written

    def set_font_file(self, writer):
        if self.program is None:
            return super().set_font_file(writer)
        font_stream = generic.StreamObject({generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")},
                                           encoded_data=self.program)
        font_stream_ref = writer.add_object(font_stream)
        self._font_descriptor[generic.pdf_name("/FontFile2")] = font_stream_ref
        return font_stream_ref


@dataclass(frozen=True)
class _ParsedFont:
    """The cut font parsed once per process, its tables loaded, read-only from then on."""

    tt: TTFont
    hb_font: object  # uharfbuzz.Font: shaping only reads it
    glyph_set: object
    ps_name: str
    units_per_em: int


@cache
def _parsed_font() -> _ParsedFont:
    # Two threads asking first may both parse; each gets a complete parse and one is kept.
    import uharfbuzz as hb

    data = seal_font_bytes()
    tt = TTFont(BytesIO(data))
    for tag in tt.keys():  # nothing left to load lazily while engines in threads read it
        tt[tag]
    ps_name = next(n.toUnicode() for n in tt["name"].names if n.nameID == 6)
    return _ParsedFont(tt=tt, hb_font=hb.Font(hb.Face(data)), glyph_set=tt.getGlyphSet(preferCFF=True),
                       ps_name=ps_name, units_per_em=tt["head"].unitsPerEm)


class SealFontEngine(GlyphAccumulator):
    def __init__(self, writer, font_size, obj_stream=None):
        if not SHARED_PARSE:
            super().__init__(writer=writer, font_handle=BytesIO(seal_font_bytes()), font_size=font_size,
                             obj_stream=obj_stream)
            self.cidfont_obj = _SubsetProgram(self.tt, self.cidfont_obj.name.split("+", 1)[1], self.subset_prefix)
            self._shared_tt = False
            return
        # GlyphAccumulator.__init__ for a glyf font with default shaping options, with the font
        # parsed once per process: that parse (TTFont, HarfBuzz face, the glyph set) was ~5 ms,
        # a sixth of a seal.
        parsed = _parsed_font()
        FontEngine.__init__(self, writer, parsed.ps_name, embedded_subset=True, obj_stream=obj_stream,
                            font_size=font_size)
        self.hb_font = parsed.hb_font
        self.tt = parsed.tt
        self._font_ref = writer.allocate_placeholder()
        self.cff_charset = None
        self.use_raw_gids = True
        self.cidfont_obj = _SubsetProgram(parsed.tt, parsed.ps_name, self.subset_prefix)
        self.features = None
        self.units_per_em = parsed.units_per_em
        self._glyphs = {}
        self._glyph_set = parsed.glyph_set
        self._cid_to_unicode = {}
        self._GlyphAccumulator__reverse_cmap = None
        self.ot_language_tag = self.ot_script_tag = None
        self.writing_direction = self.bcp47_lang_code = None
        self._subset_created = self._write_prepared = False
        self._shared_tt = True  # other engines read it: never subset it

    def prepare_write(self):
        if self._write_prepared:
            return
        self.shape(ALWAYS_EMBEDDED, with_actual_text=False)  # only adds the glyphs
        glyphs = tuple(sorted(self._glyphs))
        program = _kept_program(glyphs)
        if program is not None:
            self._subset_created = True  # the kept program is this subset, compiled
            self.cidfont_obj.program = program
        elif self._shared_tt:
            # Subsetting rewrites the font it is given: a parse of its own, not the shared one.
            self.tt = self.cidfont_obj._tt = TTFont(BytesIO(seal_font_bytes()))  # noqa: SLF001
        super().prepare_write()
        if program is None:
            _keep_program(glyphs, self._compiled_program())

    def _compiled_program(self) -> bytes:
        descriptor = self.cidfont_obj._font_descriptor  # noqa: SLF001 - where set_font_file put it
        stream = descriptor["/FontFile2"].get_object()
        return stream.encoded_data


@dataclass(frozen=True)
class SealFontFactory(GlyphAccumulatorFactory):
    """pyHanko's OpenType engine fed from the in-memory cut of the font."""

    def create_font_engine(self, writer, obj_stream=None):
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return SealFontEngine(writer, self.font_size, obj_stream=obj_stream)
