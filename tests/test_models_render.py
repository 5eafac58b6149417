"""Every model renders from its sample data, in the language pairs the EU needs (with English
labels as the explicitly allowed fallback for languages whose catalog does not exist yet), the
attestation text is rendered from typed nodes, and 300 commodity lines paginate cleanly."""
from __future__ import annotations

import re

import pytest

from renderers.clauses import Check, Footnote, Text, parse_clauses
from renderers.html import render_html
from renderers.i18n import supported_languages, translator
from renderers.model import available_models, load_model, parse_certificate
from renderers.render import render_certificate
from renderers.samples import list_samples, load_sample, long_consignment
from _render_helpers import flat, has_poppler, page_texts, pdffonts, sample

MODELS = ("CHED-PP", "CHED-P", "CHED-A", "CHED-D", "INTRA", "EXPORT")
PAIRS = [("nl", "en"), ("fr", "zh"), ("de", "ar"), ("bg", "ja"), ("el", "ru")]
# Box label of I.1 per catalog language; languages without a catalog fall back to English.
FIRST_SAMPLE = {m: next(s.name for s in list_samples(m) if "300" not in s.name) for m in MODELS}


def test_all_models_are_data():
    assert set(MODELS) <= set(available_models())
    for model_id in MODELS:
        model = load_model(model_id)
        assert model.box("I.1").kind == "party"
        parts = [p.id for p in model.parts]
        assert parts == (["I", "II", "III"] if model_id.startswith("CHED") else ["I", "II"])
        signatures = [b for b in model.boxes if b.kind == "signature" and b.seal]
        assert len(signatures) == 1 and signatures[0].part == "II"  # the official's block


def test_ched_models_share_one_template():
    for model_id in ("CHED-PP", "CHED-P", "CHED-A", "CHED-D"):
        model = load_model(model_id)
        path = f"templates/{model.template}"
        from renderers.resources import templates_dir
        text = (templates_dir() / model.template).read_text()
        assert 'extends "base/ched.html.j2"' in text and len(text.splitlines()) <= 3, path


def _allowed_label(lang: str, msgid: str) -> str:
    """The label expected in `lang`: its translation, or (explicitly allowed) the English msgid
    while the language has no catalog."""
    t = translator(lang)
    return t.gettext(msgid) if t.has_catalog else msgid


@pytest.mark.parametrize("model_id", MODELS)
@pytest.mark.parametrize("lang, dest", PAIRS, ids=lambda v: v if isinstance(v, str) else None)
def test_model_renders_in_language_pair(model_id, lang, dest):
    data = sample(FIRST_SAMPLE[model_id], model_id)
    data.update(language=lang, destination_language=dest)
    cert = parse_certificate(data)
    html = render_html(cert)
    label = cert.model.box("I.1").label
    assert _allowed_label(lang, label) in html and _allowed_label(dest, label) in html
    assert f'lang="{dest}"' in html
    if translator(dest).rtl:
        assert f'lang="{dest}" dir="rtl"' in html
    # country names and dates follow the language even without a catalog (CLDR)
    country = cert.fields["consignor"].country
    assert translator(dest).country_name(country) in html


@pytest.mark.parametrize("model_id", MODELS)
def test_model_sample_renders_to_pdf(model_id):
    cert = parse_certificate(sample(FIRST_SAMPLE[model_id], model_id))
    pdf = render_certificate(cert)
    texts = page_texts(pdf.data)
    assert len(texts) == pdf.page_count >= 2
    for number, text in enumerate(texts, start=1):
        assert cert.reference in text and re.search(rf"\b{number}\s*/\s*{len(texts)}\b", text)
    # Each page's margin carries the label of the part it belongs to: Part I from page 1,
    # then every part in order, each starting a page.
    titles = {part.id: flat(translator(cert.language).gettext(part.title)) for part in cert.model.parts}
    labels = [[pid for pid, title in titles.items() if title in flat(text)] for text in texts]
    assert all(len(found) == 1 for found in labels), labels
    sequence = [found[0] for found in labels]
    assert sequence[0] == "I" and sequence == sorted(sequence, key=list(titles).index)
    assert set(sequence) == set(titles)
    assert pdf.seal_box is not None


def test_every_part_of_every_model_has_its_named_page():
    """Running headers and part labels are per part (named pages in certificate.css): a model
    whose part had no rules would print pages without header or label."""
    from renderers.resources import templates_dir

    css = (templates_dir() / "base/certificate.css").read_text()
    for model_id in available_models():
        for part in load_model(model_id).parts:
            pid = part.id
            assert f".part-{pid} {{ page: part-{pid}; }}" in css, (model_id, pid)
            assert f"@page part-{pid} {{ @top-center {{ content: element(page-header-{pid}); }}" in css
            assert f"@left-middle {{ content: element(part-label-{pid}); }}" in css


