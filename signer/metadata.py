"""What a certseal PDF says about itself: Info/XMP labels and the embedded `certificate.json`.

The handler-based readers take an already-parsed pyHanko handler (a `PdfFileReader` or the
`HistoricalResolver` of the signed revision), so verification parses the file once; they raise
DocumentReadError or pyHanko's read errors, which the verifier turns into findings.
`read_document_metadata(bytes)` is the convenience for callers holding a file; it raises only
DocumentReadError. Everything treats the file as hostile: bounded sizes, no XML DTDs/entities.

Keys are matched case-insensitively because WeasyPrint lowercases `<meta name>` keys when it
writes custom Info entries (`/certsealenvironment`); if a file carries two spellings with
different values, that is reported as a conflict, never silently resolved.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from renderers.environment import Environment

XMP_NAMESPACE = "https://certseal.example/ns/1.0/"
INFO_PREFIX = "certseal"
LABELS = ("environment", "reference", "model")
EMBEDDED_DATA_NAME = "certificate.json"

MAX_XMP_BYTES = 1 << 20
MAX_EMBEDDED_BYTES = 4 << 20
_MAX_NAME_TREE_NODES = 2000
_MAX_NAME_TREE_DEPTH = 16


class DocumentReadError(ValueError):
    """A part of the document could not be read (malformed or over a size limit)."""


@dataclass(frozen=True)
class MetadataLabels:
    """Certseal labels agreed by Info and XMP. `conflicts` lists every disagreement found."""

    environment: Environment | None
    reference: str | None
    model: str | None
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmbeddedData:
    """The embedded certificate input, as far as we need it to cross-check the visible document."""

    reference: str | None
    environment: str | None
    model: str | None


def _resolve(handler, obj):
    """Resolve a trailer entry *within `handler`'s revision*.

    A HistoricalResolver's trailer still holds references bound to the reader's latest
    revision; dereferencing them directly would silently read later (possibly forged) objects.
    """
    if isinstance(obj, generic.IndirectObject):
        obj = handler.get_object(generic.Reference(obj.idnum, obj.generation, handler))
    return obj


def _trailer_entry(handler, key: str):
    return _resolve(handler, handler.trailer_view.raw_get(key))


def _text(obj) -> str | None:
    if isinstance(obj, generic.TextStringObject | generic.ByteStringObject | str):
        return str(obj).strip()
    return None


def _info_values(handler) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {label: set() for label in LABELS}
    try:
        info = _trailer_entry(handler, "/Info")
    except KeyError:
        return found
    if not isinstance(info, generic.DictionaryObject):
        return found
    for key, value in info.items():
        name = str(key).lstrip("/").lower()
        if name.startswith(INFO_PREFIX) and name[len(INFO_PREFIX):] in found:
            text = _text(value)
            if text is not None:
                found[name[len(INFO_PREFIX):]].add(text)
    return found


def _xmp_bytes(handler, root) -> bytes | None:
    try:
        ref = root.raw_get("/Metadata")
    except KeyError:
        return None
    # Resolved as a plain stream: `root["/Metadata"]` would make pyHanko parse the XMP itself
    # (and, for an XMP stream replaced in a later revision, fail inside a historical view).
    stream = _resolve(handler, ref)
    if not isinstance(stream, generic.StreamObject):
        return None
    raw = stream.data
    if len(raw) > MAX_XMP_BYTES:
        raise DocumentReadError("XMP metadata is too large")
    return raw


def _xmp_values(raw: bytes | None) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {label: set() for label in LABELS}
    if not raw:
        return found
    # XMP has no business declaring a DTD; refusing one rules out entity-expansion attacks.
    if re.search(rb"<!(DOCTYPE|ENTITY)", raw, re.IGNORECASE):
        raise DocumentReadError("XMP metadata declares a DTD or entities")
    start = raw.find(b"<x:xmpmeta")
    end = raw.rfind(b"</x:xmpmeta>")
    if start >= 0 and end > start:
        raw = raw[start:end + len(b"</x:xmpmeta>")]
    try:
        tree = ET.fromstring(raw)
    except ET.ParseError as e:
        raise DocumentReadError(f"XMP metadata is not well-formed XML ({e})") from None
    prefix = "{" + XMP_NAMESPACE + "}"
    for elem in tree.iter():
        # element form: <certseal:environment>training</certseal:environment>
        if isinstance(elem.tag, str) and elem.tag.startswith(prefix):
            label = elem.tag[len(prefix):]
            if label in found and elem.text and elem.text.strip():
                found[label].add(elem.text.strip())
        # attribute form: <rdf:Description certseal:environment="training"/>
        for attr, value in elem.attrib.items():
            if attr.startswith(prefix) and attr[len(prefix):] in found:
                found[attr[len(prefix):]].add(value.strip())
    return found


def read_metadata_labels(handler) -> MetadataLabels:
    """Environment, reference and model from the Info dictionary and XMP of `handler`.

    Raises DocumentReadError (or a pyHanko read error) if either cannot be read at all;
    disagreements are returned in `conflicts`.
    """
    info = _info_values(handler)
    xmp = _xmp_values(_xmp_bytes(handler, _trailer_entry(handler, "/Root")))
    conflicts: list[str] = []
    agreed: dict[str, str | None] = {}
    for label in LABELS:
        values = info[label] | xmp[label]
        if len(values) > 1:
            conflicts.append(
                f"the document metadata names several {label}s ({', '.join(sorted(values))})"
            )
            agreed[label] = None
        else:
            agreed[label] = next(iter(values), None)
    environment = None
    if agreed["environment"] is not None:
        try:
            environment = Environment(agreed["environment"].lower())
        except ValueError:
            conflicts.append(f"the document metadata names an unknown environment {agreed['environment']!r}")
    return MetadataLabels(environment, agreed["reference"], agreed["model"], tuple(conflicts))


def _iter_name_tree(node, depth: int = 0, seen: list[int] | None = None):
    seen = seen if seen is not None else [0]
    seen[0] += 1
    if depth > _MAX_NAME_TREE_DEPTH or seen[0] > _MAX_NAME_TREE_NODES:
        raise DocumentReadError("the embedded-files name tree is too deep or too large")
    if not isinstance(node, generic.DictionaryObject):
        return
    names = node.get("/Names")
    if isinstance(names, generic.ArrayObject):
        for i in range(0, len(names) - 1, 2):
            yield _text(names[i]), names[i + 1]
    kids = node.get("/Kids")
    if isinstance(kids, generic.ArrayObject):
        for kid in kids:
            yield from _iter_name_tree(kid, depth + 1, seen)


def read_embedded_file(handler, name: str = EMBEDDED_DATA_NAME) -> bytes | None:
    """The contents of the embedded file called `name`, or None if there is none."""
    root = _trailer_entry(handler, "/Root")
    try:
        tree = root["/Names"]["/EmbeddedFiles"]
    except (KeyError, TypeError):
        return None
    for key, spec in _iter_name_tree(tree):
        if not isinstance(spec, generic.DictionaryObject):
            continue
        filenames = {_text(spec.get("/UF")), _text(spec.get("/F")), key}
        if name not in filenames:
            continue
        try:
            ef = spec["/EF"]
            stream = ef.get("/UF") or ef["/F"]
        except (KeyError, TypeError, AttributeError):
            raise DocumentReadError(f"embedded file {name} has no data stream") from None
        if not isinstance(stream, generic.StreamObject):
            raise DocumentReadError(f"embedded file {name} has no data stream")
        data = stream.data
        if len(data) > MAX_EMBEDDED_BYTES:
            raise DocumentReadError(f"embedded file {name} is too large")
        return data
    return None


def parse_embedded_data(raw: bytes) -> EmbeddedData:
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DocumentReadError(f"embedded {EMBEDDED_DATA_NAME} is not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise DocumentReadError(f"embedded {EMBEDDED_DATA_NAME} is not a JSON object")

    def field(key: str) -> str | None:
        value = doc.get(key)
        return value.strip() if isinstance(value, str) else None

    return EmbeddedData(field("reference"), field("environment"), field("model"))


def read_document_metadata(data: bytes) -> MetadataLabels:
    """The certseal labels of a PDF given as bytes (e.g. before `certseal sign`).

    Raises DocumentReadError if the file cannot be parsed or its metadata cannot be read.
    Conflicts between Info and XMP are returned in `conflicts`, with the label left None.
    """
    try:
        return read_metadata_labels(PdfFileReader(BytesIO(data), strict=False))
    except DocumentReadError:
        raise
    except Exception as e:  # pyHanko read errors on malformed input
        raise DocumentReadError(f"not a readable PDF file: {e}") from None
