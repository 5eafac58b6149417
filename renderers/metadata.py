"""The PDF metadata contract the verifier relies on.

Every rendered PDF carries, in BOTH places:
- the document Info dictionary: /CertsealEnvironment, /CertsealReference, /CertsealModel
  (and /CertsealVersion), text strings;
- the XMP metadata stream: properties `environment`, `reference`, `model` (and `version`) in
  namespace https://certseal.example/ns/1.0/ (prefix `certseal`), declared with a PDF/A
  extension schema so the file stays valid PDF/A-3.
Optionally /CertsealSealBox: "<page> <x1> <y1> <x2> <y2>" (0-based page, PDF points, origin
bottom-left) — where the visible electronic seal belongs.

WeasyPrint has no option for custom XMP properties, so they are written by its `finisher`
hook, in the same single pass that writes the file (nothing is appended afterwards, which
matters because the signer certifies the file as it is).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable
from xml.sax.saxutils import escape

import pydyf

if TYPE_CHECKING:
    from renderers.model import Certificate
    from renderers.pdf import SealBox

XMP_NAMESPACE = "https://certseal.example/ns/1.0/"
XMP_PREFIX = "certseal"
XMP_PROPERTIES = ("environment", "reference", "model", "version")
INFO_KEYS = {
    "environment": "CertsealEnvironment",
    "reference": "CertsealReference",
    "model": "CertsealModel",
    "version": "CertsealVersion",
}
INFO_SEAL_BOX = "CertsealSealBox"

_DESCRIPTIONS = {
    "environment": "Issuing environment: production, training or acceptance",
    "reference": "Certificate reference (IMSOC reference)",
    "model": "Certificate model id, e.g. CHED-PP",
    "version": "Issue number of the certificate reference",
}


def metadata_values(cert: "Certificate") -> dict[str, str]:
    return {
        "environment": cert.environment.value,
        "reference": cert.reference,
        "model": cert.model.id,
        "version": str(cert.version),
    }


def xmp_fragment(values: dict[str, str]) -> bytes:
    """rdf:Description elements to insert into the document's rdf:RDF."""
    properties = "".join(
        "<rdf:li rdf:parseType=\"Resource\">"
        f"<pdfaProperty:name>{name}</pdfaProperty:name>"
        "<pdfaProperty:valueType>Text</pdfaProperty:valueType>"
        "<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{escape(_DESCRIPTIONS[name])}</pdfaProperty:description>"
        "</rdf:li>" for name in XMP_PROPERTIES)
    extension = (
        '<rdf:Description rdf:about="" '
        'xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
        'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" '
        'xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
        "<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType=\"Resource\">"
        "<pdfaSchema:schema>certseal certificate metadata</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{XMP_NAMESPACE}</pdfaSchema:namespaceURI>"
        f"<pdfaSchema:prefix>{XMP_PREFIX}</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{properties}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>")
    values_xml = "".join(f"<{XMP_PREFIX}:{name}>{escape(values[name])}</{XMP_PREFIX}:{name}>"
                         for name in XMP_PROPERTIES)
    own = f'<rdf:Description rdf:about="" xmlns:{XMP_PREFIX}="{XMP_NAMESPACE}">{values_xml}</rdf:Description>'
    return (extension + own).encode("utf-8")


def _object_number(reference: object) -> int:
    text = reference.decode() if isinstance(reference, bytes) else str(reference)
    return int(text.split()[0])


def _insert_xmp(pdf: pydyf.PDF, fragment: bytes) -> None:
    if "Metadata" not in pdf.catalog:
        raise RuntimeError("no XMP metadata stream: is the PDF/A variant set?")
    stream = pdf.objects[_object_number(pdf.catalog["Metadata"])]
    content = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in stream.stream)
    marker = b"</rdf:RDF>"
    if content.count(marker) != 1:
        raise RuntimeError("unexpected XMP layout from WeasyPrint")
    stream.stream = [content.replace(marker, fragment + marker)]


def _dedupe_associated_files(pdf: pydyf.PDF) -> None:
    """WeasyPrint 70 lists each attachment twice in the catalog's /AF array (once from the
    EmbeddedFiles name tree, once from the file specification); keep one of each."""
    if "AF" not in pdf.catalog:
        return
    seen: list = []
    for reference in pdf.catalog["AF"]:
        if reference not in seen:
            seen.append(reference)
    pdf.catalog["AF"] = pydyf.Array(seen)


def finisher(cert: "Certificate", seal_box: "SealBox | None" = None) -> Callable[[object, pydyf.PDF], None]:
    """A WeasyPrint `finisher` writing the Info and XMP entries for `cert`."""
    values = metadata_values(cert)
    fragment = xmp_fragment(values)

    def finish(document: object, pdf: pydyf.PDF) -> None:
        for name, key in INFO_KEYS.items():
            pdf.info[key] = pydyf.String(values[name])
        if seal_box is not None:
            pdf.info[INFO_SEAL_BOX] = pydyf.String(seal_box.as_info())
        _insert_xmp(pdf, fragment)
        _dedupe_associated_files(pdf)

    return finish