@pytest.mark.skipif(not has_poppler(), reason="poppler-utils not installed")
@pytest.mark.parametrize("lang, dest, font", [("bg", "ja", "CJKjp"), ("de", "ar", "Naskh"), ("fr", "zh", "CJKsc")])
def test_scripts_use_noto_fonts(lang, dest, font):
    data = sample(FIRST_SAMPLE["CHED-P"], "CHED-P")
    data.update(language=lang, destination_language=dest)
    fonts = pdffonts(render_certificate(parse_certificate(data)).data)
    names = " ".join(f["name"] for f in fonts)
    assert all(f["emb"] == "yes" and "Noto" in f["name"] for f in fonts), fonts
    assert font.lower() in names.lower().replace("-", ""), names


def test_arabic_is_shaped_and_extractable():
    data = sample(FIRST_SAMPLE["EXPORT"], "EXPORT")
    data.update(language="de", destination_language="ar")
    text = "\n".join(page_texts(render_certificate(parse_certificate(data)).data))
    assert translator("ar").country_name("NZ") in text or "نيوزيلندا" in text


def test_three_hundred_lines_paginate_cleanly():
    data = long_consignment(load_sample("CHED-P", "tuna-vn-nl"), 300)
    cert = parse_certificate(data)
    pdf = render_certificate(cert)
    texts = [flat(t) for t in page_texts(pdf.data)]
    assert pdf.page_count >= 8
    for number, text in enumerate(texts, start=1):
        assert cert.reference in text and re.search(rf"\b{number}\s*/\s*{len(texts)}\b", text)
    with_lines = [t for t in texts if re.search(r"line \d{3}", t)]
    assert len(with_lines) >= 6
    head = translator("nl").gettext("Batch number")
    assert all(head in t for t in with_lines)  # the table head repeats on every page
    for i in range(1, 301):  # every line once: none lost, none split over two pages
        assert sum(t.count(f"line {i:03d}") for t in texts) == 1, i


def test_committed_long_sample_is_generated():
    committed = load_sample("CHED-P", "tuna-300-lines-nl-fr")
    assert len(committed["fields"]["commodities"]) == 300
    expected = long_consignment(load_sample("CHED-P", "tuna-vn-nl"), 300)
    assert committed["fields"] == expected["fields"]


# ------------------------------------------------------------------- attestation text

def test_clause_tokens():
    text = parse_clauses("(1)either - [x] [I certify:]\n(1)or - [ ] ~~[the other one]~~\n"
                         "Article 6(2)(a) applies on null (insert date) before departure(3).\n\n(1) Delete.")
    first, second, third = text.paragraphs[0].lines
    assert isinstance(first.nodes[0], Footnote) and Check(True) in first.nodes and first.chosen
    assert second.omitted and not second.chosen
    assert [n.kind for n in third.nodes] == ["text", "blank", "text", "footnote", "text"]
    assert "6(2)(a)" in third.nodes[0].text  # a legal reference, not a footnote
    assert text.paragraphs[1].lines[0].nodes[0] == Footnote("1")


def test_omitted_alternative_hides_its_struck_body():
    text = parse_clauses("(1)or - [ ] ~~[II.2. Section~~\n~~II.2.1. struck body~~\nII.3. kept")
    lines = text.paragraphs[0].lines
    assert len(lines) == 2 and lines[0].omitted and lines[1].nodes == (Text("II.3. kept"),)


def test_attestation_is_escaped_text_never_markup():
    data = sample(FIRST_SAMPLE["EXPORT"], "EXPORT")
    data["fields"]["health_attestation"] = {"en": '- [x] <img src="file:///etc/passwd"> {{ 7*7 }} ~~<b>x</b>~~'}
    html = render_html(parse_certificate(data))
    assert "<img" not in html and "<b>x</b>" not in html and ">49<" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html and "{{ 7*7 }}" in html


def test_attestation_in_both_languages():
    cert = parse_certificate(sample(FIRST_SAMPLE["EXPORT"], "EXPORT"))
    html = render_html(cert)
    assert "Der unterzeichnete amtliche Tierarzt" in html and "I, the undersigned official veterinarian" in html
    assert html.index("Der unterzeichnete") < html.index("I, the undersigned official")  # officer's language first


def test_catalogs_cover_every_new_model():
    from renderers.i18n import missing_translations
    for lang in ("en", "nl", "de", "fr"):
        assert lang in supported_languages() and missing_translations(lang) == []


def test_attestation_text_is_tokenized_once_per_text():
    from renderers.clauses import parse_clauses

    text = "I, the undersigned official veterinarian, certify that:\n(1) [x] the animals ~~were~~ are fit\n"
    first = parse_clauses(text)
    assert parse_clauses(str(text)) is first  # kept: the result is immutable
    other = parse_clauses(text.replace("[x]", "[ ]"))
    assert other is not first and other != first
    assert other.paragraphs[0].lines[1].nodes != first.paragraphs[0].lines[1].nodes
