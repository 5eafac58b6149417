"""Line breaks are remembered across renders (renderers.first_lines), and the PDF is the one
WeasyPrint gives when it shapes every text anew."""
from __future__ import annotations

from math import inf

import pytest
from weasyprint.css.properties import INITIAL_VALUES

import renderers.first_lines as first_lines
import renderers.pdf as pdf_module
from renderers.render import render_certificate
from renderers.text_memory import PerFontConfiguration
from _render_helpers import renamed_samples, render_without, sample_certificate

_SPLIT = first_lines._split_first_line


@pytest.fixture
def empty_cache(monkeypatch):
    monkeypatch.setattr(first_lines, "_answers", PerFontConfiguration(max_entries=5_000))


@pytest.fixture
def shaped(monkeypatch, empty_cache) -> list[str]:
    """The texts WeasyPrint itself shapes (cache misses), in order."""
    texts: list[str] = []

    def counting(text, *args, **kwargs):
        texts.append(text)
        return _SPLIT(text, *args, **kwargs)

    monkeypatch.setattr(first_lines, "_split_first_line", counting)
    return texts


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed split_first_line, Layout or the font
    # description: check text_memory.TEXT_PROPERTIES still lists every style property they
    # read, and that the answer's Layout is still deactivated, then update the checksum.
    assert first_lines.ACTIVE, first_lines.source_sha256()


@pytest.mark.parametrize("destination", ["en", "ar"])  # Latin; Arabic: right to left, joined
def test_the_pdf_is_the_one_without_the_cache(monkeypatch, shaped, destination):
    earlier_cert, later_cert = renamed_samples(destination, "Alpha", "Bravo Charlie")

    cold = render_certificate(earlier_cert).data  # an empty cache: repeats within the render
    misses_cold = len(shaped)
    again = render_certificate(earlier_cert).data  # shaped again, now kept: a second render made it
    shaped.clear()
    warm = render_certificate(later_cert).data  # the labels remembered, new values
    assert shaped and any("Bravo" in text for text in shaped)
    assert len(shaped) < misses_cold / 2
    assert cold == again == render_without(monkeypatch, earlier_cert, "first_lines_remembered")
    assert warm == render_without(monkeypatch, later_cert, "first_lines_remembered")


def test_a_third_render_of_a_certificate_shapes_no_first_line_again(shaped):
    cert = sample_certificate("bovine-nl-be", "INTRA")
    font_config = pdf_module.font_configuration()
    first = render_certificate(cert).data
    assert len(shaped) > 100
    assert first_lines.cache_size(font_config) == 0  # one render alone made it all: nothing kept
    assert render_certificate(cert).data == first
    assert first_lines.cache_size(font_config) > 100
    shaped.clear()
    assert render_certificate(cert).data == first
    assert shaped == []


def test_what_one_certificate_alone_has_is_not_kept(shaped):
    # A worker issues thousands of distinct certificates: their own values must not pile up.
    earlier_cert, later_cert = renamed_samples("en", "Alpha", "Bravo Charlie")
    font_config = pdf_module.font_configuration()
    render_certificate(earlier_cert)
    render_certificate(earlier_cert)
    kept = first_lines.cache_size(font_config)
    shaped.clear()
    render_certificate(later_cert)
    bravo = [text for text in shaped if "Bravo" in text]
    assert bravo
    assert first_lines.cache_size(font_config) == kept
    shaped.clear()
    render_certificate(later_cert)  # a second render of the same values: now they are kept
    assert [text for text in shaped if "Bravo" in text] == bravo
    assert first_lines.cache_size(font_config) > kept
    shaped.clear()
    render_certificate(later_cert)
    assert shaped == []


def _style(**values):
    """The kind of plain style WeasyPrint's SVG text builds: initial values, a font config."""
    class Style(dict):
        pass

    style = Style(INITIAL_VALUES)
    style.font_config = pdf_module.font_configuration()
    style.update({"font_family": ("DejaVu Sans",), "font_size": 12.0, **values})
    return style


