"""The tagged structure of rendered certificates, read back with pdfminer.six and poppler
(not with the renderer's code): every marked content of every page belongs to exactly one
element, reading order holds the certificate's text, and the tree carries meaning only
(no element per text fragment, no layout tables), so verifiers have less to walk."""
from __future__ import annotations

import io
import re
import subprocess
import tempfile

import pytest
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFObjRef, resolve1
from pdfminer.psparser import PSLiteral
from weasyprint import HTML

from renderers.model import parse_certificate
from renderers.render import render_certificate
from renderers.samples import list_samples
from _render_helpers import has_poppler, page_texts, sample

MODELS = ["CHED-PP", "CHED-P", "CHED-A", "CHED-D", "INTRA", "EXPORT"]
_MCID = re.compile(rb"/MCID\s+(\d+)")


def _name(value) -> str:
    value = resolve1(value)
    return value.name if isinstance(value, PSLiteral) else str(value)


class _Tree:
    """The structure tree of one PDF: elements by object id, reading order from /Document."""

    def __init__(self, pdf: bytes) -> None:
        self.document = PDFDocument(PDFParser(io.BytesIO(pdf)))
        self.catalog = self.document.catalog
        self.root = resolve1(self.catalog["StructTreeRoot"])
        self.pages = list(PDFPage.create_pages(self.document))
        self.page_ids = [page.pageid for page in self.pages]

    def page_mcids(self, index: int) -> list[int]:
        """MCIDs in the page's content stream, in drawing order."""
        page = self.pages[index]
        data = b"".join(resolve1(stream).get_data() for stream in page.contents)
        return [int(m) for m in _MCID.findall(data)]

    def parent_tree(self) -> dict[int, object]:
        nums = resolve1(resolve1(self.root["ParentTree"])["Nums"])
        return {nums[i]: nums[i + 1] for i in range(0, len(nums), 2)}

    def elements(self, start=None):
        """(objid, element) for every element under `start` (default: the root), depth first."""
        kids = resolve1((start or self.root).get("K", []))
        for kid in kids if isinstance(kids, list) else [kids]:
            if isinstance(kid, PDFObjRef):
                element = resolve1(kid)
                if isinstance(element, dict) and _name(element.get("Type", "StructElem")) == "StructElem":
                    yield kid.objid, element
                    yield from self.elements(element)

    def types(self) -> list[str]:
        return [_name(element["S"]) for _, element in self.elements()]


@pytest.fixture(scope="module")
def chedpp() -> tuple[bytes, object]:
    cert = parse_certificate(sample("roses-ke-nl"))
    return render_certificate(cert).data, cert


def test_every_marked_content_belongs_to_exactly_one_element(chedpp):
    """The parent tree maps each page's MCIDs to the element whose /K holds that MCID on that
    page, and each MCID sits in exactly one element: what a screen reader or a PDF/UA checker
    resolves first. Checked on every page of a 4-page CHED-PP."""
    tree = _Tree(chedpp[0])
    parents = tree.parent_tree()
    holders: dict[tuple[int, int], list[int]] = {}
    all_elements = dict(tree.elements())
    for index, page_id in enumerate(tree.page_ids):
        mcids = tree.page_mcids(index)
        assert mcids, f"page {index + 1} has no marked content"
        assert len(mcids) == len(set(mcids))
        mapping = resolve1(parents[index])
        assert len(mapping) == len(mcids) == max(mcids) + 1
        for mcid in mcids:
            element_ref = mapping[mcid]
            element = resolve1(element_ref)
            assert element["Pg"].objid == page_id, f"page {index + 1} MCID {mcid}: element on another page"
            kids = resolve1(element["K"])
            assert mcid in (kids if isinstance(kids, list) else [kids])
            holders.setdefault((index, mcid), []).append(element_ref.objid)
    # No element claims an MCID of its page that the parent tree gives to another element.
    for objid, element in all_elements.items():
        kids = resolve1(element.get("K", []))
        page = tree.page_ids.index(element["Pg"].objid) if "Pg" in element else None
        for kid in kids if isinstance(kids, list) else [kids]:
            if isinstance(kid, int):
                assert holders[(page, kid)] == [objid]


