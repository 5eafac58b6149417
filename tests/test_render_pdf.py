"""PDF stage, checked on the files themselves: A4, pages, both languages, reference and
"N / M" on every page, embedded fonts, PDF/A-3b, metadata (Info + XMP), the embedded input,
the environment watermark, and a URL fetcher that loads nothing but packaged assets."""
from __future__ import annotations

import io
import json
import re

import pydyf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

import renderers.pdf as pdf_module
from renderers.environment import Environment
from renderers.fetcher import ASSET_BASE, AssetFetcher, RefusedURL
from renderers.metadata import INFO_KEYS, XMP_NAMESPACE
from renderers.model import parse_certificate
from renderers.page_resources import inherit_shared_resources
from renderers.pdf import ATTACHMENT_NAME, RenderedPdf, UnsafeResourceError, html_to_pdf
from renderers.render import render_certificate, render_certificate_html, render_png, render_pngs
from renderers.samples import list_samples, load_sample
from renderers.watermark import all_watermark_phrases, watermark_phrase
from _render_helpers import (
    attachments, catalog_af_relationships, flat, has_poppler, info, page_sizes_pt, page_texts,
    page_texts_pdfminer, pdffonts, sample, xmp,
)

A4 = (595.28, 841.89)
SAMPLES = [s.name for s in list_samples("CHED-PP")]
# Words that appear in each language's rendering of the labels (first, second language).
LABELS = {
    "en": "Consignor/Exporter", "nl": "Afzender/exporteur",
    "de": "Versender/Ausführer", "fr": "Expéditeur/exportateur",
}


class _Rendered:
    def __init__(self, data: dict):
        self.input = data
        self.cert = parse_certificate(data)
        self.pdf: RenderedPdf = render_certificate(self.cert)
        self.texts = page_texts(self.pdf.data)


@pytest.fixture(scope="module")
def rendered() -> dict[str, _Rendered]:
    return {name: _Rendered(sample(name)) for name in SAMPLES}


@pytest.fixture(scope="module")
def production() -> _Rendered:
    data = sample("roses-ke-nl")
    data["environment"] = "production"
    return _Rendered(data)


@pytest.mark.parametrize("name", SAMPLES)
def test_a4_pages_and_page_numbers(rendered, name):
    r = rendered[name]
    sizes = page_sizes_pt(r.pdf.data)
    assert len(sizes) == r.pdf.page_count == len(r.texts) >= 2
    for width, height in sizes:
        assert abs(width - A4[0]) < 0.5 and abs(height - A4[1]) < 0.5
    total = r.pdf.page_count
    for number, text in enumerate(r.texts, start=1):
        assert re.search(rf"\b{number}\s*/\s*{total}\b", text), f"page {number}: no '{number} / {total}'"


@pytest.mark.parametrize("name", SAMPLES)
def test_both_languages_and_reference_on_every_page(rendered, name):
    r = rendered[name]
    full = "\n".join(r.texts)
    assert LABELS[r.cert.language] in full and LABELS[r.cert.destination_language] in full
    for number, text in enumerate(r.texts, start=1):
        assert r.cert.reference in text, f"page {number}: reference missing"
    # values are printed (once per document, not per language)
    assert full.count(r.input["fields"]["consignor"]["name"]) == 1


def test_long_commodity_list_runs_over_pages(rendered):
    r = rendered["plants-40-lines-cr-fr"]
    assert len(r.input["fields"]["commodities"]) == 40
    assert r.pdf.page_count >= 3
    pages = [flat(t) for t in r.texts]
    with_goods = [t for t in pages if re.search(r"lot \d\d", t)]
    assert len(with_goods) >= 2
    for text in with_goods:  # the table head is repeated on every page the table spans
        assert "Code OEPP" in text and "EPPO-code" in text
    # every line printed exactly once across the page breaks (descriptions end in "lot NN";
    # text extraction interleaves neighbouring cells, so match that part only)
    for i in range(1, 41):
        assert sum(t.count(f"lot {i:02d}") for t in pages) == 1, f"lot {i:02d}"


@pytest.mark.skipif(not has_poppler(), reason="poppler-utils not installed")
@pytest.mark.parametrize("name", SAMPLES)
def test_fonts_are_embedded_noto(rendered, name):
    fonts = pdffonts(rendered[name].pdf.data)
    assert fonts
    for font in fonts:
        assert font["emb"] == "yes", font
        assert "Noto" in font["name"], font