def _split(text, style, max_width=60.0):
    return first_lines.split_first_line(text, style, None, max_width, 0)


def test_each_caller_gets_its_own_layout(shaped):
    style = _style()
    with first_lines.first_lines_remembered():
        first = _split("Consignor exporter", style)
        second = _split("Consignor exporter", style)
    assert shaped == ["Consignor exporter"]
    assert first[1:] == second[1:] and first[2] is not None  # the line was broken
    assert first[0] is not second[0] and vars(first[0]) == vars(second[0])
    first[0].text = "changed by a draw step"
    with first_lines.first_lines_remembered():
        assert _split("Consignor exporter", style)[0].text == second[0].text


def test_a_style_property_or_width_that_differs_shapes_again(shaped):
    with first_lines.first_lines_remembered():
        _split("Consignor exporter", _style())
        _split("Consignor exporter", _style(), max_width=200.0)
        _split("Consignor exporter", _style(font_weight=700))
        _split("Consignor exporter", _style(letter_spacing=1.5))
        _split("Consignor exporter", _style(lang="nl"))
        _split("Consignor exporter", _style(font_family=["DejaVu Sans"]))  # as SVG text sets it
    assert len(shaped) == 5


def test_unhashable_styles_and_calls_outside_the_scope_are_not_kept(shaped):
    font_config = pdf_module.font_configuration()
    unhashable = _style(font_variation_settings=[["wght", 500]])
    with first_lines.first_lines_remembered():
        _split("Watermark", unhashable, inf)
        _split("Watermark", unhashable, inf)
    _split("Outside", _style())
    _split("Outside", _style())
    assert len(shaped) == 4
    assert first_lines.cache_size(font_config) == 0


def test_the_cache_is_bounded_least_recently_used_first(monkeypatch, shaped):
    monkeypatch.setattr(first_lines._answers, "max_entries", 3)
    font_config = pdf_module.font_configuration()
    style = _style()
    with first_lines.first_lines_remembered():  # an earlier render: made, not kept
        for text in ("one", "two", "three", "four"):
            _split(text, style)
    assert first_lines.cache_size(font_config) == 0
    with first_lines.first_lines_remembered():
        for text in ("one", "two", "three"):
            _split(text, style)
        _split("one", style)  # used again: "two" is now the least recently used
        _split("four", style)
        assert first_lines.cache_size(font_config) == 3
        shaped.clear()
        _split("one", style)
        _split("two", style)
    assert shaped == ["two"]


def test_what_a_render_alone_made_serves_its_own_repeats_then_goes(shaped):
    font_config = pdf_module.font_configuration()
    style = _style()
    with first_lines.first_lines_remembered():
        _split("IMSOC reference CHEDPP.NL.2026.0000001", style)
        _split("IMSOC reference CHEDPP.NL.2026.0000001", style)  # the next page's header
    assert shaped == ["IMSOC reference CHEDPP.NL.2026.0000001"]
    assert first_lines.cache_size(font_config) == 0
    with first_lines.first_lines_remembered():
        _split("IMSOC reference CHEDPP.NL.2026.0000001", style)
    assert len(shaped) == 2 and first_lines.cache_size(font_config) == 1


def test_a_template_reload_starts_from_a_new_font_configuration():
    # A stylesheet may declare other fonts after a reload: nothing shaped before may be reused.
    import renderers.drawn_lines as drawn_lines
    from renderers.reload import clear_caches

    cert = sample_certificate("bovine-nl-be", "INTRA")
    rendered = render_certificate(cert).data
    assert render_certificate(cert).data == rendered  # the second render keeps what both made
    before = pdf_module.font_configuration()
    assert first_lines.cache_size(before) > 0 and drawn_lines.cache_size(before) > 0
    clear_caches()
    after = pdf_module.font_configuration()
    assert after is not before
    assert first_lines.cache_size(after) == 0 and drawn_lines.cache_size(after) == 0
    assert render_certificate(cert).data == rendered