def test_the_tree_carries_meaning_only(chedpp):
    """No element per text fragment (WeasyPrint's /Span per line piece), no generic /Div,
    no layout tables: the key/value tables and the commodity table remain, with header cells."""
    types = _Tree(chedpp[0]).types()
    assert {"Span", "Div"}.isdisjoint(types)
    assert types.count("Sect") == 4  # Part I, Part II, Part III, and Part I continued
    assert types.count("TH") >= 40 and types.count("TD") >= 40
    # 203 elements on this certificate when written; WeasyPrint's own tree had 1,775.
    assert len(types) < 400


def test_layout_tables_are_not_tables_but_their_data_tables_are(chedpp):
    pdf, cert = chedpp
    tree = _Tree(pdf)
    tables = [element for _, element in tree.elements() if _name(element["S"]) == "Table"]
    # Every table left is a data table: each of its rows has a header cell (kv) or it has a
    # head row (the commodity lines); the two-column row tables and the signature layout are gone.
    for table in tables:
        rows = [resolve1(kid) for kid in resolve1(table["K"]) if isinstance(kid, PDFObjRef)]
        kinds = {_name(row["S"]) for row in rows}
        assert kinds <= {"TR", "THead"}, kinds
        cells = [_name(resolve1(cell)["S"]) for row in rows for cell in _cells(row)]
        assert "TH" in cells


def _cells(row) -> list:
    if _name(row["S"]) == "THead":
        return [cell for tr in resolve1(row["K"]) for cell in _cells(resolve1(tr))]
    return [kid for kid in resolve1(row["K"]) if isinstance(kid, PDFObjRef)]


def test_header_cells_say_what_they_head(chedpp):
    """Simple tables (no spans: all of certseal's) give each header cell a Scope: a label
    cell heads its row, a commodity table head cell its column; data cells carry nothing."""
    tree = _Tree(chedpp[0])
    elements = [element for _, element in tree.elements()]
    heads = [element for element in elements if _name(element["S"]) == "TH"]
    scopes = [_name(resolve1(resolve1(head["A"])["Scope"])) for head in heads]
    assert set(scopes) == {"Row", "Column"}
    assert scopes.count("Column") >= 6  # the accompanying documents' table head
    cells = [element for element in elements if _name(element["S"]) == "TD"]
    assert cells and not any("A" in cell for cell in cells)


def test_a_table_with_spans_links_cells_to_headers_by_id():
    """Where cells span rows or columns, position no longer says which header heads a cell:
    header cells get IDs and data cells the Headers that name them."""
    from renderers.structure_tree import mark_lean

    document = HTML(string="""<html lang=en><table>
      <thead><tr><th>Lot</th><th colspan=2>Weight</th></tr></thead>
      <tr><th>A</th><td>1</td><td>kg</td></tr>
      <tr><th rowspan=2>B</th><td>2</td><td>kg</td></tr>
      <tr><td>3</td><td>kg</td></tr></table></html>""").render()
    mark_lean(document)
    tree = _Tree(document.write_pdf(pdf_tags=True))
    elements = [element for _, element in tree.elements()]
    # IDs name the header cell's place, "<table>-<row>-<column>": Lot, Weight, A, B.
    ids = {bytes(element["ID"]).split(b"-", 1)[1] for element in elements if "ID" in element}
    assert ids == {b"0-0", b"0-1", b"1-0", b"2-0"}
    cells = [element for element in elements if _name(element["S"]) == "TD"]
    headed = [sorted(bytes(h).split(b"-", 1)[1] for h in resolve1(resolve1(cell["A"])["Headers"]))
              for cell in cells]
    # Row A: its label and "Weight" (which spans both columns); the two rows of B: B and
    # "Weight", the last row through B's rowspan.
    assert headed == [[b"0-1", b"1-0"]] * 2 + [[b"0-1", b"2-0"]] * 4