@pytest.mark.parametrize("name", SAMPLES)
def test_metadata_info_and_xmp(rendered, name):
    r = rendered[name]
    entries = info(r.pdf.data)
    assert entries["CertsealEnvironment"] == "training"
    assert entries["CertsealReference"] == r.cert.reference
    assert entries["CertsealModel"] == "CHED-PP"
    assert entries["CertsealVersion"] == str(r.cert.version)
    assert set(INFO_KEYS.values()) <= set(entries)
    assert entries["Title"] == f"CHED-PP {r.cert.reference}"
    root = xmp(r.pdf.data)
    ns = {"c": XMP_NAMESPACE, "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
          "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
    assert root.find(".//c:environment", ns).text == "training"
    assert root.find(".//c:reference", ns).text == r.cert.reference
    assert root.find(".//c:model", ns).text == "CHED-PP"
    # PDF/A-3b identification and an extension schema declaring our namespace
    description = root.find(".//rdf:Description[@pdfaid:part]", ns)
    assert description.get(f"{{{ns['pdfaid']}}}part") == "3"
    assert description.get(f"{{{ns['pdfaid']}}}conformance") == "B"
    namespaces = [e.text for e in root.iter("{http://www.aiim.org/pdfa/ns/schema#}namespaceURI")]
    assert XMP_NAMESPACE in namespaces


@pytest.mark.parametrize("name", SAMPLES)
def test_input_is_embedded_exactly(rendered, name):
    r = rendered[name]
    files = attachments(r.pdf.data)
    assert list(files) == [ATTACHMENT_NAME]
    assert files[ATTACHMENT_NAME] == r.cert.source_json
    assert json.loads(files[ATTACHMENT_NAME]) == r.input
    assert catalog_af_relationships(r.pdf.data) == ["Source"]


@pytest.mark.parametrize("name", SAMPLES)
def test_training_watermark_in_both_languages_on_every_page(rendered, name):
    r = rendered[name]
    phrases = {watermark_phrase(Environment.TRAINING, r.cert.language),
               watermark_phrase(Environment.TRAINING, r.cert.destination_language)}
    assert len(phrases) == 2
    for number, text in enumerate(r.texts, start=1):
        for phrase in phrases:
            assert phrase in text, f"page {number}: {phrase!r} missing"


def test_watermark_phrases_survive_pdfminer_extraction(rendered):
    # The verifier may read page text with pdfminer.six: each phrase must come out whole.
    r = rendered["roses-ke-nl"]
    for text in page_texts_pdfminer(r.pdf.data):
        assert "OPLEIDING — GEEN RECHTSGELDIGHEID" in text and "TRAINING — NO LEGAL VALUE" in text


def test_production_has_no_watermark(production):
    assert info(production.pdf.data)["CertsealEnvironment"] == "production"
    every_phrase = set().union(*all_watermark_phrases().values())
    for text in production.texts:
        assert not any(p in text for p in every_phrase)
        assert "LEGAL VALUE" not in text
    assert "https://certseal.example/certificates/CHEDPP.BE.2026.0001234" in production.texts[0]


def test_acceptance_watermark():
    data = sample("citrus-za-de")
    data["environment"] = "acceptance"
    r = _Rendered(data)
    for text in r.texts:
        assert "ABNAHME — KEINE RECHTSGÜLTIGKEIT" in text and "RECETTE — SANS VALEUR JURIDIQUE" in text
        assert "SCHULUNG" not in text
    assert "https://acceptance.certseal.example/certificates/" in r.texts[0]


def test_output_is_deterministic(rendered):
    r = rendered["roses-ke-nl"]
    assert render_certificate(r.cert).data == r.pdf.data


@pytest.mark.parametrize("name", SAMPLES)
def test_pages_inherit_one_resource_dictionary_holding_every_font_they_use(rendered, name):
    reader = PdfFileReader(io.BytesIO(rendered[name].pdf.data), strict=True)
    page_tree = reader.root["/Pages"]
    fonts = set(page_tree["/Resources"]["/Font"])
    for page in page_tree["/Kids"]:
        page = page.get_object()
        assert "/Resources" not in page
        used = {"/" + m.decode() for m in re.findall(rb"/([A-Za-z0-9]+) [0-9.]+ Tf", page["/Contents"].data)}
        assert used and used <= fonts


def test_pages_with_resources_of_their_own_keep_them():
    pdf = pydyf.PDF()
    for name in ("R1", "R2"):
        resources = pydyf.Dictionary({"Font": pydyf.Dictionary({name: 0})})
        pdf.add_object(resources)
        page = pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference, "Resources": resources.reference})
        pdf.add_page(page)
    inherit_shared_resources(pdf)
    assert "Resources" not in pdf.pages
    assert all("Resources" in pdf.objects[n] for n in pdf.pages["Kids"][::3])


