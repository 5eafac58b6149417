"""Adjacent marked-content sequences of one structure element become one (renderers.marked_content):
the certificate reads, looks and is tagged as before, with a fraction of the ids.

The rendering checks read the PDF with poppler (pdftoppm, pdftotext, pdfinfo -struct-text); the
unit checks run the rewrite on operator lists as pydyf writes them.
"""
from __future__ import annotations

import io
import re
import subprocess
import tempfile

import pydyf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

import renderers.structure_tree as structure_tree
from renderers.marked_content import MarkedContent, join_adjacent_sequences
from renderers.model import parse_certificate
from renderers.render import render_certificate, render_pngs
from _render_helpers import has_poppler, page_texts, sample

_MCID = re.compile(rb"/MCID (\d+)")


def _struct_text(pdf: bytes) -> str:
    """The tree with each element's text, as poppler reads it. poppler prints each marked
    content as a string of its own, so an element's consecutive strings are run together."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        text = subprocess.run(["pdfinfo", "-struct-text", fh.name], capture_output=True, check=True,
                              timeout=60).stdout.decode("utf-8")
    return re.sub(r'"\n *"', "", text)


def _mcids(pdf: bytes) -> int:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return sum(len(_MCID.findall(page.get_object()["/Contents"].data)) for page in reader.root["/Pages"]["/Kids"])


def _unjoined(items, marked):
    return {mcid: place.element for mcid, place in marked.items()}


@pytest.mark.skipif(not has_poppler(), reason="poppler-utils not installed")
@pytest.mark.parametrize("model, name, destination, tree", [
    ("CHED-PP", "roses-ke-nl", None, True),
    ("INTRA", "bovine-nl-be", "ar", False),  # poppler takes about 5 s to print a tree
])
def test_joined_sequences_read_look_and_tag_as_before(monkeypatch, model, name, destination, tree):
    data = sample(name, model)
    if destination:
        data["destination_language"] = destination
    cert = parse_certificate(data)
    joined = render_certificate(cert)
    monkeypatch.setattr(structure_tree, "join_adjacent_sequences", _unjoined)
    separate = render_certificate(cert)
    assert 0 < _mcids(joined.data) * 2 < _mcids(separate.data)
    if tree:
        assert _struct_text(joined.data) == _struct_text(separate.data)
    assert page_texts(joined.data) == page_texts(separate.data)
    assert render_pngs(joined, dpi=40) == render_pngs(separate, dpi=40)


# ------------------------------------------------------------------ the rewrite itself

def _element(*kids) -> pydyf.Dictionary:
    return pydyf.Dictionary({"Type": "/StructElem", "S": "/P", "K": pydyf.Array(kids)})


def _text(stream: pydyf.Stream, mcid: int, word: str) -> None:
    stream.begin_marked_content("Span", pydyf.Dictionary({"MCID": mcid}))
    stream.stream.append(f"({word}) Tj".encode())
    stream.end_marked_content()


def _ops(items: list) -> list:
    return [dict(item) if isinstance(item, pydyf.Dictionary) else item for item in items]


def test_adjacent_sequences_of_one_element_become_one():
    cell, other = _element(0, 1, 2), _element(3)
    stream = pydyf.Stream()
    for mcid, word in enumerate(("I.4.", "Border", "post", "BEBRU4")):
        _text(stream, mcid, word)
    marked = {0: MarkedContent(cell, 0), 1: MarkedContent(cell, 1), 2: MarkedContent(cell, 2),
              3: MarkedContent(other, 0)}
    owners = join_adjacent_sequences(stream.stream, marked)
    assert _ops(stream.stream) == [
        "/Span", {"MCID": 0}, b"BDC", b"(I.4.) Tj", b"(Border) Tj", b"(post) Tj", b"EMC",
        "/Span", {"MCID": 1}, b"BDC", b"(BEBRU4) Tj", b"EMC"]
    assert list(cell["K"]) == [0] and list(other["K"]) == [1]
    assert owners == {0: cell, 1: other}


def test_a_kid_between_them_keeps_sequences_apart():
    child = pydyf.Dictionary({"Type": "/StructElem", "S": "/Span"})
    child.number = 7  # a referenced element, as the tree holds it
    paragraph = _element(0, child.reference, 1)
    stream = pydyf.Stream()
    _text(stream, 0, "before")
    _text(stream, 1, "after")
    before = list(stream.stream)
    owners = join_adjacent_sequences(stream.stream, {0: MarkedContent(paragraph, 0), 1: MarkedContent(paragraph, 2)})
    assert stream.stream == before
    assert owners == {0: paragraph, 1: paragraph}


def test_sequences_apart_in_the_stream_stay_apart_and_ids_close_up():
    cell = _element(0, 1, 2)
    stream = pydyf.Stream()
    _text(stream, 0, "a")
    stream.begin_marked_content("Artifact")
    stream.stream.append(b"0 0 10 10 re f")
    stream.end_marked_content()
    _text(stream, 1, "b")
    _text(stream, 2, "c")
    join_adjacent_sequences(stream.stream, {i: MarkedContent(cell, i) for i in range(3)})
    assert [d["MCID"] for d in stream.stream if isinstance(d, pydyf.Dictionary)] == [0, 1]
    assert b"/Artifact" not in stream.stream and "/Artifact" in stream.stream
    assert stream.stream.count(b"EMC") == 3  # a, the artifact, b+c
    assert list(cell["K"]) == [0, 1]


def test_marked_content_it_does_not_follow_leaves_the_page_alone():
    cell = _element(0, 1)
    marked = {0: MarkedContent(cell, 0), 1: MarkedContent(cell, 1)}
    unbalanced = pydyf.Stream()
    _text(unbalanced, 0, "a")
    unbalanced.end_marked_content()  # closes nothing
    _text(unbalanced, 1, "b")
    before = list(unbalanced.stream)
    assert join_adjacent_sequences(unbalanced.stream, marked) == {0: cell, 1: cell}
    assert unbalanced.stream == before and list(cell["K"]) == [0, 1]

    elsewhere = pydyf.Stream()  # id 1 was drawn in a form, not in the page stream
    _text(elsewhere, 0, "a")
    before = list(elsewhere.stream)
    assert join_adjacent_sequences(elsewhere.stream, marked) == {0: cell, 1: cell}
    assert elsewhere.stream == before and list(cell["K"]) == [0, 1]
