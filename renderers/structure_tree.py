"""A lean PDF structure tree for certificates: the meaningful elements, with the text in them.

WeasyPrint's tagging makes one structure element per text fragment (a /Span around every
line piece) and one per `div` and anonymous box. On a 4-page CHED-PP that is about 1,800
indirect objects for about 200 that mean something (tables, rows, cells, paragraphs,
sections, the QR figure). Every verifier pays for each object: pyHanko's change analysis
maps every object of every revision, and with WeasyPrint's tree that was about 85 % of the
time to verify a B-LTA original (0.77 s tagged, 0.11 s untagged, on the same certificate).

This tree keeps what assistive technology and text extraction use:
- elements for sections, paragraphs, headings, lists, tables (rows, header and data cells,
  with the scope of each header cell), figures with their alternate text, and links;
- each piece of text as a marked-content id directly in the element it belongs to, in
  reading order (ISO 32000-1 §14.7.2: a structure element's kids may be MCIDs);
- `div`, `span`, `tbody`, anonymous boxes and layout tables (`role="presentation"`, rows and
  cells included, as ARIA defines) get no element: their text goes to the nearest
  meaningful ancestor, which is all a generic grouping element told a reader anyway.

Running headers and footers (the page margin boxes) stay out of the reading order, as in
WeasyPrint, and so does decoration the templates mark `aria-hidden` (the watermark drawing,
the strike-through of empty boxes): their content is mapped to one element per page that is
not a kid of the document, so the parent tree still resolves every MCID the page streams
carry.

Only documents marked with `mark_lean(document)` get this tree; any other WeasyPrint
document in the process is tagged as WeasyPrint tags it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pydyf
import weasyprint.pdf as weasyprint_pdf
from weasyprint.formatting_structure import boxes
from weasyprint.layout.absolute import AbsolutePlaceholder
from weasyprint.pdf.tags import _get_pdf_tag

from renderers.marked_content import MarkedContent, join_adjacent_sequences

_MARK = "_certseal_lean_structure_tree"
# Grouping without meaning of its own: the element's content joins its nearest kept ancestor.
_TRANSPARENT = frozenset({"Div", "Span", "NonStruct", "TBody"})
_CELLS = frozenset({"TD", "TH"})
_PRESENTATIONAL = frozenset({"presentation", "none"})
_TABLE_PARTS = frozenset({"thead", "tbody", "tfoot", "tr", "td", "th"})


def mark_lean(document) -> None:
    """Tag this WeasyPrint document with the lean tree when it is written with pdf_tags."""
    setattr(document, _MARK, True)


class _PageTree:
    """Builds one page's share of the tree: elements, and the MCID → element map."""

    def __init__(self, pdf: pydyf.PDF, page_number: int, tags: dict, annotations: list,
                 document: pydyf.Dictionary) -> None:
        self.pdf = pdf
        self.document = document
        self.outside_element: pydyf.Dictionary | None = None
        self.layout_tables: list[bool] = []  # per enclosing table: is it role="presentation"?
        self.page_reference = pdf.page_references[page_number]
        self.tags = tags
        self.annotations = annotations
        self.marked: dict[int, MarkedContent] = {}

    def element(self, tag: str, parent: pydyf.Dictionary) -> pydyf.Dictionary:
        element = pydyf.Dictionary({
            "Type": "/StructElem", "S": f"/{tag}", "K": pydyf.Array([]),
            "Pg": self.page_reference, "P": parent.reference,
        })
        self.pdf.add_object(element)
        return element

    def add_content(self, box, element: pydyf.Dictionary) -> None:
        mcid = self.tags.pop(box)["mcid"]
        self.marked[mcid] = MarkedContent(element, len(element["K"]))
        element["K"].append(mcid)

    def walk(self, box, element: pydyf.Dictionary, parent_node=None) -> None:
        """Attach `box` and its descendants to `element` (creating kept elements on the way).
        `parent_node` is the HTML element of the enclosing box: a box made for the same HTML
        element is one of CSS's anonymous boxes (a cell's inner block, the row group of a
        table written without <tbody>) and gets no element of its own."""
        if isinstance(box, AbsolutePlaceholder):
            box = box._box
        if isinstance(box, boxes.TextBox):
            self.add_content(box, element)
            return
        if (isinstance(box, (boxes.PageBox, boxes.LineBox)) or box.element_tag in ("html", "body")
                or (box.element is not None and box.element is parent_node)):
            self.walk_children(box, element)
            return
        if _aria(box, "aria-hidden") == "true":
            # Decoration the template hid from assistive technology (the watermark, the
            # strike-through of empty boxes): outside the reading order, like page margins.
            for marked in _marked_boxes(box):
                self.add_content(marked, self.outside())
            return
        tag = _get_pdf_tag(None if box.element is None else box.element_tag)
        if getattr(box, "is_table_wrapper", False):
            # Only the wrapper gets here: the table box inside it has the same HTML element,
            # so it is passed through as anonymous above.
            self.layout_tables.append(_aria(box, "role") in _PRESENTATIONAL)
            try:
                self.walk_element(box, tag, element)
            finally:
                self.layout_tables.pop()
            return
        self.walk_element(box, tag, element)

    def walk_element(self, box, tag: str, element: pydyf.Dictionary) -> None:
        if _aria(box, "role") in _PRESENTATIONAL or (
                box.element_tag in _TABLE_PARTS and self.layout_tables and self.layout_tables[-1]):
            # role="presentation" (a layout table, with its rows and cells): no element of its
            # own; its content stays, as ARIA defines.
            tag = "NonStruct"
        keep = (tag not in _TRANSPARENT or isinstance(box, boxes.ReplacedBox)
                or box.link_annotation or box.widget_annotation)
        if not keep:
            self.walk_children(box, element)
            return
        if tag in _TRANSPARENT:
            tag = "Figure" if isinstance(box, boxes.ReplacedBox) else "Span"
        self.keep(box, tag, element)

    def walk_children(self, box, element: pydyf.Dictionary) -> None:
        for child in getattr(box, "children", ()):
            self.walk(child, element, box.element)

    def outside(self) -> pydyf.Dictionary:
        """The page's element for content outside the reading order (made on first use)."""
        if self.outside_element is None:
            self.outside_element = self.element("NonStruct", self.document)
        return self.outside_element

    def keep(self, box, tag: str, parent: pydyf.Dictionary) -> None:
        element = self.element(tag, parent)
        parent["K"].append(element.reference)
        if tag == "Figure":
            _describe_figure(box, element)
        elif tag == "Table" and box.is_table_wrapper and (table := box.get_wrapped_table()):
            # Tag the table itself, with its captions inside (WeasyPrint does the same).
            wrapper = box
            box = table.copy_with_children([])
            for child in wrapper.children:
                box.children.extend(child.children if child is table else [child])
        elif tag in _CELLS:
            for key, span in (("ColSpan", box.colspan), ("RowSpan", box.rowspan)):
                if span != 1:
                    _table_attributes(element)[key] = span
            box.mark = element  # read back by _describe_table_headers
        for annotation in (box.link_annotation, box.widget_annotation):
            if annotation:
                self.add_annotation(annotation, element)
        self.walk_children(box, element)
        if isinstance(box, boxes.ReplacedBox):
            self.add_content(box, element)
        if tag == "Table":
            _describe_table_headers(box, element)

    def add_annotation(self, annotation, element: pydyf.Dictionary) -> None:
        reference = pydyf.Dictionary({"Type": "/OBJR", "Obj": annotation.reference, "Pg": self.page_reference})
        self.pdf.add_object(reference)
        element["K"].append(reference.reference)
        self.annotations.append((element.reference, annotation))