def test_seal_place_is_in_the_certifying_officer_box(rendered):
    # Part II ends with the certifying officer's box (II.21), where the seal goes; Part III
    # (follow-up) comes after it on pages of its own.
    r = rendered["roses-ke-nl"]
    seal = r.pdf.seal_box
    officer_pages = [i for i, t in enumerate(r.texts) if "II.21." in t]
    assert seal is not None and officer_pages and seal.page == officer_pages[0]
    assert seal.page < r.pdf.page_count - 1 and "III." in r.texts[-1]
    assert 0 < seal.x1 < seal.x2 <= A4[0] and 0 < seal.y1 < seal.y2 <= A4[1]
    assert seal.x2 - seal.x1 > 100 and seal.y2 - seal.y1 > 50
    assert info(r.pdf.data)["CertsealSealBox"] == seal.as_info()


def test_the_seal_is_found_on_the_page_that_lists_its_id():
    cert = parse_certificate(load_sample("CHED-PP", "roses-ke-nl"))
    document = pdf_module.parse_html(render_certificate_html(cert), AssetFetcher()).render(
        font_config=pdf_module.font_configuration(), stylesheets=pdf_module.stylesheets(cert.model))
    found = pdf_module._find_seal_box(document)
    for page in document.pages:  # without the ids, every page's boxes are searched
        page.anchors = None
    assert found is not None and found == pdf_module._find_seal_box(document)


# ------------------------------------------------------------------ fetching & safety

@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "http://127.0.0.1:9/x",
    "https://example.org/logo.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "ftp://example.org/x",
    "certseal://assets/../../../etc/passwd",
    "certseal://assets/models/ched_pp/model.toml",  # package data, but not an asset
    "certseal://elsewhere/base/certificate.css",
])
def test_fetcher_refuses_everything_but_assets(url):
    fetcher = AssetFetcher()
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_packaged_assets():
    fetcher = AssetFetcher()
    response = fetcher.fetch(ASSET_BASE + "base/certificate.css")
    assert b"@page" in response.read()
    assert response.content_type == "text/css"


def test_html_asking_for_a_file_is_not_rendered():
    cert = parse_certificate(sample("roses-ke-nl"))
    html = '<html><body><p>x</p><img src="file:///etc/passwd"></body></html>'
    with pytest.raises(UnsafeResourceError):
        html_to_pdf(html, cert)


class _SpyFetcher(AssetFetcher):
    instances: list["_SpyFetcher"] = []

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        _SpyFetcher.instances.append(self)

    def fetch(self, url, headers=None):
        self.asked = getattr(self, "asked", []) + [url]
        return super().fetch(url, headers)


def test_hostile_values_are_printed_not_fetched(monkeypatch):
    data = sample("roses-ke-nl")
    data["fields"]["consignor"]["name"] = '<img src="file:///etc/passwd">'
    data["fields"]["consignee"]["name"] = "url(http://127.0.0.1:9/x)"
    data["fields"]["commodities"][0]["description"] = '<link rel="attachment" href="file:///etc/hosts">'
    monkeypatch.setattr(pdf_module, "AssetFetcher", _SpyFetcher)
    _SpyFetcher.instances.clear()
    r = _Rendered(data)
    assert _SpyFetcher.instances, "the render used the fetcher"
    assert all(not getattr(f, "asked", []) for f in _SpyFetcher.instances)  # nothing fetched
    assert all(not f.refused for f in _SpyFetcher.instances)
    text = "\n".join(r.texts)
    assert '<img src="file:///etc/passwd">' in text
    assert "url(http://127.0.0.1:9/x)" in text
    assert list(attachments(r.pdf.data)) == [ATTACHMENT_NAME]