@pytest.mark.skipif(not has_poppler(), reason="needs poppler's pdfinfo")
def test_reading_order_holds_the_certificate_and_leaves_out_running_heads(chedpp):
    """poppler reads the tree's text: both languages' labels and the data in the document;
    the running header (reference, "European Union") and the watermark, which repeat on every
    page, are not in the reading order."""
    pdf, cert = chedpp
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        text = subprocess.run(["pdfinfo", "-struct-text", fh.name], capture_output=True, check=True,
                              timeout=60).stdout.decode("utf-8")
    for expected in ("Afzender/exporteur", "Consignor/Exporter", "Naivasha Flower Growers Ltd"):
        assert expected in text
    assert "Europese Unie" not in text  # running header, once per page in the content
    # The reference is printed twice on each page outside the flow (running header, and the
    # verification URL in the footer) and in the boxes that quote it; the reading order holds
    # the boxes only.
    pages = page_texts(pdf)
    printed = sum(page.count(cert.reference) for page in pages)
    assert text.count(cert.reference) == printed - 2 * len(pages) >= 1


def test_the_qr_code_is_a_figure_with_the_verification_url(chedpp):
    pdf, cert = chedpp
    figures = [element for _, element in _Tree(pdf).elements() if _name(element["S"]) == "Figure"]
    assert len(figures) == 1  # the watermark and struck-box lines are aria-hidden decoration
    alt = resolve1(figures[0]["Alt"])
    text = alt.decode("utf-16") if alt.startswith(b"\xfe\xff") else alt.decode("latin-1")
    assert text.startswith("https://") and text.endswith("/" + cert.reference)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_is_tagged_consistently(model):
    name = list_samples(model)[0].name
    pdf = render_certificate(parse_certificate(sample(name, model))).data
    tree = _Tree(pdf)
    parents = tree.parent_tree()
    for index in range(len(tree.pages)):
        assert len(resolve1(parents[index])) == len(tree.page_mcids(index))
    assert {"Span", "Div"}.isdisjoint(tree.types())


def test_other_weasyprint_documents_keep_weasyprint_tagging():
    """The lean tree applies to certificates only: any other document rendered in the same
    process is tagged by WeasyPrint itself (one /Span per text fragment)."""
    import renderers.pdf  # noqa: F401 - installs the certificate tagging in this process

    pdf = HTML(string="<html lang=en><p>one <b>two</b></p><div>three</div></html>").write_pdf(pdf_tags=True)
    assert "Span" in _Tree(pdf).types()


def test_markup_the_templates_do_not_use_yet_is_tagged_too():
    """A template developer may add headings, lists, links, images, captions, positioned or
    floated boxes: the lean tree tags them, and every marked content stays mapped."""
    from renderers.structure_tree import mark_lean

    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
             "hKmMIQAAAABJRU5ErkJggg==")
    document = HTML(string=f"""<html lang=en><body><h1>Title</h1>
      <p>Para <a href="https://example.org/">link</a></p>
      <ul><li>one</li><li>two<ol><li>nested</li></ol></li></ul>
      <img alt="a pixel" src="{pixel}">
      <div style="position: absolute; top: 0">absolute</div><p style="float: left">floated</p>
      <table><caption>cap</caption><tr><td>x</td></tr></table></body></html>""").render()
    mark_lean(document)
    tree = _Tree(document.write_pdf(pdf_tags=True))
    types = tree.types()
    for expected in ("H1", "P", "Link", "L", "LI", "Figure", "Table", "Caption", "TD"):
        assert expected in types, expected
    mapping = resolve1(tree.parent_tree()[0])
    assert len(mapping) == len(tree.page_mcids(0)) > 0
    figure = next(element for _, element in tree.elements() if _name(element["S"]) == "Figure")
    assert resolve1(figure["Alt"]) == b"a pixel"
