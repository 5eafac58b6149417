"""Computed style values are worked out once per process per distinct style and every render
starts from them (renderers.shared_styles): every render lays out and paints as WeasyPrint
does alone, whatever an earlier render did to its own styles, and the same PDF."""
from __future__ import annotations

import contextlib
import functools

import pytest
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

import renderers.attribute_styles as attribute_styles
import renderers.shared_styles as shared_styles
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate

_PROPERTIES = ("color", "font_size", "line_height", "width", "padding_left", "margin_top", "overflow",
               "lang", "anchor", "display", "position", "float", "text_decoration_line")

# What a render does to its styles (zeroed table-cell padding, body overflow moved to the
# viewport), values from the page size, custom properties, math, rem and em, anchors and
# target counters, links, inherited and propagated values.
_STYLESHEET = """
  :root { --gap: 3mm; font-size: 11pt }
  body { overflow: hidden; color: #333 }
  .vw { width: 40vw; margin-top: calc(1rem + 2px) } .vh { height: 5vh; border: 1px solid }
  .fs { font-size: 2vw } /* inherited by the text's anonymous style: from the page size too */
  .var { padding: var(--gap) calc(var(--gap) * 2); font-size: 1.2em }
  table { border-collapse: collapse } td { padding: 4px; border: 1px solid }
  .sep { border-collapse: separate } u { text-decoration: underline } em { color: currentcolor }
  a::after { content: " (p. " target-counter(attr(href), page) ")" }
  h2 { break-before: page } span[lang=en] { font-style: italic }
  p.note::before { content: "\\bb  "; color: red; padding-left: 1rem; font-size: 1.5em }
  @page { size: A5; margin: 20mm 15mm;
    @top-center { content: "Head " counter(page); font-size: 2vw; border-bottom: 1px solid }
    @bottom-right { content: counter(page) " / " counter(pages); width: 6em; padding: 1mm } }
  @page wide { size: A5 landscape; @top-left { content: "wide"; font-size: 1rem } }
  .wide { page: wide }
"""
_PAGE = """<html lang="nl"><body>
  <p class="vw">viewport <span class="var">variables <em>and</em> <u>math</u></span></p>
  <div class="vh">page height</div><div class="fs">sized by the <b>page</b> width</div>
  <table><tr><td>collapsed</td><td>cells</td></tr></table>
  <table class="sep"><tr><td>separate</td><td>cells</td></tr></table>
  <p><a href="#target">see</a> <span lang="en">label</span> <span lang="en">label</span></p>
  <h2 id="target">Target</h2><p>on page two</p><p class="note">with a note</p>
  <div class="wide">on a landscape page</div>
</body></html>"""


@contextlib.contextmanager
def _shared():
    # As in certseal's renders: attribute declarations are the same objects in every render
    # (renderers.attribute_styles), which the templates' keys rely on.
    with attribute_styles.attribute_styles_shared(), shared_styles.styles_shared_across_renders():
        yield


@functools.cache
def _stylesheet(font_config) -> CSS:
    # Parsed once, like certseal's stylesheets: the same rule objects in every render.
    return CSS(string=_STYLESHEET, font_config=font_config)