@pytest.mark.skipif(not has_poppler(), reason="poppler-utils not installed")
def test_png_preview(rendered):
    r = rendered["roses-ke-nl"]
    pngs = render_pngs(r.pdf, dpi=30)
    assert len(pngs) == r.pdf.page_count
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    assert len(render_pngs(r.pdf.data, dpi=20, first_page=2, last_page=2)) == 1
    second = render_png(r.pdf.data, page=2, dpi=30)
    assert second == pngs[1]
    with pytest.raises(Exception):
        render_png(r.pdf.data, page=99, dpi=20)


# ------------------------------------------------------------------ parsing the HTML
PARSE_PAIRS = [("nl", "en"), ("fr", "zh"), ("de", "ar"), ("bg", "ja"), ("el", "ru"), ("en", "he")]


@pytest.mark.parametrize("model_id", ["CHED-PP", "CHED-P", "CHED-A", "CHED-D", "INTRA", "EXPORT"])
def test_every_model_and_language_takes_the_fast_parse(model_id):
    """The templates write well-formed markup, so the certificate HTML is parsed by expat
    (about 1 ms) and not by the HTML5 parser (about 55 ms): a template edit that breaks
    well-formedness still renders, slower, and fails here."""
    from renderers.html import render_html

    for name in [s.name for s in list_samples(model_id)]:
        for lang, dest in PARSE_PAIRS:
            data = sample(name, model_id)
            data.update(language=lang, destination_language=dest)
            html = render_html(parse_certificate(data))
            assert pdf_module.xml_tree(html) is not None, (model_id, name, lang, dest)


@pytest.mark.skipif(not has_poppler(), reason="poppler-utils not installed")
@pytest.mark.parametrize("model_id, name, dest", [("CHED-PP", "roses-ke-nl", "ar"), ("INTRA", None, "zh")])
def test_fast_parse_renders_what_the_html5_parser_renders(monkeypatch, model_id, name, dest):
    """Same pages, pixel for pixel at 40 dpi, and the same text, whichever parser read the HTML."""
    data = sample(name or list_samples(model_id)[0].name, model_id)
    data["destination_language"] = dest
    cert = parse_certificate(data)
    fast = render_certificate(cert)
    monkeypatch.setattr(pdf_module, "xml_tree", lambda html: None)
    html5 = render_certificate(cert)
    assert page_texts(fast.data) == page_texts(html5.data)
    assert render_pngs(fast, dpi=40) == render_pngs(html5, dpi=40)
    assert fast.seal_box == html5.seal_box


def test_markup_expat_refuses_still_renders():
    """A value XML 1.0 cannot carry (the noncharacter U+FFFF; input validation already refuses
    control characters) sends the HTML to the HTML5 parser instead of failing the certificate."""
    data = sample("roses-ke-nl")
    data["fields"]["consignor"]["name"] = "Naivasha\uffffFlower Growers"
    cert = parse_certificate(data)
    from renderers.html import render_html

    assert pdf_module.xml_tree(render_html(cert)) is None
    texts = page_texts(render_certificate(cert).data)
    assert "Flower Growers" in texts[0]


def test_rendering_pauses_the_collector_and_restores_it(monkeypatch):
    """The cyclic collector is off during a render (see renderers.collector), back on
    afterwards, and left off when the application had turned it off itself."""
    import gc
    import threading

    from renderers.html import render_html

    seen = []
    render = pdf_module._html_to_pdf

    def spy(html, cert):
        seen.append(gc.isenabled())
        return render(html, cert)

    cert = parse_certificate(sample("roses-ke-nl"))
    html = render_html(cert)
    monkeypatch.setattr(pdf_module, "_html_to_pdf", spy)
    assert gc.isenabled()
    html_to_pdf(html, cert)
    assert seen == [False] and gc.isenabled()
    # Two renders in threads: the collector comes back once both are done.
    threads = [threading.Thread(target=html_to_pdf, args=(html, cert)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [False, False, False] and gc.isenabled()
    gc.disable()
    try:
        html_to_pdf(html, cert)
        assert not gc.isenabled()
    finally:
        gc.enable()
