"""Elements with the same tag and attributes get the same parsed attribute declarations
(renderers.attribute_styles), so WeasyPrint shares their computed style: only theirs, with
every value what WeasyPrint computes without sharing, and the same PDF."""
from __future__ import annotations

import contextlib

import pytest
from weasyprint import HTML

import renderers.attribute_styles as attribute_styles
from renderers.render_memory import RenderMemory
import renderers.pdf as pdf_module
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate

_PAGE = """<html lang="nl"><style>
  .l2 { font-style: italic; color: #555 } [lang=de] { font-weight: bold }
  p:first-child { margin-top: 0 } td:nth-child(2) { text-align: right }
</style><body>
  <p><span class="l2" lang="en">one</span> <span class="l2" lang="en">two</span></p>
  <p><span class="l2" lang="de">drei</span> <span lang="en" class="l2">four</span>
     <span class="l2" lang="en" style="color: red">five</span> <span class="l2" lang="en" style="color: blue">six</span></p>
  <p id="seven"><a name="eight">8</a> <a name="nine">9</a> <a href="#seven">7</a></p>
  <table><tr><td lang="en">a</td><td lang="en">b</td></tr><tr><td lang="en">c</td><td lang="fr">d</td></tr></table>
  <svg width="10mm" height="10mm"><rect width="5" height="5"/></svg> <svg width="20mm" height="10mm"><rect width="5" height="5"/></svg>
</body></html>"""
_PROPERTIES = ("lang", "color", "font_style", "font_weight", "margin_top", "text_align_all", "anchor", "width", "height")


def _styles(html: str, *, shared: bool) -> list[tuple]:
    """(element text, style object, values) for every box made from an element."""
    scope = attribute_styles.attribute_styles_shared() if shared else contextlib.nullcontext()
    with scope:
        document = HTML(string=html).render(font_config=pdf_module.font_configuration())
    found = []
    for box in document.pages[0]._page_box.descendants():
        element = getattr(box, "element", None)
        if element is None or box.style.parent_style is None or type(box).__name__ in ("LineBox", "TextBox"):
            continue
        label = "".join(element.itertext()).strip() or element.tag
        found.append((element.tag, label, box.style, tuple(repr(box.style[p]) for p in _PROPERTIES)))
    return found


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed find_style_attributes or StyleFor.__init__:
    # check that equal attributes still mean equal declarations, then update the checksum.
    assert attribute_styles.ACTIVE, attribute_styles.source_sha256()


def test_every_element_gets_the_values_weasyprint_computes():
    shared = _styles(_PAGE, shared=True)
    alone = _styles(_PAGE, shared=False)
    assert [(tag, label, values) for tag, label, _, values in shared] == [
        (tag, label, values) for tag, label, _, values in alone]


def test_only_elements_with_the_same_attributes_share_a_style():
    def style_of(found, label):
        (style,) = {id(style) for tag, text, style, _ in found if text == label and tag != "p"}
        return style

    shared = _styles(_PAGE, shared=True)
    alone = _styles(_PAGE, shared=False)
    # Same tag, attributes and parent: one style, where WeasyPrint made two.
    assert style_of(shared, "one") == style_of(shared, "two")
    assert style_of(alone, "one") != style_of(alone, "two")
    assert style_of(shared, "a") == style_of(shared, "c")
    # Any attribute different (lang, style, name, width, even their order): styles of their own.
    for first, second in (("one", "drei"), ("five", "six"), ("one", "five"), ("one", "four"),
                          ("8", "9"), ("b", "d"), ("a", "b")):
        assert style_of(shared, first) != style_of(shared, second), (first, second)
    svgs = [style for tag, _, style, _ in shared if tag == "{http://www.w3.org/2000/svg}svg"]
    assert len(svgs) == 2 and svgs[0] is not svgs[1]


@pytest.mark.parametrize("name, model, destination", [
    ("peppers-tr-fr", "CHED-D", None),
    ("roses-ke-nl", "CHED-PP", "ja"),
])
def test_the_pdf_is_the_one_weasyprint_makes_without_sharing(monkeypatch, name, model, destination):
    cert = sample_certificate(name, model, destination)
    assert render_certificate(cert).data == render_without(monkeypatch, cert, "attribute_styles_shared")


def test_what_is_remembered_is_bounded(monkeypatch):
    monkeypatch.setattr(attribute_styles, "_parsed", RenderMemory(3))
    html = "".join(f'<p lang="x-bounded-{i}">{i}</p>' for i in range(10))  # not seen before
    with attribute_styles.attribute_styles_shared():
        HTML(string=html).render(font_config=pdf_module.font_configuration())
    assert attribute_styles.remembered() <= 3


def test_attributes_without_declarations_one_render_alone_had_are_not_kept():
    # A certificate's own addresses (its QR code's, its verification link's) must not pile up
    # in a worker that renders thousands; a lang's declarations are kept at once.
    def render(href: str, lang: str = "x-kept") -> None:
        html = f'<p lang="{lang}"><a href="https://verify.example/{href}">{href}</a></p>'
        with attribute_styles.attribute_styles_shared():
            HTML(string=html).render(font_config=pdf_module.font_configuration())

    render("warm-up 1")
    render("warm-up 2")  # what every such document has (html, body ...) is kept from here
    before = attribute_styles.remembered()
    for i in range(3):
        render(f"certificate {i}")
    assert attribute_styles.remembered() == before
    render("certificate 4", lang="x-kept-at-once")
    assert attribute_styles.remembered() == before + 1