def _aria(box, attribute: str) -> str | None:
    element = box.element
    return None if element is None else element.get(attribute)


def _marked_boxes(box) -> Iterator[object]:
    """The boxes under `box` that the page stream marked (text and replaced content)."""
    if isinstance(box, AbsolutePlaceholder):
        box = box._box
    if isinstance(box, (boxes.TextBox, boxes.ReplacedBox)):
        yield box
    for child in getattr(box, "children", ()):
        yield from _marked_boxes(child)


def _describe_figure(box, element: pydyf.Dictionary) -> None:
    x, y = box.content_box_x(), box.content_box_y()
    element["A"] = pydyf.Dictionary({"O": "/Layout", "BBox": pydyf.Array((x, y, x + box.width, y + box.height))})
    alt = box.element.get("aria-label")
    if not alt and box.element.tag == "{http://www.w3.org/2000/svg}svg":
        title = box.element.find("{http://www.w3.org/2000/svg}title")
        alt = title.text if title is not None else None
    alt = alt or box.element.get("alt")
    if alt:
        element["Alt"] = pydyf.String(alt)


def _table_rows(box, in_head: bool = False) -> Iterator[tuple[object, bool]]:
    for child in box.children:
        if child.element_tag == "tr":
            yield child, in_head
        elif isinstance(child, boxes.ParentBox):
            yield from _table_rows(child, in_head or child.element_tag == "thead")


def _table_attributes(element: pydyf.Dictionary) -> pydyf.Dictionary:
    """The element's /A dictionary of the Table attribute owner, made on first use: a cell
    that needs no attribute carries none."""
    if "A" not in element:
        element["A"] = pydyf.Dictionary({"O": "/Table"})
    return element["A"]


def _place_cells(table_box) -> list[tuple]:
    """(cell, row, column, rowspan, colspan, in_head) for every cell, spans placed on a grid
    so that a rowspan shifts the columns of the rows below it."""
    occupied: set[tuple[int, int]] = set()
    placed = []
    for i, (row, in_head) in enumerate(_table_rows(table_box)):
        j = 0
        for cell in row.children:
            while (i, j) in occupied:
                j += 1
            rowspan, colspan = getattr(cell, "rowspan", 1), getattr(cell, "colspan", 1)
            occupied.update((i + di, j + dj) for di in range(rowspan) for dj in range(colspan))
            placed.append((cell, i, j, rowspan, colspan, in_head))
            j += colspan
    return placed


