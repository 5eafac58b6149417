"""The watermark is drawn once per PDF, as a form XObject every page shows (renderers.svg_forms),
and the pages look exactly as when each page drew it itself.

Read back with pyHanko's PDF reader and poppler, not with the renderer's own code.
"""
from __future__ import annotations

import contextlib
import io
import re

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from weasyprint import HTML

import renderers.pdf as pdf_module
from renderers.model import parse_certificate
from renderers.render import render_certificate, render_pngs
from renderers.svg_forms import svg_drawn_once
from _render_helpers import has_poppler, page_resources, page_texts, sample

_DO = re.compile(rb"/(\w+)\s+Do\b")


def _pages(pdf: bytes):
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return [page.get_object() for page in reader.root["/Pages"]["/Kids"]]


def _forms_shown(page) -> list[str]:
    """Names of the form XObjects this page's content stream paints, in order."""
    xobjects = page_resources(page).get_object().get("/XObject", {})
    return [name.decode() for name in _DO.findall(page["/Contents"].data)
            if xobjects[f"/{name.decode()}"].get_object()["/Subtype"] == "/Form"]


def _training(model: str = "CHED-PP", name: str = "roses-ke-nl", destination: str | None = None):
    data = sample(name, model)
    if destination:
        data["destination_language"] = destination
    return parse_certificate(data)


def test_every_page_shows_the_one_watermark_form():
    pdf = render_certificate(_training()).data
    pages = _pages(pdf)
    assert len(pages) >= 4
    shown = [_forms_shown(page) for page in pages]
    # One form, on every page, and nothing else became a form (strike-throughs, QR code).
    assert all(names == shown[0] for names in shown), shown
    assert len(shown[0]) == 1
    form = page_resources(pages[0]).get_object()["/XObject"][f"/{shown[0][0]}"].get_object()
    assert "/Group" not in form  # a plain form: composited as the inline drawing was
    assert b"BT" in form.data and (b"Tj" in form.data or b"TJ" in form.data)  # the phrases' glyphs


def test_production_has_no_form():
    data = sample("roses-ke-nl")
    data["environment"] = "production"
    pdf = render_certificate(parse_certificate(data)).data
    assert all(_forms_shown(page) == [] for page in _pages(pdf))


@pytest.mark.skipif(not has_poppler(), reason="poppler-utils not installed")
@pytest.mark.parametrize("model, name, destination", [("CHED-PP", "roses-ke-nl", None), ("CHED-P", "tuna-vn-nl", "zh")])
def test_pages_look_as_when_each_page_draws_the_watermark(monkeypatch, model, name, destination):
    cert = _training(model, name, destination)
    shared = render_certificate(cert)
    monkeypatch.setattr(pdf_module, "svg_drawn_once", contextlib.nullcontext)
    inline = render_certificate(cert)
    assert all(_forms_shown(page) == [] for page in _pages(inline.data))
    assert render_pngs(shared, dpi=40) == render_pngs(inline, dpi=40)
    assert page_texts(shared.data) == page_texts(inline.data)


def test_other_weasyprint_documents_draw_inline():
    """Outside certseal's renders (the benchmark's naive baseline, say) WeasyPrint draws as
    it always does, and inside the block the same document gets its form."""
    html = ('<style>div { position: fixed; top: 0 } p { break-after: page }</style>'
            '<div><svg xmlns="http://www.w3.org/2000/svg" width="50" height="20">'
            '<text x="0" y="15">mark</text></svg></div><p>one</p><p>two</p><p>three</p>')
    plain = HTML(string=html).write_pdf()
    assert [len(_forms_shown(page)) for page in _pages(plain)] == [0, 0, 0]
    with svg_drawn_once():
        shared = HTML(string=html).write_pdf()
    assert [len(_forms_shown(page)) for page in _pages(shared)] == [1, 1, 1]
