"""HTML stage: one safe Jinja environment, bilingual labels, values printed once and escaped,
struck-through empty boxes, the QR code as vector SVG holding the verification URL."""
from __future__ import annotations

import re

import jinja2
import markupsafe
import pytest
import qrcode

from renderers.environment import DEFAULT_VERIFICATION_BASE, Environment
from renderers.html import LANGUAGES_WITH_OWN_FONTS, BoxView, jinja_environment, layout_rows, render_html
from renderers.resources import templates_dir
from renderers.model import load_model, parse_certificate
from renderers.qr import qr_code, verification_url
from _render_helpers import sample

HOSTILE_IMG = '<img src="file:///etc/passwd">'
HOSTILE_CSS = "url(http://127.0.0.1:9/x)"
HOSTILE_JINJA = "{{ 7*7 }}{% raw %}"


@pytest.fixture(scope="module")
def roses_html() -> str:
    return render_html(parse_certificate(sample("roses-ke-nl")))


def test_one_safe_environment():
    env = jinja_environment()
    assert env is jinja_environment()
    assert env.autoescape is True
    assert env.undefined is jinja2.StrictUndefined


def test_both_languages_labels_once_values_once(roses_html):
    assert '<html lang="nl">' in roses_html
    assert "Afzender/exporteur" in roses_html and "Consignor/Exporter" in roses_html
    assert roses_html.count("Naivasha Flower Growers Ltd") == 1  # values are printed once
    assert 'lang="en"' in roses_html  # second-language text is marked as such


def test_same_language_prints_labels_once():
    data = sample("roses-ke-nl")
    data["destination_language"] = "nl"
    html = render_html(parse_certificate(data))
    assert "Afzender/exporteur" in html and "Consignor/Exporter" not in html
    assert 'class="l2' not in html


@pytest.mark.parametrize("destination, joined", [("en", True), ("fr", True), ("ar", False), ("zh", False)])
def test_inline_separator_joins_the_second_language_only_where_it_draws_alike(destination, joined):
    """" / " goes inside a left-to-right second-language span in the page's font; a
    right-to-left span would draw it at its far end, a CJK span in another font."""
    data = sample("roses-ke-nl")
    data["destination_language"] = destination
    html = render_html(parse_certificate(data))
    inline = re.findall(r'(<span class="sep"> / </span>)?<span class="l2i" lang="' + destination
                        + r'"(?: dir="rtl")?>( / )?', html)
    inline = [(own, inside) for own, inside in inline if own or inside]  # not country names
    assert len(inline) > 10
    assert all(bool(inside) == joined and bool(own) != joined for own, inside in inline), inline


def test_languages_with_own_fonts_match_the_stylesheet():
    css = (templates_dir() / "base" / "certificate.css").read_text(encoding="utf-8")
    styled = set(re.findall(r":lang\((\w+)\)\s*\{\s*font-family", css))
    assert styled == LANGUAGES_WITH_OWN_FONTS


def test_empty_optional_boxes_are_struck_and_choices_ticked(roses_html):
    struck = re.findall(r'<div class="box kind-\w+ struck[^"]*" data-box="([^"]+)"', roses_html)
    assert "I.20" in struck and "I.22" in struck and "II.1" in struck
    assert "I.1" not in struck and "II.21" not in struck  # filled, and the seal box never is
    assert "☑" in roses_html and "☐" in roses_html
    assert "[Niet geselecteerd - weggelaten]" in roses_html
    assert 'id="certseal-seal"' in roses_html


def test_training_document_carries_watermark_in_both_languages(roses_html):
    for phrase in ("OPLEIDING — GEEN RECHTSGELDIGHEID", "TRAINING — NO LEGAL VALUE"):
        # the diagonal one, and the header banner of each part (each part has its own header)
        assert roses_html.count(phrase) == 1 + roses_html.count('<header class="page-header ')
    watermark = roses_html[roses_html.index('<div class="watermark"'):]
    assert "</section>" not in watermark  # last in the document: painted on top


def test_production_document_has_no_watermark():
    data = sample("roses-ke-nl")
    data["environment"] = "production"
    html = render_html(parse_certificate(data))
    assert 'class="watermark"' not in html
    assert "NO LEGAL VALUE" not in html and "RECHTSGELDIGHEID" not in html


@pytest.mark.parametrize("value", [HOSTILE_IMG, HOSTILE_CSS, HOSTILE_JINJA, "</style><script>x()</script>"])
def test_input_values_are_text_never_markup(value):
    data = sample("roses-ke-nl")
    data["fields"]["consignor"]["name"] = value
    data["fields"]["commodities"][0]["description"] = value
    html = render_html(parse_certificate(data))
    if any(c in value for c in '<>"'):
        assert value not in html
        assert str(markupsafe.escape(value)) in html
    else:
        assert html.count(value) == 2  # printed verbatim, as text
    assert "<img" not in html and "<script" not in html
    assert ">49<" not in html  # data is never evaluated as a template
    assert "<style" not in html and not re.search(r'style="[^"]*(127\.0\.0\.1|passwd)', html)


def test_qr_code_is_vector_and_holds_the_verification_url(roses_html):
    url = verification_url(Environment.TRAINING, "CHEDPP.BE.2026.0001234")
    assert url == DEFAULT_VERIFICATION_BASE[Environment.TRAINING] + "CHEDPP.BE.2026.0001234"
    code = qr_code(url)
    assert code.data == url
    # exactly the dark modules of qrcode's own matrix for that URL, quiet zone included
    reference = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    reference.add_data(url)
    reference.make(fit=True)
    matrix = reference.get_matrix()
    dark = {(x, y) for y, row in enumerate(matrix) for x, on in enumerate(row) if on}
    drawn = set()
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", code.path):
        drawn |= {(int(x) + i, int(y)) for i in range(int(w))}
    assert re.fullmatch(r"(M\d+ \d+h\d+v1h-\d+z)+", code.path)
    assert drawn == dark and code.size == len(matrix)
    svg = str(code.svg())
    assert svg.startswith("<svg") and f'd="{code.path}"' in svg and "<path" in svg
    assert f'd="{code.path}"' in roses_html  # inline on page 1, no raster image
    assert url in roses_html  # and printed in the footer


def test_verification_base_can_be_configured():
    cert = parse_certificate(sample("roses-ke-nl"))
    html = render_html(cert, verification_base="https://verify.example.org/c")
    assert "https://verify.example.org/c/CHEDPP.BE.2026.0001234" in html
    assert qr_code("https://verify.example.org/c/CHEDPP.BE.2026.0001234").path in html
    assert DEFAULT_VERIFICATION_BASE[Environment.TRAINING] not in html


def test_layout_rows_follow_model_order():
    model = load_model("CHED-PP")
    rows = layout_rows(tuple(BoxView(b, None) for b in model.boxes_in("I")))
    first = rows[0]
    assert [b.spec.id for b in first.left] == ["I.1"]
    assert [b.spec.id for b in first.right] == ["I.2", "I.3", "I.4", "I.5"]
    full = [r.full.spec.id for r in rows if r.full]
    assert "I.31" in full and "I.9" in full
    placed = [b.spec.id for r in rows for b in ([r.full] if r.full else r.left + r.right)]
    assert sorted(placed) == sorted(b.id for b in model.boxes_in("I"))
