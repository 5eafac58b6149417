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
