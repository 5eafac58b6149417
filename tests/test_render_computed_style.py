"""The short path through WeasyPrint's computed styles (renderers.computed_style) gives every
property of every element the value WeasyPrint's own method gives, and only certseal's
renders take it."""
from __future__ import annotations

import contextlib

import pytest
import tinycss2.ast
from weasyprint import HTML
from weasyprint.css import INITIAL_VALUES, get_all_computed_styles

import renderers.computed_style as computed_style
import renderers.pdf as pdf_module
from renderers.fetcher import AssetFetcher
from renderers.model import parse_certificate
from renderers.pdf import font_configuration, parse_html, stylesheets
from renderers.render import render_certificate, render_certificate_html
from _render_helpers import sample


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed ComputedStyle.__missing__: compare the new
    # method with the cases renderers.computed_style hands to it, then update the checksum.
    assert computed_style.ACTIVE, computed_style.source_sha256()


def _every_property(document, sheets, short: bool) -> dict:
    """{(element tag, id, class, position, pseudo type): {property: computed value}} for the
    document, every property asked for in document order."""
    context = computed_style.short_style_path() if short else contextlib.nullcontext()
    with context:
        style_for = get_all_computed_styles(document, user_stylesheets=sheets, font_config=font_configuration())
        values = {}
        for position, ((element, pseudo), style) in enumerate(style_for.get_computed_styles().items()):
            if style is None:
                continue
            key = (getattr(element, "tag", None), element.get("id") if hasattr(element, "get") else None,
                   element.get("class") if hasattr(element, "get") else None, position, pseudo)
            values[key] = {name: _comparable(style[name]) for name in INITIAL_VALUES}
    return values


@pytest.mark.parametrize("model, name, destination", [
    ("CHED-PP", "roses-ke-nl", None),  # left to right, Latin
    ("CHED-PP", "roses-ke-nl", "ar"),  # right to left: logical properties map the other way
    ("CHED-P", "tuna-vn-nl", "zh"),
])
def test_every_property_of_every_element_is_what_weasyprint_computes(model, name, destination):
    data = sample(name, model)
    if destination:
        data["destination_language"] = destination
    cert = parse_certificate(data)
    html, sheets = render_certificate_html(cert), stylesheets(cert.model)
    general = _every_property(parse_html(html, AssetFetcher()), sheets, short=False)
    short = _every_property(parse_html(html, AssetFetcher()), sheets, short=True)
    assert len(general) > 500
    _assert_same(general, short)


# What the certificates' stylesheets do not use but the short path must hand over: logical
# properties (in both directions), math in inherited and other properties, custom
# properties, text decorations, named pages, floats and positions.
EDGE_CASES = """<html lang="en"><head><style>
  @page wide { size: A4 landscape }
  body { --gap: 3px; line-height: calc(1em + 2px); letter-spacing: calc(1px + 0.1em); page: wide;
         text-indent: calc(10% + 1em) }
  p { margin-inline-start: 10px; padding-inline-end: 5%; border-inline-start: 2px solid red;
      margin-top: var(--gap); text-decoration: underline }
  span { float: inline-start; position: relative; inset-inline-start: 4px; width: calc(50% - 1em) }
  em { display: inline-block; font-size: calc(8px + 0.5em); word-spacing: min(1em, 5px) }
</style></head><body>
  <p>left to right <span>a</span> <em>b</em></p>
  <div dir="rtl" style="text-align: start"><p>يمين <span>ج</span> <em>د</em></p></div>
</body></html>"""


def test_edge_cases_are_left_to_weasyprint():
    general = _every_property(HTML(string=EDGE_CASES), [], short=False)
    short = _every_property(HTML(string=EDGE_CASES), [], short=True)
    _assert_same(general, short)


def _comparable(value):
    """Values that hold parsed CSS (tinycss2 nodes compare by identity) as their text."""
    if type(value) in (tuple, list):  # not named tuples: those compare by value
        return type(value)(_comparable(item) for item in value)
    if isinstance(value, tinycss2.ast.Node):
        return (type(value).__name__, value.serialize())
    return value


def _assert_same(general: dict, short: dict) -> None:
    assert general.keys() == short.keys()
    differing = [(key, prop, general[key][prop], short[key][prop])
                 for key in general for prop in general[key] if general[key][prop] != short[key][prop]]
    assert differing == []


def test_a_render_is_the_same_file_either_way(monkeypatch):
    cert = parse_certificate(sample("citrus-za-de"))
    short = render_certificate(cert).data
    monkeypatch.setattr(pdf_module, "short_style_path", contextlib.nullcontext)
    assert render_certificate(cert).data == short


def test_other_weasyprint_documents_use_weasyprint_s_method(monkeypatch):
    taken = []
    real = computed_style._general
    monkeypatch.setattr(computed_style, "_general", lambda self, key: taken.append(key) or real(self, key))
    HTML(string="<p style='color: red'>plain</p>").render()
    outside = len(taken)
    taken.clear()
    with computed_style.short_style_path():
        HTML(string="<p style='color: red'>plain</p>").render()
    assert outside > 0 and len(taken) < outside / 2


def test_certseal_renders_take_the_short_path(monkeypatch):
    cert = parse_certificate(sample("roses-ke-nl"))
    # Without the style templates shared between renders, which would answer the second
    # render's lookups from the first's (renderers.shared_styles): every render computes all.
    monkeypatch.setattr(pdf_module, "styles_shared_across_renders", contextlib.nullcontext)
    general = computed_style._general
    taken = []
    monkeypatch.setattr(computed_style, "_general", lambda self, key: taken.append(key) or general(self, key))
    render_certificate(cert)
    short = len(taken)
    taken.clear()
    monkeypatch.setattr(pdf_module, "short_style_path", contextlib.nullcontext)
    render_certificate(cert)
    assert short < len(taken) / 4  # 88 % of the lookups skip WeasyPrint's method