def _laid_out(html: str, font_config, *, shared: bool) -> list[tuple]:
    with _shared() if shared else contextlib.nullcontext():
        document = HTML(string=html).render(font_config=font_config, stylesheets=[_stylesheet(font_config)])
    found = []
    for number, page in enumerate(document.pages):
        found.append(("page", number, sorted(page.anchors.items()), repr(page.links),
                      page._page_box.children[0].viewport_overflow))
        for box in page._page_box.descendants():
            found.append((type(box).__name__, getattr(box, "element_tag", None), getattr(box, "text", None),
                          box.position_x, box.position_y, box.width, box.height,
                          tuple(repr(box.style[name]) for name in _PROPERTIES)))
    return found


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed StyleFor.__init__ (reproduced in
    # renderers.shared_styles), set_computed_styles, ComputedStyle or units.to_pixels.
    assert shared_styles.ACTIVE, shared_styles.source_sha256()


def test_every_render_lays_out_as_weasyprint_alone():
    font_config = FontConfiguration()  # templates of its own, made by the first render here
    alone = _laid_out(_PAGE, font_config, shared=False)
    first = _laid_out(_PAGE, font_config, shared=True)
    kept = shared_styles.templates_kept(font_config)
    again = _laid_out(_PAGE, font_config, shared=True)
    assert first == alone
    assert again == alone  # from templates the first render filled (and changed its own copies of)
    assert kept >= 10 and shared_styles.templates_kept(font_config) == kept  # reused, none remade
    # The document really had a target on its second page and an overflow moved to the viewport.
    pages = [entry for entry in alone if entry[0] == "page"]
    assert len(pages) == 3 and pages[1][2] and pages[0][4] == "hidden"


def test_pages_margin_boxes_pseudo_elements_and_copies_are_render_styles_of_templates():
    font_config = FontConfiguration()
    _laid_out(_PAGE, font_config, shared=True)
    kept = shared_styles.templates_kept(font_config)
    with _shared():
        document = HTML(string=_PAGE).render(font_config=font_config, stylesheets=[_stylesheet(font_config)])
    assert shared_styles.templates_kept(font_config) == kept
    page_boxes = [page._page_box for page in document.pages]
    margin_boxes = [box for page_box in page_boxes for box in page_box.children if type(box).__name__ == "MarginBox"]
    before = [box for page_box in page_boxes for box in page_box.descendants()
              if box.element_tag == "p::before" and type(box).__name__ == "InlineBox"]
    tables = [box for page_box in page_boxes for box in page_box.descendants() if type(box).__name__ == "TableBox"]
    assert len(margin_boxes) >= 6 and len(before) == 1 and len(tables) == 2
    for box in page_boxes + margin_boxes + before + tables:  # a table box has a copy of its style
        assert isinstance(box.style, shared_styles.RenderStyle), box
        assert box.style.template.pseudo_type == box.style.pseudo_type
    # A render's own style stays its own: changing it leaves the template and later renders alone.
    page_style = page_boxes[0].style
    page_style["margin_top"] = "changed"
    assert page_style.template["margin_top"] != "changed"
    assert _laid_out(_PAGE, font_config, shared=True) == _laid_out(_PAGE, font_config, shared=False)


def test_a_template_never_computes_from_the_page_size():
    font_config = FontConfiguration()
    html = '<p style="width: 50vw">half</p><div><p style="width: 50vw">half</p></div>'
    assert _laid_out(html, font_config, shared=True) == _laid_out(html, font_config, shared=False)
    with _shared():
        document = HTML(string=html).render(font_config=font_config, stylesheets=[_stylesheet(font_config)])
    styles = [box.style for box in document.pages[0]._page_box.descendants() if box.element_tag == "p"
              and isinstance(box.style, shared_styles.RenderStyle)]
    assert len(styles) == 2 and all(style["width"].value > 100 for style in styles)
    # Their templates were asked once, declined, and now leave width to the render's styles.
    assert all(style.template.from_page_size == {"width"} and "width" not in style.template for style in styles)


def test_templates_are_bounded_and_follow_the_font_configuration(monkeypatch):
    monkeypatch.setattr(shared_styles, "MAX_TEMPLATES", 5)
    first, second = FontConfiguration(), FontConfiguration()
    html = "".join(f'<p lang="x-{i}">{i}</p>' for i in range(20))  # 20 different styles
    _laid_out(html, first, shared=True)
    assert shared_styles.templates_kept(first) == 5
    _laid_out(html, second, shared=True)
    assert shared_styles.templates_kept(second) == 5 and shared_styles.templates_kept(first) == 0


def test_a_document_with_its_own_stylesheet_is_styled_as_weasyprint_styles_it():
    font_config = FontConfiguration()
    html = f"<style>{_STYLESHEET}</style>{_PAGE}"
    with _shared():
        HTML(string=html).render(font_config=font_config)
    assert shared_styles.templates_kept(font_config) == 0


@pytest.mark.parametrize("name, model, destination", [
    ("roses-ke-nl", "CHED-PP", "ar"),
    ("bovine-nl-be", "INTRA", None),
])
def test_the_pdf_is_the_one_weasyprint_makes_alone(monkeypatch, name, model, destination):
    cert = sample_certificate(name, model, destination)
    render_certificate(cert)  # the templates of this certificate's styles exist from here
    assert render_certificate(cert).data == render_without(monkeypatch, cert, "styles_shared_across_renders")
