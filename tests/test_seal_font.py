"""signer.seal_font: the seal's embedded font program is pyHanko's, compiled once per glyph set."""
from __future__ import annotations

from io import BytesIO

import pytest
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter

from _pki_helpers import pkis  # noqa: F401 - fixture
from signer import seal_font
from signer.seal_font import ALWAYS_EMBEDDED, SealFontEngine, seal_font_bytes

pytestmark = pytest.mark.skipif(seal_font_bytes() is None, reason="Noto Serif is not installed")

TEXT = ("Elektronisches Siegel / Cachet électronique", "Dr. Ænne Łukasiewicz-Øster",
        "22. November 2026 10:58 (UTC+02:00)", "CN=certseal training seal,O=Ελληνικά,C=BE")


def _engine_program(engine, lines) -> bytes:
    for line in lines:
        engine.shape(line)
    engine.prepare_write()
    return engine.cidfont_obj._font_descriptor["/FontFile2"].get_object().data  # noqa: SLF001


def _ours(lines=TEXT) -> bytes:
    return _engine_program(SealFontEngine(PdfFileWriter(), 7), lines)


def _pyhanko_s(lines=TEXT) -> bytes:
    """What pyHanko's own engine embeds for the same glyphs (ours adds ALWAYS_EMBEDDED)."""
    engine = GlyphAccumulator(PdfFileWriter(), BytesIO(seal_font_bytes()), 7)
    engine.shape(ALWAYS_EMBEDDED, with_actual_text=False)
    return _engine_program(engine, lines)


def _tables(program: bytes) -> dict[str, object]:
    """Every table's bytes, `head` without the compile time (and the checksum that covers it)."""
    font = TTFont(BytesIO(program))
    tables: dict[str, object] = {tag: font.getTableData(tag) for tag in font.keys() if tag not in ("GlyphOrder", "head")}
    head = font["head"]
    tables["head"] = {k: v for k, v in vars(head).items() if k not in ("modified", "checkSumAdjustment", "tableTag")}
    return tables


@pytest.fixture(autouse=True)
def _no_kept_programs():
    seal_font._PROGRAMS.clear()  # noqa: SLF001
    yield
    seal_font._PROGRAMS.clear()  # noqa: SLF001


def test_the_kept_program_is_what_pyhanko_embeds_for_the_same_glyphs():
    first = _ours()
    assert len(seal_font._PROGRAMS) == 1  # noqa: SLF001
    second = _ours()  # from the kept program
    assert second == first
    assert _tables(first) == _tables(_pyhanko_s())


def test_dates_and_times_do_not_change_the_glyph_set():
    _ours([*TEXT[:2], "22. November 2026 10:58 (UTC+02:00)"])
    _ours([*TEXT[:2], "22. November 2026 17:43 (UTC+01:00)"])
    assert len(seal_font._PROGRAMS) == 1  # noqa: SLF001


def test_other_text_gets_its_own_program_with_its_glyphs():
    _ours()
    program = _ours(["Mária Ćosić", "Šárka"])
    assert len(seal_font._PROGRAMS) == 2  # noqa: SLF001
    font = TTFont(BytesIO(program))
    glyphs = {name for name in font.getGlyphOrder() if font["glyf"][name].numberOfContours}
    cmap = TTFont(BytesIO(seal_font_bytes())).getBestCmap()
    for ch in "MáriaĆosićŠárka" + "0123456789":
        assert cmap[ord(ch)] in glyphs, ch
    assert cmap[ord("Æ")] not in glyphs  # only in the other text


def test_programs_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(seal_font, "PROGRAMS_KEPT", 3)
    for name in ("Anna", "Bert", "Cleo", "Dirk", "Emil"):
        _ours([name])
    assert len(seal_font._PROGRAMS) == 3  # noqa: SLF001


def test_a_sealed_certificate_embeds_the_kept_program(pkis):
    from _pki_helpers import certseal_rendered, environment_config, seal_rendered
    from renderers.environment import Environment

    env = Environment.PRODUCTION
    pki = pkis.envs[env]
    rendered = certseal_rendered(env=env)
    cfg = environment_config(env, pki.files.root_pem)
    programs = []
    for _ in range(2):  # the first compiles the subset, the second embeds it as kept
        reader = PdfFileReader(BytesIO(seal_rendered(rendered, pki.key, cfg)))
        fonts = [f for f in _fonts(reader) if str(f["/BaseFont"]).endswith("NotoSerif-Regular-Identity-H")]
        assert len(fonts) == 1
        descriptor = fonts[0]["/DescendantFonts"][0]["/FontDescriptor"]
        programs.append(descriptor["/FontFile2"].get_object().data)
    assert programs[0] == programs[1] and len(seal_font._PROGRAMS) == 1  # noqa: SLF001


def _fonts(reader: PdfFileReader):
    field = next(f.get_object() for f in reader.root["/AcroForm"]["/Fields"] if f.get_object().get("/FT") == "/Sig"
                 and "/V" in f.get_object())
    stack = [field["/AP"]["/N"]]
    while stack:
        xobject = stack.pop().get_object()
        resources = xobject.get("/Resources", {})
        yield from (f.get_object() for f in resources.get("/Font", {}).values())
        stack.extend(resources.get("/XObject", {}).values())


def test_the_shared_parse_is_active_on_the_pinned_pyhanko():
    assert seal_font.SHARED_PARSE, ("pyHanko's GlyphAccumulator changed: review SealFontEngine.__init__ against it "
                                    "and update CHECKED_SOURCE_SHA256")


def _font_dict(engine, lines) -> dict[str, object]:
    for line in lines:
        engine.shape(line)
    engine.prepare_write()
    type0 = engine.writer.get_object(engine.as_resource().reference)
    cid = type0["/DescendantFonts"][0].get_object()
    descriptor = cid["/FontDescriptor"].get_object()
    return {
        "shaped": [engine.shape(line).graphics_ops for line in lines],
        "W": repr(cid["/W"]), "ToUnicode": type0["/ToUnicode"].get_object().data,
        "cid": {k: repr(v) for k, v in cid.items() if k not in ("/BaseFont", "/FontDescriptor", "/W")},
        "descriptor": {k: repr(v) for k, v in descriptor.items() if k not in ("/FontName", "/FontFile2")},
        "program": _tables(descriptor["/FontFile2"].get_object().data),
    }


@pytest.mark.parametrize("kept", [False, True], ids=["compiled", "kept"])
def test_the_seal_font_is_written_as_pyhanko_writes_it(kept):
    if kept:
        _ours()  # the program is kept from an earlier seal with the same glyphs
    ours = _font_dict(SealFontEngine(PdfFileWriter(), 7), TEXT)
    plain = GlyphAccumulator(PdfFileWriter(), BytesIO(seal_font_bytes()), 7)
    plain.shape(ALWAYS_EMBEDDED, with_actual_text=False)
    assert ours == _font_dict(plain, TEXT)


def test_engines_in_threads_share_the_parse_safely():
    from concurrent.futures import ThreadPoolExecutor

    texts = [[f"Officer {name}", "Elektronisches Siegel / Cachet électronique"] for name in
             ("Ådne", "Björk", "Çelik", "Đuro", "Éloïse", "Fañch", "Ğül", "Ħelena")]
    alone = [_tables(_ours(t)) for t in texts]
    seal_font._PROGRAMS.clear()  # noqa: SLF001
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda t: _tables(_ours(t)), texts * 3))
    assert together == alone * 3
