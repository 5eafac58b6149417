"""Read back what the renderer wrote: page text, Info dictionary, XMP, attachments, fonts.

Uses pdfminer.six (in-process) and poppler's pdffonts / pdfinfo (as a person would check a
PDF), never the renderer's own code, so the tests see the file the way a verifier does.
"""
from __future__ import annotations

import copy
import io
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from functools import cache

from pdfminer.high_level import extract_text
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

from renderers.samples import load_sample


def sample(name: str, model: str = "CHED-PP") -> dict:
    """A fresh, mutable copy of a packaged sample."""
    return copy.deepcopy(load_sample(model, name))


def sample_certificate(name: str, model: str = "CHED-PP", destination: str | None = None):
    """A packaged sample as a Certificate, its destination language switched if given."""
    from renderers.model import parse_certificate

    data = sample(name, model)
    if destination:
        data["destination_language"] = destination
    return parse_certificate(data)


def renamed_samples(destination: str, *tags: str) -> list:
    """The CHED-PP sample as Certificates with the destination language given, one per tag,
    each tag added to the parties' names and addresses: values no earlier render laid out,
    beside the same labels."""
    from renderers.model import parse_certificate

    certificates = []
    for tag in tags:
        data = sample("roses-ke-nl")
        data["destination_language"] = destination
        for party in ("consignor", "consignee", "operator_responsible"):
            data["fields"][party]["name"] += f" {tag}"
            data["fields"][party]["address"] += f"\n{tag} Postbus"
        certificates.append(parse_certificate(data))
    return certificates


def render_without(monkeypatch, cert, scope: str) -> bytes:
    """The certificate rendered with one of renderers.pdf's scopes (e.g. a cache) left out."""
    import contextlib

    import renderers.pdf as pdf_module
    from renderers.render import render_certificate

    with monkeypatch.context() as patch:
        patch.setattr(pdf_module, scope, contextlib.nullcontext)
        return render_certificate(cert).data


def _document(pdf: bytes) -> PDFDocument:
    return PDFDocument(PDFParser(io.BytesIO(pdf)))


def page_texts(pdf: bytes) -> list[str]:
    """Text per page, as poppler's pdftotext reads it (fast); pdfminer.six without poppler."""
    if _have("pdftotext"):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
            fh.write(pdf)
            fh.flush()
            out = subprocess.run(["pdftotext", "-enc", "UTF-8", fh.name, "-"], capture_output=True,
                                 check=True, timeout=60).stdout.decode("utf-8")
        pages = out.split("\f")
        return pages[:-1] if pages and not pages[-1].strip() else pages
    return page_texts_pdfminer(pdf)


def page_texts_pdfminer(pdf: bytes) -> list[str]:
    """Text per page as pdfminer.six (the verifier's library) extracts it."""
    count = len(list(PDFPage.get_pages(io.BytesIO(pdf))))
    return [extract_text(io.BytesIO(pdf), page_numbers=[i]) for i in range(count)]


def flat(text: str) -> str:
    """Whitespace collapsed: table cells wrap words onto several lines."""
    return " ".join(text.split())


def page_sizes_pt(pdf: bytes) -> list[tuple[float, float]]:
    sizes = []
    for page in PDFPage.get_pages(io.BytesIO(pdf)):
        x0, y0, x1, y1 = page.mediabox
        sizes.append((x1 - x0, y1 - y0))
    return sizes


def _text(value: object) -> str:
    value = resolve1(value)
    if isinstance(value, bytes):
        if value.startswith(b"\xfe\xff"):
            return value[2:].decode("utf-16-be")
        return value.decode("latin-1")
    return str(value)


def info(pdf: bytes) -> dict[str, str]:
    merged: dict[str, str] = {}
    for entry in _document(pdf).info:
        for key, value in entry.items():
            merged[key] = _text(value)
    return merged


def xmp(pdf: bytes) -> ET.Element:
    catalog = _document(pdf).catalog
    stream = resolve1(catalog["Metadata"])
    data = stream.get_data()
    start, end = data.index(b"<x:xmpmeta"), data.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")
    return ET.fromstring(data[start:end])


def attachments(pdf: bytes) -> dict[str, bytes]:
    catalog = _document(pdf).catalog
    names = resolve1(resolve1(resolve1(catalog["Names"])["EmbeddedFiles"])["Names"])
    found = {}
    for name, spec in zip(names[::2], names[1::2]):
        spec = resolve1(spec)
        found[_text(name)] = resolve1(resolve1(spec["EF"])["F"]).get_data()
    return found


def catalog_af_relationships(pdf: bytes) -> list[str]:
    """AFRelationship names of the files listed in the catalog's /AF array (PDF/A-3)."""
    catalog = _document(pdf).catalog
    return [resolve1(spec)["AFRelationship"].name for spec in resolve1(catalog.get("AF", []))]


@cache
def _have(tool: str) -> bool:
    return shutil.which(tool) is not None


def pdffonts(pdf: bytes) -> list[dict[str, str]]:
    """Rows of poppler's `pdffonts` (name, type, emb, ...)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        out = subprocess.run(["pdffonts", fh.name], capture_output=True, check=True, timeout=30).stdout.decode()
    lines = out.splitlines()[2:]
    rows = []
    for line in lines:
        parts = line.split()
        # name type... encoding emb sub uni object ID: the flags are the 5th-3rd from the end
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def has_poppler() -> bool:
    return _have("pdffonts") and _have("pdftoppm")


def page_resources(page):
    """A pyHanko page's /Resources entry as stored (a dictionary or a reference): its own, or
    the one it inherits from the page tree (certseal names it once, on /Pages)."""
    node = page
    while "/Resources" not in node:
        node = node["/Parent"]
    return node.raw_get("/Resources")
