"""pyHanko's historical resolver copies objects as before with signer._subsume's short path for
leaves and references: the same objects, container references and handlers, the same error."""
from __future__ import annotations

from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

import signer._subsume as subsume
from test_verify_reverse_xref import CORPUS, ORIGINALS


def _shape(obj, resolver, depth=0):
    """Everything observable about a subsumed object, handlers compared by identity."""
    if depth > 60:
        return "deep"
    ref = obj.container_ref
    where = None if ref is None else (ref.idnum, ref.generation, ref.pdf is resolver)
    if isinstance(obj, generic.IndirectObject):
        r = obj.reference
        return ("ref", r.idnum, r.generation, r.pdf is resolver, where)
    if isinstance(obj, generic.StreamObject):
        return ("stream", obj.encoded_data, [(k, _shape(v, resolver, depth + 1)) for k, v in obj.items()], where)
    if isinstance(obj, generic.DictionaryObject):
        return ("dict", [(k, _shape(v, resolver, depth + 1)) for k, v in obj.items()], where)
    if isinstance(obj, generic.ArrayObject):
        return ("array", [_shape(v, resolver, depth + 1) for v in obj], where)
    value = "null" if isinstance(obj, generic.NullObject) else repr(obj)  # NullObject's repr is its address
    return (type(obj).__name__, value, where)


def _objects_of_every_revision(data: bytes) -> list:
    reader = PdfFileReader(BytesIO(data), strict=False)
    shapes = []
    for revision in range(reader.xrefs.total_revisions):
        resolver = reader.get_historical_resolver(revision)
        for ref in sorted(reader.xrefs.explicit_refs_in_revision(revision), key=lambda r: (r.idnum, r.generation)):
            try:
                obj = resolver.get_object(generic.Reference(ref.idnum, ref.generation, resolver))
            except Exception as exc:  # noqa: BLE001 - the kind of failure is part of the behaviour
                shapes.append((revision, ref.idnum, "raised", type(exc).__name__, str(exc)))
            else:
                shapes.append((revision, ref.idnum, _shape(obj, resolver)))
    return shapes


def _both_ways(data: bytes) -> tuple[list, list]:
    subsume.uninstall()
    try:
        original = _objects_of_every_revision(data)
    finally:
        subsume.install()
    return original, _objects_of_every_revision(data)


def test_installed_on_the_checked_pyhanko_source():
    assert subsume.ACTIVE, subsume.source_sha256()
    assert HistoricalResolver._subsume_object is subsume._subsume_object


@pytest.mark.parametrize("name", list(ORIGINALS))
def test_certseal_originals_are_copied_as_pyhanko_copies_them(name):
    make, _ = ORIGINALS[name]
    original, fast = _both_ways(make())
    assert len(original) > 30 and fast == original


@pytest.mark.skipif(CORPUS is None, reason="attack corpus not present")
@pytest.mark.parametrize("name", sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.pdf")) if CORPUS else [])
def test_attack_corpus_is_copied_as_pyhanko_copies_it(name):
    original, fast = _both_ways((CORPUS / name).read_bytes())
    assert fast == original


def test_an_object_without_a_container_reference_fails_as_before():
    resolver = PdfFileReader(BytesIO(ORIGINALS["stand-in-b-b"][0]()), strict=False).get_historical_resolver(0)
    for leaf in (generic.NumberObject(3), generic.NameObject("/X"), generic.IndirectObject(1, 0, None),
                 generic.DictionaryObject()):
        leaf.container_ref = None
        with pytest.raises(misc.PdfReadError, match="No container reference"):
            subsume._subsume_object(resolver, leaf)
        with pytest.raises(misc.PdfReadError, match="No container reference"):
            subsume.ORIGINAL(resolver, leaf)
