"""signer._reverse_xref gives exactly pyHanko's answers, faster.

For every revision of every file here, two fresh readers: pyHanko's own
`_load_reverse_xref_cache` runs on one, the replacement on the other. Same exception (type and
message) when the original raises, the same objects resolved into the resolver's cache (in the
same order), and `_get_usages_of_ref` equal for every reference of every revision (and for
references that do not exist). Files: certseal originals (B-B, B-LTA, approved, edited after
sealing), the public attack corpus when present, and small hand-built hostile PDFs (circular
page / structure trees, /K cycles, deep nesting, broken objects).

A file nested too deep for the original (it raises RecursionError) may be mapped by the
replacement (it needs fewer frames per level): its answers are then checked against the
original run with more stack; nested deeper still, both raise RecursionError.
"""
from __future__ import annotations

import sys
import threading
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

from _corpus import shared_corpus
from _pki_helpers import (
    MODEL,
    _pki_set,
    certseal_original,
    certseal_original_at_level,
    sealed_pdf,
)
from renderers.environment import Environment
from signer import _reverse_xref as rx

CORPUS = shared_corpus("rub-shadow")
PROD = Environment.PRODUCTION


# --- running both ------------------------------------------------------------------------------

def _resolver(data: bytes, revision: int) -> HistoricalResolver:
    reader = PdfFileReader(BytesIO(data), strict=False)
    if reader.encrypted:
        reader.decrypt(b"")  # the empty user password of _encrypted_with_structure
    return reader.get_historical_resolver(revision)


def _refs(data: bytes) -> set[generic.Reference]:
    """Every reference any revision writes, and a few that no revision has."""
    xrefs = PdfFileReader(BytesIO(data), strict=False).xrefs
    refs = {generic.Reference(n, g) for n in (0, 1, 99_999) for g in (0, 1)}
    for revision in range(xrefs.total_revisions):
        refs |= set(xrefs.explicit_refs_in_revision(revision))
    return refs


def _with_headroom(function):
    """function() with a recursion limit 20 times higher, in a thread with a large stack."""
    outcome: dict = {}

    def run() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit * 20)
        try:
            outcome["value"] = function()
        except BaseException as e:  # noqa: BLE001 - handed back to the caller
            outcome["error"] = e
        finally:
            sys.setrecursionlimit(limit)

    previous = threading.stack_size(512 << 20)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _compare_usages(original: HistoricalResolver, replaced: HistoricalResolver, refs) -> int:
    """Assert equal answers for every ref; return how many paths the original knew."""
    known = set(original._indirect_object_access_cache)
    assert set(replaced._indirect_object_access_cache) == known
    paths = 0
    for ref in refs | known:
        expected = rx.ORIGINAL_GET_USAGES(original, ref)
        got = rx._get_usages_of_ref(replaced, ref)
        assert got == expected, (ref, got ^ expected)
        paths += len(expected)
    return paths


def _resolved_no_more(replaced: HistoricalResolver, original: HistoricalResolver) -> bool:
    """The replacement reads the revision's objects without the resolver's copies of them
    (signer._reverse_xref._RevisionReader): the resolver has copied no object the original's
    walk did not copy, in the same order."""
    copied = list(replaced.cache)
    return copied == [ref for ref in original.cache if ref in set(copied)]


