"""Queries by tag name answered from the element tree (renderers.tag_queries): the elements
cssselect2 finds, in its order, wrapped as it wraps them; other selectors left to it; the same
PDF."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest
from cssselect2 import ElementWrapper

import renderers.tag_queries as tag_queries
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate

_DOCUMENT = """<html lang="nl"><head><title>Outer</title><!-- a comment -->
<meta name="description" content="d"/><?pi data?><meta name="dcterms.created" content="2026-11-22"/>
<link rel="attachment" href="a.json"/><style>p {}</style></head>
<body><p>text<!-- c --><link rel="stylesheet" href="x.css"/></p>
<svg xmlns="http://www.w3.org/2000/svg"><title>Inside the SVG</title><g><title>deeper</title></g></svg>
<div><div><meta name="late" content="x"/><span>no</span><title>second</title></div></div></body></html>"""


def _tree() -> ElementTree.Element:
    """The document with its comments and processing instructions kept (as the HTML5 parser
    keeps them; they are not elements and must not count in an element's index)."""
    builder = ElementTree.TreeBuilder(insert_comments=True, insert_pis=True)
    return ElementTree.fromstring(_DOCUMENT, parser=ElementTree.XMLParser(target=builder))


def _described(wrappers) -> list[tuple]:
    """What a caller can read of each element found: itself and where the wrapper puts it."""
    return [(w.etree_element, w.index, w.parent.etree_element if w.parent is not None else None,
             w.previous.etree_element if w.previous is not None else None, w.etree_siblings, w.in_html_document)
            for w in wrappers]


def _query(selectors: tuple[str, ...], *, from_tree: bool, root=None):
    wrapper = ElementWrapper.from_html_root(root if root is not None else _tree())
    if not from_tree:
        return _described(tag_queries._query_all(wrapper, *selectors))
    with tag_queries.tag_queries_from_tree():
        return _described(wrapper.query_all(*selectors))


def test_checked_against_the_installed_cssselect2():
    # Fails after a cssselect2 upgrade that changed query_all, iter_subtree, iter_children,
    # etree_children or _split_etree_tag: check the search still finds what they find.
    assert tag_queries.ACTIVE, tag_queries.source_sha256()


@pytest.mark.parametrize("selectors", [
    ("title", "meta", "link"),  # get_html_metadata's
    ("style", "link"),  # find_stylesheets'
    ("title",), ("html",), ("g", "span"), ("nothing",),
])
def test_tag_names_find_what_cssselect2_finds(selectors):
    root = _tree()
    assert any(not isinstance(element.tag, str) for element in root.iter())  # comments are there
    found = _query(selectors, from_tree=True, root=root)
    assert found == _query(selectors, from_tree=False, root=root)
    if selectors == ("title",):  # the SVG's titles too, after the head's, in tree order
        assert [element.text for element, *_ in found] == ["Outer", "Inside the SVG", "deeper", "second"]


@pytest.mark.parametrize("selectors", [("TITLE",), ("meta[name]",), ("div > meta",), ("*",), ("svg|title",)])
def test_any_other_selector_is_left_to_cssselect2(monkeypatch, selectors):
    asked = []
    monkeypatch.setattr(tag_queries, "_query_all", lambda wrapper, *s: asked.append(s) or iter(()))
    _query(selectors, from_tree=True)
    assert asked == [selectors]


def test_outside_certseals_renders_cssselect2_answers(monkeypatch):
    asked = []
    monkeypatch.setattr(tag_queries, "_query_all", lambda wrapper, *s: asked.append(s) or iter(()))
    list(ElementWrapper.from_html_root(_tree()).query_all("title"))
    assert asked == [("title",)]


@pytest.mark.parametrize("name, model, destination", [("roses-ke-nl", "CHED-PP", None), ("tuna-vn-nl", "CHED-P", "ar")])
def test_the_pdf_is_the_one_cssselect2_queries_give(monkeypatch, name, model, destination):
    cert = sample_certificate(name, model, destination)
    assert render_certificate(cert).data == render_without(monkeypatch, cert, "tag_queries_from_tree")