def _describe_table_headers(table_box, table_element: pydyf.Dictionary) -> None:
    """Say which header cells head which data cells. A `th` in the head, or with
    scope="col", heads its column; any other `th` (a label at the start of a key/value row)
    heads its row.

    A table without spans (every certseal table) says it with a Scope attribute on each
    header cell, which PDF/UA accepts for such tables and which costs the data cells nothing:
    on a 300-line consignment, Headers arrays on every data cell made B-LTA verification
    about 23 % slower (1.52 -> 1.16 s CPU). A table with spans gets IDs on its header cells
    and Headers on its data cells, which readers need there."""
    placed = _place_cells(table_box)
    headers = [(cell, i, j, rowspan, colspan,
                cell.element.attrib.get("scope") or ("col" if in_head else "row"))
               for cell, i, j, rowspan, colspan, in_head in placed
               if cell.element_tag == "th" and getattr(cell, "mark", None) is not None]
    if all(rowspan == colspan == 1 for _, _, _, rowspan, colspan, _ in placed):
        for cell, *_, scope in headers:
            _table_attributes(cell.mark)["Scope"] = "/Column" if scope == "col" else "/Row"
        return
    by_column: dict[int, list] = defaultdict(list)
    by_row: dict[int, list] = defaultdict(list)
    for cell, i, j, rowspan, colspan, scope in headers:
        key = pydyf.String(f"{table_element.number}-{i}-{j}")
        cell.mark["ID"] = key
        if scope == "col":
            for dj in range(colspan):
                by_column[j + dj].append(key)
        else:
            for di in range(rowspan):
                by_row[i + di].append(key)
    for cell, i, j, rowspan, colspan, _ in placed:
        mark = getattr(cell, "mark", None)
        if mark is None or cell.element_tag != "td":
            continue
        keys = [key for di in range(rowspan) for key in by_row[i + di]]
        keys += [key for dj in range(colspan) for key in by_column[j + dj]]
        if keys:
            _table_attributes(mark)["Headers"] = pydyf.Array(keys)


def add_lean_tags(pdf: pydyf.PDF, document, pdf_version, page_streams) -> None:
    """The lean counterpart of weasyprint.pdf.tags.add_tags (same arguments, same root,
    parent tree and catalog entries)."""
    parent_tree = pydyf.Dictionary({"Nums": pydyf.Array()})
    pdf.add_object(parent_tree)
    root = pydyf.Dictionary({"Type": "/StructTreeRoot", "ParentTree": parent_tree.reference})
    pdf.add_object(root)
    top = pydyf.Dictionary({"Type": "/StructElem", "S": "/Document", "K": pydyf.Array(), "P": root.reference})
    pdf.add_object(top)
    root["K"] = pydyf.Array([top.reference])
    pdf.catalog["StructTreeRoot"] = root.reference
    if str(pdf_version) >= "2.0":
        namespace = pydyf.Dictionary({"Type": "/Namespace", "NS": pydyf.String("http://iso.org/pdf2/ssn")})
        pdf.add_object(namespace)
        root["Namespaces"] = pydyf.Array([namespace.reference])
        top["NS"] = namespace.reference

    annotations: list = []
    for page_number, (page, stream) in enumerate(zip(document.pages, page_streams)):
        tree = _PageTree(pdf, page_number, stream._tags, annotations, top)
        for child in page._page_box.children:
            if isinstance(child, boxes.MarginBox):
                tree.walk_children(child, tree.outside())  # running header and footer
            else:
                tree.walk(child, top)
        if tree.tags:
            raise RuntimeError(f"page {page_number + 1}: {len(tree.tags)} marked contents left out of the structure tree")
        owners = join_adjacent_sequences(stream.stream, tree.marked)
        parent_tree["Nums"].extend([page_number, pydyf.Array(owners[mcid].reference for mcid in sorted(owners))])

    for index, (reference, annotation) in enumerate(annotations, start=len(document.pages)):
        parent_tree["Nums"].extend([index, reference])
        annotation["StructParent"] = index

    pdf.catalog["ViewerPreferences"] = pydyf.Dictionary({"DisplayDocTitle": "true"})
    pdf.catalog["MarkInfo"] = pydyf.Dictionary({"Marked": "true"})
    if "Lang" not in pdf.catalog:
        pdf.catalog["Lang"] = pydyf.String()


_weasyprint_add_tags = weasyprint_pdf.add_tags


def _add_tags(pdf, document, pdf_version, page_streams):
    builder = add_lean_tags if getattr(document, _MARK, False) else _weasyprint_add_tags
    return builder(pdf, document, pdf_version, page_streams)


# weasyprint.pdf.generate_pdf calls the module-level name `add_tags`; routing it through
# _add_tags changes only documents passed to mark_lean.
weasyprint_pdf.add_tags = _add_tags
