"""Fonts are subset in one HarfBuzz pass (renderers.font_subset), and the file is the one
WeasyPrint's two passes give, byte for byte."""
from __future__ import annotations

import contextlib

import pytest

import renderers.font_subset as font_subset
import renderers.pdf as pdf_module
from renderers.model import parse_certificate
from renderers.render import render_certificate
from _render_helpers import sample, sample_certificate

_TWO_PASSES = font_subset._two_passes


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed Font._harfbuzz_subset: check what its
    # passes do now against renderers.font_subset, then update the checksum.
    assert font_subset.ACTIVE, font_subset.source_sha256()


def _render(monkeypatch, cert, *, one_pass: bool):
    two_pass_fonts = []

    def two_passes(font, to_unicode, hinting):
        two_pass_fonts.append(font.family)
        return _TWO_PASSES(font, to_unicode, hinting)

    monkeypatch.setattr(font_subset, "_two_passes", two_passes)
    monkeypatch.setattr(pdf_module, "one_subset_pass",
                        font_subset.one_subset_pass if one_pass else contextlib.nullcontext)
    return render_certificate(cert), two_pass_fonts


@pytest.mark.parametrize("model, name, destination", [
    ("CHED-PP", "roses-ke-nl", "zh"),  # Noto CJK: CFF outlines, tens of thousands of glyph slots
    ("INTRA", "bovine-nl-be", None),  # TrueType outlines only
])
def test_the_file_is_the_one_two_passes_give(monkeypatch, model, name, destination):
    cert = sample_certificate(name, model, destination)
    one, two_pass_fonts = _render(monkeypatch, cert, one_pass=True)
    two, _ = _render(monkeypatch, cert, one_pass=False)
    assert two_pass_fonts == []  # every font took the one pass
    assert one.data == two.data


def test_a_font_the_one_pass_cannot_end_at_its_last_glyph_takes_two(monkeypatch):
    cert = parse_certificate(sample("bovine-nl-be", "INTRA"))
    reference, _ = _render(monkeypatch, cert, one_pass=False)
    monkeypatch.setattr(font_subset, "_one_pass", lambda font, glyph_ids, hinting: None)
    fallen_back, two_pass_fonts = _render(monkeypatch, cert, one_pass=True)
    assert two_pass_fonts and fallen_back.data == reference.data


def test_large_fonts_subsets_are_kept_and_the_file_is_the_same(monkeypatch):
    cert = sample_certificate("roses-ke-nl", "CHED-PP", "zh")
    reference, _ = _render(monkeypatch, cert, one_pass=False)
    font_subset._kept.clear()
    passes = []
    one_pass = font_subset._one_pass
    monkeypatch.setattr(font_subset, "_one_pass", lambda font, ids, hinting: passes.append(font.family)
                        or one_pass(font, ids, hinting))
    first, _ = _render(monkeypatch, cert, one_pass=True)
    cjk = [family for family in passes if "CJK" in family]
    assert cjk and len(font_subset._kept) == len(cjk)  # the CJK fonts' subsets, and nothing else
    passes.clear()
    again, _ = _render(monkeypatch, cert, one_pass=True)
    assert passes and not any("CJK" in family for family in passes)  # kept; Latin fonts subset anew
    assert first.data == again.data == reference.data


def test_small_fonts_are_not_kept_and_the_kept_are_bounded(monkeypatch):
    font_subset._kept.clear()
    _render(monkeypatch, parse_certificate(sample("bovine-nl-be", "INTRA")), one_pass=True)
    assert not font_subset._kept
    monkeypatch.setattr(font_subset, "KEPT_SUBSETS", 1)
    for destination in ("zh", "ja"):
        _render(monkeypatch, sample_certificate("roses-ke-nl", "CHED-PP", destination), one_pass=True)
    assert len(font_subset._kept) == 1
    font_subset._kept.clear()


def test_a_kept_subset_is_only_used_for_the_same_glyphs(monkeypatch):
    # Another model's labels in the same language: the same CJK font, other glyphs.
    font_subset._kept.clear()
    _render(monkeypatch, sample_certificate("roses-ke-nl", "CHED-PP", "zh"), one_pass=True)
    other = sample_certificate("bovine-nl-be", "INTRA", "zh")
    reference, _ = _render(monkeypatch, other, one_pass=False)
    kept, _ = _render(monkeypatch, other, one_pass=True)
    assert kept.data == reference.data
    font_subset._kept.clear()
