"""Drawn lines are remembered across renders (renderers.drawn_lines), and the PDF is the one
WeasyPrint gives when it shapes and walks every line's glyphs anew."""
from __future__ import annotations

import contextlib

import pytest
from weasyprint import HTML

import renderers.drawn_lines as drawn_lines
import renderers.pdf as pdf_module
from renderers.first_lines import first_lines_remembered
from renderers.render import render_certificate
from renderers.text_memory import PerFontConfiguration
from _render_helpers import page_texts, renamed_samples, render_without, sample_certificate

_REACTIVATE = drawn_lines._reactivate


@pytest.fixture
def reactivated(monkeypatch) -> list[str]:
    """The texts whose Pango layout was built again to be drawn; nothing remembered yet."""
    monkeypatch.setattr(drawn_lines, "_lines", PerFontConfiguration(max_entries=5_000))
    texts: list[str] = []

    def counting(layout, style):
        texts.append(layout.text)
        return _REACTIVATE(layout, style)

    monkeypatch.setattr(drawn_lines, "_reactivate", counting)
    return texts


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed how a line is drawn (draw_first_line,
    # draw_text, the SVG text), how a layout is re-activated, or how the stream selects
    # fonts: check the recording still sees every operator and font map write, then update
    # the checksum.
    assert drawn_lines.ACTIVE, drawn_lines.source_sha256()


@pytest.mark.parametrize("destination", ["en", "ar", "zh"])
def test_the_pdf_is_the_one_drawn_without_memory(monkeypatch, reactivated, destination):
    earlier_cert, later_cert = renamed_samples(destination, "Alpha", "Bravo")
    first = render_certificate(earlier_cert).data  # every line seen once
    second = render_certificate(earlier_cert).data  # and recorded
    drawn_before = len(reactivated)
    replayed = render_certificate(later_cert).data  # the labels replayed, new values drawn
    drawn_later = reactivated[drawn_before:]
    assert any("Bravo" in text for text in drawn_later)
    assert len(drawn_later) < drawn_before / 6
    assert first == second == render_without(monkeypatch, earlier_cert, "drawn_lines_remembered")
    assert replayed == render_without(monkeypatch, later_cert, "drawn_lines_remembered")


def test_a_line_is_replayed_from_its_third_drawing_on(reactivated):
    cert = sample_certificate("bovine-nl-be", "INTRA")
    drawn = [render_certificate(cert).data]
    once = len(reactivated)
    drawn.append(render_certificate(cert).data)
    # Lines drawn once in the first render are recorded in the second, so WeasyPrint still
    # draws them (lines repeated within a render were recorded, then replayed, in the first).
    assert once / 2 < len(reactivated) - once <= once
    reactivated.clear()
    drawn.append(render_certificate(cert).data)
    assert drawn[0] == drawn[1] == drawn[2]
    # A new document embeds no font yet: the first line in each font is drawn by WeasyPrint.
    assert 0 < len(reactivated) <= 12 < once


def _plain_pdf(html: str, *, remembered: bool) -> bytes:
    scopes = (first_lines_remembered(), drawn_lines.drawn_lines_remembered()) if remembered else ()
    with contextlib.ExitStack() as stack:
        for scope in scopes:
            stack.enter_context(scope)
        return HTML(string=html).write_pdf(font_config=pdf_module.font_configuration())


@pytest.mark.parametrize("html", [
    # a character no installed font has: a .notdef glyph after drawable ones
    "<p style='font-family: Noto Sans'>Consignor \U0010fffd exporter</p>" * 2,
    # ellipsis: WeasyPrint narrows and re-shapes the line when it draws it
    "<p style='width: 20mm; white-space: nowrap; overflow: hidden; text-overflow: ellipsis'>"
    "Place of destination and loading</p>" * 2,
])
def test_lines_it_does_not_remember_are_drawn_by_weasyprint(reactivated, html):
    word = "exporter" if "exporter" in html else "Place"
    plain = _plain_pdf(html, remembered=False)
    assert page_texts(plain)[0].count(word) == 2
    for _ in range(3):
        assert _plain_pdf(html, remembered=True) == plain
    reactivated.clear()
    assert _plain_pdf(html, remembered=True) == plain
    assert len([text for text in reactivated if word in text]) == 2  # both drawn by WeasyPrint