def check_revision(data: bytes, revision: int, refs) -> tuple[str, int]:
    """Compare the two on one revision; return ("ok", number of paths) or ("raised", name)."""
    original, replaced = _resolver(data, revision), _resolver(data, revision)
    try:
        rx.ORIGINAL_LOAD(original)
    except Exception as e:  # noqa: BLE001
        expected_error: Exception | None = e
    else:
        expected_error = None
    try:
        rx._load_reverse_xref_cache(replaced)
    except Exception as e:  # noqa: BLE001
        error: Exception | None = e
    else:
        error = None

    if isinstance(expected_error, RecursionError):
        if error is not None:
            assert isinstance(error, RecursionError), repr(error)
            return "raised", "RecursionError"
        # Mapped with fewer frames: the original with more stack must agree.
        original = _resolver(data, revision)
        _with_headroom(lambda: rx.ORIGINAL_LOAD(original))
        assert _resolved_no_more(replaced, original)
        return "ok", _compare_usages(original, replaced, refs)

    if expected_error is not None:
        assert error is not None, f"the original raised {expected_error!r}, the replacement did not"
        assert (type(error), str(error)) == (type(expected_error), str(expected_error))
        assert _resolved_no_more(replaced, original)  # of what was resolved before it
        assert replaced._indirect_object_access_cache is None
        assert original._indirect_object_access_cache is None
        return "raised", type(error).__name__
    assert error is None, f"the replacement raised {error!r}, the original did not"
    assert _resolved_no_more(replaced, original)
    paths = _compare_usages(original, replaced, refs)
    # a second call does nothing
    mapping = replaced._indirect_object_access_cache
    rx._load_reverse_xref_cache(replaced)
    assert replaced._indirect_object_access_cache is mapping
    return "ok", paths


def check_file(data: bytes) -> list[tuple[str, object]]:
    refs = _refs(data)
    revisions = PdfFileReader(BytesIO(data), strict=False).xrefs.total_revisions
    return [check_revision(data, revision, refs) for revision in range(revisions)]


# --- the replacement is installed --------------------------------------------------------------

def test_installed_on_the_checked_pyhanko_source():
    # Fails after a pyHanko upgrade that changed _load_reverse_xref_cache, _get_usages_of_ref or
    # ConsList: compare signer._reverse_xref with the new code, then update the checksum.
    assert rx.ACTIVE, rx.SOURCE_SHA256
    assert HistoricalResolver._load_reverse_xref_cache is rx._load_reverse_xref_cache
    assert HistoricalResolver._get_usages_of_ref is rx._get_usages_of_ref


# --- certseal originals ------------------------------------------------------------------------

def _approved() -> bytes:
    from datetime import datetime, timedelta, timezone

    from signer.approval import approve_pdf
    from signer.follow_up import parse_follow_up

    follow_up = parse_follow_up({
        "officer": "Dr. Anna Berger", "qualification": "Amtliche Tierärztin",
        "authority": "Grenzkontrollstelle Hamburg Hafen", "decision": "compliance_confirmed",
        "date": datetime.now(timezone(timedelta(hours=1))).isoformat(timespec="seconds"),
    })
    pkis = _pki_set()
    return approve_pdf(certseal_original(MODEL, PROD), pkis.key(PROD), follow_up, level="B-B", trust=pkis.trust).pdf


def _edited_after_sealing() -> bytes:
    """The B-B original with an annotation and a link pointing at page 1 (/P, /Dest), a
    second path to the structure tree, and a changed /Info: a later revision that reaches the
    page tree and the structure tree from outside."""
    data = certseal_original(MODEL, PROD)
    writer = IncrementalPdfFileWriter(BytesIO(data))
    page_ref = writer.root["/Pages"].raw_get("/Kids")[0]
    page = page_ref.get_object()
    note = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Text"),
        pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (10, 10, 40, 40)]),
        pdf_name("/Contents"): generic.TextStringObject("added later"), pdf_name("/P"): page_ref,
    }))
    link = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Link"),
        pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (50, 50, 90, 90)]),
        pdf_name("/Dest"): generic.ArrayObject([page_ref, pdf_name("/Fit")]), pdf_name("/P"): page_ref,
    }))
    annots = page.get("/Annots")
    annots = generic.ArrayObject(list(annots.get_object()) if annots is not None else [])
    annots += [note, link]
    page[pdf_name("/Annots")] = annots
    writer.update_container(page)
    writer.root[pdf_name("/Extra")] = generic.ArrayObject([writer.root.raw_get("/StructTreeRoot"), page_ref])
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


# name -> (the file, fewest paths a revision must have: a real certificate is tagged)
ORIGINALS = {
    "b-b": (lambda: certseal_original(MODEL, PROD), 500),
    "b-lta": (lambda: certseal_original_at_level("B-LTA"), 500),
    "approved": (_approved, 500),
    "edited-after-sealing": (_edited_after_sealing, 500),
    "stand-in-b-b": (lambda: sealed_pdf(Environment.TRAINING), 20),
}


@pytest.mark.parametrize("name", list(ORIGINALS))
def test_certseal_originals(name):
    make, fewest_paths = ORIGINALS[name]
    results = check_file(make())
    assert len(results) >= 2
    assert all(status == "ok" and paths >= fewest_paths for status, paths in results), results


# --- the public attack corpus ------------------------------------------------------------------

@pytest.mark.skipif(CORPUS is None, reason="attack corpus not present")
@pytest.mark.parametrize("name", sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.pdf")) if CORPUS else [])
def test_attack_corpus(name):
    results = check_file((CORPUS / name).read_bytes())
    assert results


# --- hand-built hostile files ------------------------------------------------------------------

def build_pdf(objects: dict[int, bytes], root: int = 1, trailer: bytes = b"") -> bytes:
    """A classic-xref PDF from object bodies numbered from 1."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, objects[num])
    size = max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += b"%010d 00000 n \n" % offsets[num] if num in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<</Size %d/Root %d 0 R%s>>\nstartxref\n%d\n%%%%EOF\n" % (size, root, trailer, xref_at)
    return bytes(out)


def append_update(data: bytes, objects: dict[int, bytes], root: int = 1) -> bytes:
    """An incremental update (re)writing these objects."""
    prev = int(data.rsplit(b"startxref", 1)[1].split()[0])
    out = bytearray(data)
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, objects[num])
    xref_at = len(out)
    out += b"xref\n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    size = max(int(PdfFileReader(BytesIO(data), strict=False).trailer["/Size"]), max(objects) + 1)
    out += b"trailer\n<</Size %d/Root %d 0 R/Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (size, root, prev, xref_at)
    return bytes(out)


PAGE = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>"


def _doc(extra_root: bytes = b"", pages: bytes = b"<</Type/Pages/Kids[3 0 R]/Count 1>>", page: bytes = PAGE,
         **objects: bytes) -> bytes:
    objs = {1: b"<</Type/Catalog/Pages 2 0 R" + extra_root + b">>", 2: pages, 3: page}
    objs.update({int(k[1:]): v for k, v in objects.items()})
    return build_pdf(objs)


def _struct(k: bytes, extra_root: bytes = b"", **objects: bytes) -> bytes:
    """A document whose /StructTreeRoot (object 4) has this /K."""
    return _doc(b"/StructTreeRoot 4 0 R" + extra_root, o4=b"<</Type/StructTreeRoot/K " + k + b"/ParentTree 9 0 R>>",
                o9=b"<</Nums[0 [5 0 R 6 0 R]]>>", **objects)


def _chain(depth: int) -> bytes:
    objs = {1: b"<</Type/Catalog/Pages 2 0 R/Deep 4 0 R>>", 2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>", 3: PAGE}
    for i in range(depth):
        objs[4 + i] = b"[%d 0 R 1]" % (5 + i)
    objs[4 + depth] = b"<</End true>>"
    return build_pdf(objs)


def _struct_chain(depth: int) -> bytes:
    objs = {1: b"<</Type/Catalog/Pages 2 0 R/StructTreeRoot 4 0 R>>", 2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            3: PAGE, 4: b"<</Type/StructTreeRoot/K 5 0 R>>"}
    for i in range(depth):
        objs[5 + i] = b"<</Type/StructElem/S/Div/P %d 0 R/Pg 3 0 R/K %d 0 R>>" % (4 + i, 6 + i)
    objs[5 + depth] = b"<</Type/StructElem/S/P/K 0>>"
    return build_pdf(objs)


def _page_chain(depth: int) -> bytes:
    objs = {1: b"<</Type/Catalog/Pages 2 0 R/Outlines 9999 0 R>>"}
    for i in range(depth):
        objs[2 + i] = b"<</Type/Pages/Kids[%d 0 R]/Count 1>>" % (3 + i)
    objs[2 + depth] = b"<</Type/Page/Annots[<</Subtype/Link/Dest[2 0 R /Fit]/P %d 0 R>>]/MediaBox[0 0 10 10]>>" % (2 + depth)
    objs[9999] = b"<</First 2 0 R>>"
    return build_pdf(objs)


def _diamonds(depth: int) -> bytes:
    """2**depth paths to the last object."""
    objs = {1: b"<</Type/Catalog/Pages 2 0 R/D 4 0 R>>", 2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>", 3: PAGE}
    for i in range(depth):
        objs[4 + i] = b"<</A %d 0 R/B [%d 0 R]>>" % (5 + i, 5 + i)
    objs[4 + depth] = b"[3 0 R 2 0 R]"
    return build_pdf(objs)


HOSTILE = {
    "circular-page-tree": _doc(pages=b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
                               page=b"<</Type/Pages/Parent 2 0 R/Kids[2 0 R]>>"),
    "page-listed-twice": _doc(pages=b"<</Type/Pages/Kids[3 0 R 3 0 R]/Count 2>>"),
    "page-tree-kid-cycle-through-direct-node": _doc(
        pages=b"<</Type/Pages/Kids[<</Type/Pages/Kids[3 0 R]>> 3 0 R]/Count 2>>"),
    # the same length and last elements as the page's path in the page tree, another start
    "page-tree-look-alike-path": _doc(b"/Pagez <</Kids [3 0 R 4 0 R]>>/Pages2 <</Kids [4 0 R 3 0 R]>>",
                                      pages=b"<</Type/Pages/Kids[3 0 R 4 0 R]/Count 2>>",
                                      o4=b"<</Type/Page/Parent 2 0 R/Annots [<</Subtype/Text>>]>>"),
    "root-not-a-dictionary": build_pdf({1: b"[2 0 R]", 2: b"<</Type/Pages/Kids[]/Count 0>>"}),
    "no-pages": build_pdf({1: b"<</Type/Catalog>>"}),
    "pages-not-a-dictionary": build_pdf({1: b"<</Type/Catalog/Pages 2 0 R>>", 2: b"[3 0 R]", 3: PAGE}),
    "pages-without-kids": _doc(pages=b"<</Type/Pages/Count 0>>"),
    "kids-is-a-name": _doc(pages=b"<</Type/Pages/Kids/Foo/Count 0>>"),
    "kid-is-an-array": _doc(pages=b"<</Type/Pages/Kids[[3 0 R]]/Count 1>>"),
    "direct-pages": build_pdf({1: b"<</Type/Catalog/Pages <</Type/Pages/Kids[2 0 R]/Count 1>>>>",
                               2: b"<</Type/Page/MediaBox[0 0 10 10]/Annots[<</P 2 0 R>>]>>"}),
    "circular-struct-tree": _struct(b"5 0 R", o5=b"<</Type/StructElem/S/Div/P 4 0 R/K 6 0 R>>",
                                    o6=b"<</Type/StructElem/S/P/P 5 0 R/K [7 0 R 5 0 R]>>",
                                    o7=b"<</Type/StructElem/S/Span/P 6 0 R/K 0/Pg 3 0 R>>"),
    "struct-elem-is-its-own-kid": _struct(b"[5 0 R]", o5=b"<</Type/StructElem/S/Div/K [5 0 R]>>",
                                          o6=b"<</Type/StructElem>>"),
    # a single-child /K is dereferenced before its reference is checked: the original recurses
    # until RecursionError
    "struct-elem-is-its-own-only-kid": _struct(b"[5 0 R]", o5=b"<</Type/StructElem/S/Div/K 5 0 R>>",
                                               o6=b"<</Type/StructElem>>"),
    "struct-cycle-of-only-kids": _struct(b"5 0 R", o5=b"<</Type/StructElem/S/Div/K 6 0 R>>",
                                         o6=b"<</S/Div/K 5 0 R>>"),
    "struct-root-without-type-as-a-kid": _doc(
        b"/StructTreeRoot 4 0 R", o4=b"<</K [5 0 R]>>", o5=b"<</Type/StructElem/S/Div/K [6 0 R]>>",
        o6=b"<</S/P/K 4 0 R>>"),
    "struct-kids-of-every-kind": _struct(
        b"[5 0 R <</S/Sect/K [6 0 R 3 <</Type/MCR/MCID 4/Pg 3 0 R>>]>> 7 0 R 8 0 R (text) 10 0 R]",
        o5=b"<</Type/StructElem/S/Div/P 4 0 R/Pg 3 0 R/K 11 0 R/A <</O/Layout>>/Parent 4 0 R>>",
        o6=b"<</Type/StructElem/S/P/P 4 0 R/K [0 1 <</Type/OBJR/Obj 12 0 R/Pg 3 0 R>>]>>",
        o7=b"<</Type/Foo/K [6 0 R]>>", o8=b"[5 0 R]", o10=b"<</Type/StructElem/S/Figure/K 13 0 R>>",
        o11=b"[<</Type/StructElem/S/Span/K 2>> 14 0 R]", o12=b"<</Type/Annot/Subtype/Link/P 3 0 R/StructParent 1>>",
        o13=b"14 0 R", o14=b"<</Type/StructElem/S/Span/K 5>>"),
    "struct-entered-from-outside": _struct(
        b"[5 0 R 6 0 R]", extra_root=b"/Extra [5 0 R 4 0 R <</Elem 7 0 R>>]",
        o5=b"<</Type/StructElem/S/Div/P 4 0 R/K [7 0 R]>>", o6=b"<</Type/StructElem/S/P/P 4 0 R/K 0>>",
        o7=b"<</Type/StructElem/S/Span/P 5 0 R/K [1 <</MCID 2>>]/Pg 3 0 R>>"),
    "struct-type-indirect-or-null": _struct(
        b"[5 0 R 6 0 R 7 0 R]", o5=b"<</Type 30 0 R/S/Div/K [8 0 R]>>", o6=b"<</Type null/S/P/K 0>>",
        o7=b"<</Type 31 0 R/K [10 0 R]>>", o8=b"<</Type/StructElem/S/Span/P 5 0 R>>", o10=b"<</S/Span>>",
        o30=b"/StructElem", o31=b"/Foo"),
    # /StructTreeRoot /K also under /Info: only /Root /StructTreeRoot /K starts the structure tree
    "struct-tree-root-under-info": build_pdf({
        1: b"<</Type/Catalog/Pages 2 0 R/StructTreeRoot 4 0 R>>", 2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        3: PAGE, 4: b"<</Type/StructTreeRoot/K [5 0 R]>>", 5: b"<</Type/StructElem/S/Div/P 4 0 R/K [6 0 R]>>",
        6: b"<</Type/StructElem/S/P/P 5 0 R/Pg 3 0 R>>",
        20: b"<</StructTreeRoot <</K [7 0 R 5 0 R]>>/Root <</StructTreeRoot <</K 7 0 R>>>>>>",
        7: b"<</Type/StructElem/S/Note/P 6 0 R/K [<</P 6 0 R/S/Span>>]>>",
    }, trailer=b"/Info 20 0 R"),
    "struct-root-is-an-array": _doc(b"/StructTreeRoot 4 0 R", o4=b"[5 0 R]", o5=b"<</Type/StructElem>>"),
    "struct-root-is-missing": _doc(b"/StructTreeRoot 44 0 R"),
    "struct-root-is-a-number": _doc(b"/StructTreeRoot 4"),
    "struct-k-missing-object": _struct(b"[5 0 R 77 0 R]", o5=b"<</Type/StructElem/S/Div/K 78 0 R>>"),
    "object-cycles-and-references-to-references": _doc(
        b"/A 4 0 R/B 5 0 R/C 6 0 R", o4=b"[5 0 R 4 0 R <</X 4 0 R/Parent 5 0 R>>]",
        o5=b"<</Next 4 0 R/Self 5 0 R/Page 3 0 R/P 3 0 R>>", o6=b"7 0 R", o7=b"4 0 R"),
    "outlines-and-links-into-the-page-tree": _doc(
        b"/Outlines 4 0 R/Dests <</a [3 0 R /Fit]>>/Pages2 2 0 R",
        page=b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]/Annots[5 0 R]>>",
        o4=b"<</First 6 0 R/Last 6 0 R>>", o5=b"<</Subtype/Link/P 3 0 R/Dest[3 0 R/Fit]>>",
        o6=b"<</Parent 4 0 R/Dest[3 0 R/XYZ 0 0 0]/Next 6 0 R/Kids[3 0 R]>>"),
    "broken-object": _doc(b"/A 4 0 R/B 5 0 R", o4=b"<</X 1>>", o5=b"<</Y [1 2 /Z"),
    "broken-struct-elem": _struct(b"[5 0 R 6 0 R]", o5=b"<</Type/StructElem/S/Div>>", o6=b"<</Type/StructElem/K [ 1"),
    "diamonds": _diamonds(10),
    "chain-150": _chain(150),
    "struct-chain-150": _struct_chain(150),
    "page-chain-80": _page_chain(80),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files(name):
    assert check_file(HOSTILE[name])


def test_hostile_files_say_what_they_should():
    # the cases above exercise what they are named after
    def outcome(name):
        (result,) = check_file(HOSTILE[name])
        return result

    assert outcome("circular-page-tree") == ("raised", "PdfReadError")
    assert outcome("page-listed-twice") == ("raised", "PdfReadError")
    assert outcome("circular-struct-tree") == ("raised", "PdfReadError")
    assert outcome("struct-elem-is-its-own-kid") == ("raised", "PdfReadError")
    assert outcome("struct-root-without-type-as-a-kid") == ("raised", "PdfReadError")
    assert outcome("struct-elem-is-its-own-only-kid") == ("raised", "RecursionError")
    assert outcome("struct-cycle-of-only-kids") == ("raised", "RecursionError")
    assert outcome("pages-not-a-dictionary") == ("raised", "TypeError")
    assert outcome("struct-root-is-an-array") == ("raised", "TypeError")
    assert outcome("broken-object") == ("raised", "PdfReadError")
    assert outcome("broken-struct-elem") == ("raised", "PdfReadError")
    assert outcome("no-pages") == ("raised", "KeyError")
    assert outcome("pages-without-kids") == ("raised", "KeyError")
    for name in ("struct-kids-of-every-kind", "struct-entered-from-outside", "diamonds", "direct-pages",
                 "outlines-and-links-into-the-page-tree", "object-cycles-and-references-to-references"):
        assert outcome(name)[0] == "ok", name
    assert outcome("diamonds")[1] > 2 ** 10


def test_hostile_updates_in_later_revisions():
    base = HOSTILE["struct-kids-of-every-kind"]
    # revision 1 makes the structure tree circular, revision 2 the page tree, revision 3 repairs both
    data = append_update(base, {6: b"<</Type/StructElem/S/P/K [5 0 R]>>", 5: b"<</Type/StructElem/K 6 0 R>>"})
    data = append_update(data, {3: b"<</Type/Pages/Kids[2 0 R]>>"})
    data = append_update(data, {3: PAGE, 5: b"<</Type/StructElem/S/Div/K 0>>", 6: b"<</S/P/K [15 0 R]>>",
                                15: b"<</Link 3 0 R/P 6 0 R>>",
                                1: b"<</Type/Catalog/Pages 2 0 R/StructTreeRoot 4 0 R/New 15 0 R>>"})
    results = check_file(data)
    assert [status for status, _ in results] == ["ok", "raised", "raised", "ok"], results


@pytest.mark.parametrize("make, depth", [(_chain, 600), (_struct_chain, 600), (_page_chain, 300)])
def test_too_deep_for_the_original_is_mapped_as_with_more_stack(make, depth):
    # The original raises RecursionError here (hashing its linked-list paths recursively);
    # check_revision then compares with the original given more stack.
    data = make(depth)
    original = _resolver(data, 0)
    with pytest.raises(RecursionError):
        rx.ORIGINAL_LOAD(original)
    (result,) = check_file(data)
    assert result[0] == "ok"


@pytest.mark.parametrize("make", [_chain, _struct_chain, _page_chain])
def test_far_too_deep_raises_recursion_error_like_the_original(make):
    data = make(20_000)
    for load in (rx.ORIGINAL_LOAD, rx._load_reverse_xref_cache):
        with pytest.raises(RecursionError):
            load(_resolver(data, 0))


def test_deep_direct_nesting():
    data = _doc(b"/Deep 4 0 R", o4=b"[" * 5000 + b"]" * 5000)
    assert check_file(data) == [("raised", "RecursionError")]
    data = _doc(b"/Deep 4 0 R", o4=b"[" * 200 + b"1" + b"]" * 200)
    assert check_file(data)[0][0] == "ok"


def test_usages_are_built_once_and_empty_for_unknown_refs():
    data = HOSTILE["outlines-and-links-into-the-page-tree"]
    resolver = _resolver(data, 0)
    resolver._load_reverse_xref_cache()
    page = generic.Reference(3, 0)
    assert resolver._get_usages_of_ref(page) is resolver._get_usages_of_ref(page)
    # every path that reaches the page, though only the page tree's is followed further
    assert {str(p) for p in resolver._get_usages_of_ref(page)} == {
        ".Root.Pages.Kids[0]", ".Root.Dests.a[0]", ".Root.Outlines.First.Dest[0]",
        ".Root.Outlines.First.Kids[0]", ".Root.Outlines.Last.Dest[0]", ".Root.Outlines.Last.Kids[0]",
    }
    assert {str(p) for p in resolver._get_usages_of_ref(generic.Reference(2, 0))} == {".Root.Pages", ".Root.Pages2"}
    assert resolver._get_usages_of_ref(generic.Reference(1234, 0)) == set()
    fresh = _resolver(data, 0)
    assert fresh._get_usages_of_ref(page) == set()  # not loaded


def _encrypted_with_structure() -> bytes:
    """An AES-256 encrypted file with a page, a structure tree and an update after it: objects
    the reader hands out as proxies that the resolver decrypts."""
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    writer = PdfFileWriter()
    contents = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    page = writer.insert_page(PageObject(contents, [0, 0, 10, 10]))
    kid = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/StructElem"), pdf_name("/S"): pdf_name("/P"),
        pdf_name("/Pg"): page, pdf_name("/K"): generic.NumberObject(0),
        pdf_name("/T"): generic.TextStringObject("encrypted title"),
    }))
    root = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/StructTreeRoot"), pdf_name("/K"): generic.ArrayObject([kid]),
    }))
    writer.root[pdf_name("/StructTreeRoot")] = root
    writer.root[pdf_name("/Extra")] = generic.ArrayObject([kid, page])
    writer.encrypt("owner-secret", "")
    out = BytesIO()
    writer.write(out)
    updater = IncrementalPdfFileWriter(BytesIO(out.getvalue()))
    updater.encrypt("")
    updater.root[pdf_name("/Later")] = generic.TextStringObject("added")
    updater.update_root()
    out = BytesIO()
    updater.write(out)
    return out.getvalue()


def test_encrypted_files_keep_the_resolver_s_path():
    data = _encrypted_with_structure()
    results = check_file(data)
    assert [status for status, _ in results] == ["ok", "ok"], results
    resolver = _resolver(data, 0)
    rx._load_reverse_xref_cache(resolver)
    assert len(resolver.cache) >= 3  # the page, the structure element and its root were copied


def test_the_walk_reads_the_revision_without_copying_it():
    # The point of _RevisionReader: on a certseal original the resolver copies only the page
    # tree's few objects (and the structure tree root), not the ~250 objects the walk reads.
    data = certseal_original(MODEL, PROD)
    original, replaced = _resolver(data, 0), _resolver(data, 0)
    rx.ORIGINAL_LOAD(original)
    rx._load_reverse_xref_cache(replaced)
    assert len(original.cache) > 200
    assert len(replaced.cache) < 20, len(replaced.cache)
