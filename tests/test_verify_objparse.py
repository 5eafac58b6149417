"""certseal's parser for the objects of object streams (signer._objparse) returns what
pyHanko's `generic.read_object` returns, object for object (classes, values, key order,
container_ref, handlers), and leaves everything else to pyHanko."""
from __future__ import annotations

import os
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader

import signer._objstm  # noqa: F401  (installs the object-stream lookup that uses the parser)
from _corpus import shared_corpus
from _pki_helpers import _service_pki, certseal_original, certseal_original_at_level, certseal_rendered, unsigned_pdf
from renderers.environment import Environment
from signer import _objparse

CORPUS = shared_corpus()
CORPUS_PDFS = sorted(CORPUS.rglob("*.pdf")) if CORPUS is not None else []


class _Reader:
    """A stand-in PDF handler: what IndirectObjects and container_refs point to."""
    strict = False


HANDLER = _Reader()


# --- comparing two parsed objects, everything observable ----------------------------------

def _same_ref(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return (type(a) is type(b) and (a.idnum, a.generation) == (b.idnum, b.generation)
            and a.get_pdf_handler() is b.get_pdf_handler())


def assert_same(fast, slow, path="obj"):
    assert type(fast) is type(slow), (path, type(fast), type(slow))
    assert _same_ref(fast.container_ref, slow.container_ref), (path, fast.container_ref, slow.container_ref)
    # every instance attribute, in order (autodetected_encoding, reference, value, container_ref)
    assert list(vars(fast)) == list(vars(slow)), (path, vars(fast), vars(slow))
    if isinstance(slow, generic.DictionaryObject):
        assert list(fast.keys()) == list(slow.keys()), path
        for (kf, vf), (ks, vs) in zip(dict.items(fast), dict.items(slow)):
            assert_same(kf, ks, f"{path} key {ks}")
            assert_same(vf, vs, f"{path}{ks}")
    elif isinstance(slow, generic.ArrayObject):
        assert len(fast) == len(slow), path
        for i, (f, s) in enumerate(zip(list.__iter__(fast), list.__iter__(slow))):
            assert_same(f, s, f"{path}[{i}]")
    elif isinstance(slow, generic.IndirectObject):
        assert fast.reference == slow.reference, path
        assert fast.get_pdf_handler() is slow.get_pdf_handler(), path
    elif isinstance(slow, generic.BooleanObject):
        assert fast.value is slow.value, path
    elif isinstance(slow, generic.TextStringObject):
        assert str(fast) == str(slow) and fast.autodetected_encoding is slow.autodetected_encoding, path
    elif isinstance(slow, generic.FloatObject):
        assert str(fast) == str(slow) and fast.as_tuple() == slow.as_tuple(), path  # -0.0, 5. vs 5
    elif isinstance(slow, generic.NullObject):
        pass
    else:  # names, integers, byte strings
        assert fast == slow and str(fast) == str(slow), path


def pyhanko_read(data: bytes, pos: int, ref):
    stream = BytesIO(data)
    stream.seek(pos)
    return generic.read_object(stream, ref)


def check(data: bytes, pos: int = 0, *, handled: bool | None = True, idnum: int = 7):
    """Parse both ways; `handled`: whether the fast parser must read it (None: either)."""
    ref = generic.Reference(idnum, 0, HANDLER)
    fast = _objparse.read_object(data, pos, ref)
    if handled is not None:
        assert (fast is not None) is handled, (data, fast)
    if fast is not None:
        assert_same(fast, pyhanko_read(data, pos, ref))
    return fast


# --- every object of every object stream of real files ------------------------------------

def _object_streams(pdf: bytes):
    """(reader, stream data, /First, [(objnum, offset)]) of every object stream the file's
    revisions use, read by pyHanko."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    refs = set()
    for revision in range(reader.xrefs.total_revisions):
        refs |= {r.idnum for r in reader.xrefs.object_streams_used_in(revision)}
    for stmnum in sorted(refs):
        stream = generic.Reference(stmnum, 0, reader).get_object()
        data = stream.read_data(DecodePurpose.OBJECT_STREAM)
        n, first = int(stream["/N"]), int(stream["/First"])
        tokens = data[:first].split()
        yield reader, data, first, [(int(tokens[2 * i]), int(tokens[2 * i + 1])) for i in range(n)]


def compare_all_objects(pdf: bytes) -> tuple[int, int]:
    """Parse every object of every object stream both ways; (objects, read by the fast parser)."""
    total = handled = 0
    for reader, data, first, entries in _object_streams(pdf):
        for objnum, offset in entries:
            ref = generic.Reference(objnum, 0, reader)
            total += 1
            fast = _objparse.read_object(data, first + offset, ref)
            try:
                slow = pyhanko_read(data, first + offset, ref)
            except Exception:
                slow = None
            if fast is None:
                continue
            handled += 1
            assert slow is not None, (objnum, data[first + offset:first + offset + 200])
            assert_same(fast, slow, f"{objnum} 0 obj")
    return total, handled


# certseal's own files (each built once per session by _pki_helpers): a test render, the
# packaged sample as `certseal issue` renders it, its B-B original and a B-LTA original (seal,
# DSS and document timestamp: four revisions).
CERTSEAL_FILES = {
    "unsigned": lambda: unsigned_pdf(Environment.PRODUCTION),
    "rendered": lambda: certseal_rendered().data,
    "B-B": lambda: certseal_original(),
    "B-LTA": lambda: certseal_original_at_level("B-LTA", env=Environment.TRAINING),
}


@pytest.mark.parametrize("name", list(CERTSEAL_FILES))
def test_certseal_files_parse_as_pyhanko_parses_them(name):
    total, handled = compare_all_objects(CERTSEAL_FILES[name]())
    assert total > 10, total
    # the fast path must actually run on certseal's own files, not silently hand everything back
    assert handled >= 0.95 * total, (handled, total)


def compare_at_every_offset(data: bytes, ref, window: int | None = None, span: int = 16384) -> int:
    """Start the parser at every byte of `data` (with `window`: of its first and last `window`
    bytes): wherever it answers, pyHanko must read the same object there. Both read `span`
    bytes from there (long runs of digits would otherwise make this quadratic). The number of
    offsets the parser answered at."""
    handled = 0
    positions = range(len(data))
    if window is not None and len(data) > 2 * window:
        positions = [*range(window), *range(len(data) - window, len(data))]
    for pos in positions:
        chunk = data[pos:pos + span]
        fast = _objparse.read_object(chunk, 0, ref)
        if fast is not None:
            handled += 1
            assert_same(fast, pyhanko_read(chunk, 0, ref), f"at {pos}: {chunk[:60]!r}")
    return handled


def test_object_stream_data_parses_as_pyhanko_parses_it_from_any_offset():
    handled = 0
    for reader, data, first, entries in _object_streams(CERTSEAL_FILES["B-LTA"]()):
        handled += compare_at_every_offset(data, generic.Reference(entries[0][0], 0, reader))
    assert handled > 1000, handled


def test_a_b_lta_file_parses_as_pyhanko_parses_it_from_any_offset():
    """The file itself: its uncompressed objects (signature dictionaries and their hex
    /Contents, DSS, timestamps, xref streams' dictionaries) and its binary stream data."""
    pdf = CERTSEAL_FILES["B-LTA"]()
    assert compare_at_every_offset(pdf, generic.Reference(1, 0, PdfFileReader(BytesIO(pdf), strict=False))) > 500


@pytest.mark.skipif(not CORPUS_PDFS, reason="attack corpus not present")
@pytest.mark.parametrize("path", CORPUS_PDFS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_files_parse_as_pyhanko_parses_them(path):
    pdf = path.read_bytes()
    compare_all_objects(pdf)  # (the published corpus uses no object streams)
    # every byte of the file, objects, xref tables and binary stream data alike
    # (the first and last 40 kB of the two large ones: their middle is image data)
    compare_at_every_offset(pdf, generic.Reference(1, 0, PdfFileReader(BytesIO(pdf), strict=False)), 40_000)


def _record_fast_path(monkeypatch) -> list[bool]:
    """Whether each call of the parser answered (True) or handed the object to pyHanko."""
    answered: list[bool] = []
    real = _objparse.read_object

    def recording(data, pos, ref):
        obj = real(data, pos, ref)
        answered.append(obj is not None)
        return obj

    monkeypatch.setattr(_objparse, "read_object", recording)
    return answered


def test_verification_reads_objects_with_the_fast_parser(monkeypatch):
    from signer.report import Verdict
    from signer.verify import verify_pdf

    calls = _record_fast_path(monkeypatch)
    # a B-LTA original: the diff analysis of its four revisions reads every object
    report = verify_pdf(certseal_original_at_level("B-LTA", env=Environment.TRAINING),
                        _service_pki(Environment.TRAINING).trust)
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons  # genuine, training environment
    assert len(calls) > 50 and sum(calls) >= 0.95 * len(calls), (sum(calls), len(calls))


# --- targeted cases -----------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"<</Type /StructElem/S /P/P 12 0 R/K [0 1 <</Type /MCR/Pg 3 0 R/MCID 4>>]/Pg 3 0 R>>",
    b"<<>>",
    b"[]",
    b"[[]]",
    b"<</A <<>>/B []>>",
    b"[ 1 -2 +3 0 -0 007 3.5 -.5 +.5 .5 5. -0.0 0.000 1.10 ]",
    b"[12345678901234567890123456789 -98765432109876543210]",  # beyond 64 bits
    b"[/A/B/C]",  # names touching each other
    b"[/ /A]",  # the empty name
    b"[/Identity-H /A1.0 /a;b /x~y]",
    b"[true false null]",
    b"[truefalse null1]",  # pyHanko reads fixed-size words: true false null 1
    b"[1/A(s)<41>[2]<<>>true]",  # no whitespace between tokens
    b"[1 0 R 2 0 R]",
    b"[1 0 R/A]",
    b"[1 0 R]",
    b"[1\n0\r\nR\t2\x0c0  R]",  # every whitespace pyHanko reads both ways in a reference
    b"[1 0 R 5]",  # a reference then a number
    b"[1 2 3]",  # numbers, not a reference
    b"[1 0 5 0 R]",  # the numbers 1 and 0, then the reference 5 0 R
    b"[01 00 R]",  # leading zeros in a reference
    b"[\x00 1 \x00]",  # NUL is whitespace between tokens
    b"[(abc) () (a b\nc\r\n) (\xe9t\xe9) (\xfe\xff\x00A\x00B) (\xef\xbb\xbfa) (\xff\xfeA\x00)]",
    b"[(\x80\x81) (\x00\x01\x02) (\x9f) (\x7f)]",  # some not PDFDocEncoding: byte strings
    b"[<> <41> <414> <41 42\n43> <FEFF00410042> <feff0041> <00ff80> <d800>]",
    b"<</Length 5/Filter /FlateDecode>>\n/stuff",  # a dictionary not followed by "stream"
    b"<</A 1>><</B 2>>",  # the next object right after
    b"/Name 1 0 R",  # a top-level name: nothing after it is read
    b"(top)",
    b"<414243>",
    b"true",
    b"falsex",  # pyHanko reads "false" and stops
    b"null",
    b"42",
    b"42 43",
    b"4.25",
    b"-1",
    b"/A",
    b"[1 0 R]" + b" " * 30,
    b"<</K [" + b" ".join(b"%d 0 R" % i for i in range(1, 200)) + b"]>>",
])
def test_plain_objects(data):
    check(data)


def test_nesting_up_to_the_limit_is_read():
    depth = _objparse.MAX_DEPTH
    check(b"[" * depth + b"]" * depth)
    check(b"<</A " * depth + b"1" + b">>" * depth)
    check(b"[" * (depth + 1) + b"]" * (depth + 1), handled=False)
    check(b"<</A " * (depth + 1) + b"1" + b">>" * (depth + 1), handled=False)


def test_reading_from_an_offset():
    data = b"1 0 2 47 <</A 1>> [2 0 R]"
    check(data, data.index(b"<<"))
    check(data, data.index(b"["))


def test_container_ref_and_handler_are_set_as_pyhanko_sets_them():
    ref = generic.Reference(9, 0, HANDLER)
    obj = _objparse.read_object(b"<</A [1 0 R (s) /N 2.5 true null <</B 1>>]>>", 0, ref)
    assert obj.container_ref is ref
    (key,) = dict.keys(obj)
    assert key.container_ref is None  # pyHanko reads keys without read_object
    arr = dict.__getitem__(obj, "/A")
    assert arr.container_ref is ref
    assert all(item.container_ref is ref for item in list.__iter__(arr))
    assert arr.raw_get(0).get_pdf_handler() is HANDLER
    assert arr.raw_get(0).reference == generic.Reference(1, 0)


def test_text_and_byte_strings():
    obj = check(b"[(abc) (\xfe\xff\x00A) (\x00\x01) <C3A9>]")
    text, utf16, raw, hexed = list.__iter__(obj)
    assert type(text) is generic.TextStringObject and text.autodetected_encoding is generic.TextStringEncoding.PDF_DOC
    assert type(utf16) is generic.TextStringObject and utf16 == "A"
    assert utf16.autodetected_encoding is generic.TextStringEncoding.UTF16BE
    assert type(raw) is generic.ByteStringObject and raw == b"\x00\x01"  # not PDFDocEncoding
    assert type(hexed) is generic.TextStringObject  # two PDFDocEncoding characters


def test_key_order_is_kept():
    obj = check(b"<</Z 1/A 2/M 3/B 4>>")
    assert list(obj) == ["/Z", "/A", "/M", "/B"]


def test_reals_and_integers_keep_their_classes():
    obj = check(b"[1 1.0 5. -.5]")
    assert [type(x) for x in list.__iter__(obj)] == [generic.NumberObject] + [generic.FloatObject] * 3


# Left to pyHanko: it reads these differently, warns, fails, or pyHanko's reader treats the
# object specially. Each must come back None (and then read_object decides as before).
@pytest.mark.parametrize("data", [
    b" <</A 1>>",  # leading whitespace: pyHanko's read_object fails on it
    b"\n42",
    b"",
    b"% comment\n<</A 1>>",
    b"<</A 1 % comment\n>>",
    b"[1 %c\n 2]",
    b"<</A#20B 1>>",  # a name escape
    b"/A#20B",
    b"[/A\x80]",  # a non-ASCII byte in a name
    b"/A\xc3\xa9",
    b"[/A\x01]",  # a control byte pyHanko rejects in a name
    b"[/A\x7f]",
    b"[(a\\)b)]",  # escapes in a literal string
    b"[(a\\nb)]",
    b"[(a(b)c)]",  # nested parentheses
    b"[(abc]",  # unterminated
    b"<</A 1/A 2>>",  # a duplicate key: pyHanko warns, or raises in strict mode
    b"<</Length 3>>stream\nabc\nendstream",  # a stream: forbidden in an object stream
    b"<</Length 3>>\nstream\nabc\nendstream",
    b"<</Length 3>> %c\nstream\nabc\nendstream",
    b"[<</Length 3>>stream\nabc\nendstream]",
    b"<</Type /Metadata/Subtype /XML/Length 3>>stream\nabc\nendstream",
    b"1 0 R",  # a top-level reference
    b"1 0 R ",
    b"12 0 R/x",
    b"[1 1 R]",  # generation other than 0
    b"[0 0 R]",  # object 0: pyHanko raises
    b"[1 0 Rx]",  # pyHanko's INDIRECT_PATTERN: no letter after R
    b"[1 0 R",  # nothing after R: pyHanko reads two numbers, then fails on R
    b"[1          0          R]",  # longer than pyHanko's 20-byte look-ahead
    b"[1\x0b0 R]",  # vertical tab: whitespace to pyHanko's reference reading, not to the PDF
    b"[1 0\x0bR]",
    b"[1 0 \x0bR]",
    b"[1\x000 R]",  # NUL: whitespace to the PDF, not to pyHanko's reference pattern
    b"1\x0b0 R ",  # a top-level reference pyHanko's pattern finds
    b"[1e5]",  # exponents are not PDF
    b"[1.2.3]",
    b"[1-2]",
    b"[1,2]",
    b"[,5]",
    b"[+]",
    b"[-]",
    b"[.]",
    b"[" + b"9" * 5000 + b"]",  # beyond Python's int() digit limit: pyHanko's error
    b"[1 2",  # unterminated
    b"<</A 1",
    b"<</A>>",  # a key without a value
    b"<<1 2>>",  # a key that is not a name
    b"<</A 1>",  # pyHanko takes any byte after ">" (or none) as the dictionary's end
    b"<</A 1>]",
    b"[1>>",
    b"<</A ]>>",
    b"]",
    b">>",
    b"[<4G>]",  # a bad hex digit
    b"[<41 % c\n>]",
    b"[< <41>>]",
    b"[tru]",
    b"[nul]",
    b"[fals]",
    b"[x]",
    b"[R]",
    b"[{}]",
    b"[true1x]",
])
def test_everything_else_is_left_to_pyhanko(data):
    check(data, handled=False)


def test_the_object_stream_lookup_reads_what_pyhanko_reads_fast_or_not(monkeypatch, caplog):
    """signer._objstm reads plain objects with the parser and hands the others to
    generic.read_object, with the same result either way."""
    objects = [
        b"<</Type /StructElem/S /P/K [1 2]/P 5 0 R>>",  # plain
        b"<</Type /StructElem/S /Foo#20Bar>>",  # a name escape
        b"<</A 1/A 2>>",  # a duplicate key: pyHanko keeps the first and warns
        b"[(a\\)b) 3.5]",  # an escape in a string
        b"% comment\n42",  # a comment before the object: pyHanko's read_object skips it
    ]
    offsets, body = [], b""
    for obj in objects:
        offsets.append(len(body))
        body += obj + b"\n"
    header = b" ".join(b"%d %d" % (10 + i, off) for i, off in enumerate(offsets)) + b"\n"
    data = header + body
    entry = (data, len(header), len(objects), {10 + i: (i, off) for i, off in enumerate(offsets)})
    monkeypatch.setattr(signer._objstm, "_index", lambda reader, stmnum: entry)

    handled = _record_fast_path(monkeypatch)
    for i in range(len(objects)):
        got = signer._objstm._fast_get_object_from_stream(HANDLER, 10 + i, 99, i)
        expected = pyhanko_read(data, len(header) + offsets[i], generic.Reference(10 + i, 0, HANDLER))
        assert_same(got, expected)
    assert handled == [True, False, False, False, False]
    assert "Multiple definitions" in caplog.text


# Byte strings made of PDF tokens, fragments of them and the bytes the parser must leave to
# pyHanko, in any order: wherever the parser answers, pyHanko reads the same object.
_PIECES = [
    b"<<", b">>", b"<", b">", b"[", b"]", b"(", b")", b"{", b"}", b"/", b"/A", b"/Type", b"/a.b-c",
    b"#", b"#20", b"%", b"\\", b"\\(", b"0", b"1", b"7", b"12", b"007", b"-", b"+", b".", b",",
    b"e", b"R", b" R", b" 0 R", b"1 0 R", b"true", b"false", b"null", b"tru", b"stream",
    b"endstream", b"41", b"fe", b"FEFF", b"\xfe\xff", b"\xef\xbb\xbf", b"\x00", b"\x0b", b"\x7f",
    b"\x80", b"\xe9", b"\xff", b" ", b"\n", b"\r", b"\t", b"\x0c", b"  ",
]


def _agrees_with_pyhanko_where_it_answers(data: bytes) -> None:
    ref = generic.Reference(3, 0, HANDLER)
    fast = _objparse.read_object(data, 0, ref)
    if fast is not None:
        try:
            slow = pyhanko_read(data, 0, ref)
        except Exception as e:  # pragma: no cover - a failure of the property
            pytest.fail(f"the parser read {data!r} as {fast!r}, pyHanko raised {e!r}")
        assert_same(fast, slow)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2500")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.booleans())
def test_whatever_the_parser_answers_pyhanko_reads_the_same(pieces, wrap):
    data = b"".join(pieces)
    if wrap:
        data = b"<</K [" + data + b"]>>"
    _agrees_with_pyhanko_where_it_answers(data)


# Objects built from the grammar, with whitespace of every kind (and sometimes none, or a
# comment) between tokens, then sometimes one piece dropped in anywhere.
_SEP = st.sampled_from([b" ", b" ", b"\n", b"", b"\r\n", b"\x00", b"\t ", b"\x0c", b"\x0b", b"%c\n"])
_NAMES = st.sampled_from([b"/Type", b"/K", b"/P", b"/S", b"/A1.0", b"/", b"/a#20b", b"/\xe9", b"/x~y", b"/Pg"])
_NUMBERS = st.one_of(
    st.integers(-10**25, 10**25).map(lambda n: b"%d" % n),
    st.sampled_from([b"+5", b"-0", b"007", b"5.", b"-.5", b".5", b"+.5", b"-0.0", b"1e5", b"1.2.3", b"1,5", b"--1"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(lambda d: str(d).encode()),
)


@st.composite
def _refs(draw):
    return b"%d%s%d%sR" % (draw(st.integers(0, 10**6)), draw(_SEP), draw(st.sampled_from([0, 0, 0, 1])), draw(_SEP))


_STRINGS = st.one_of(
    st.binary(max_size=12).map(lambda b: b"(" + b + b")"),
    st.binary(max_size=12).map(lambda b: b"<" + b.hex().encode() + b">"),
    st.sampled_from([b"(\xfe\xff\x00A)", b"<FEFF0041>", b"<41 4>", b"(a(b)c)", b"(a\\)b)", b"()", b"<>"]),
)
_LEAVES = st.one_of(_NAMES, _NUMBERS, _refs(), _STRINGS, st.sampled_from([b"true", b"false", b"null"]))


def _array(items):
    return st.tuples(st.lists(st.tuples(items, _SEP)), _SEP).map(
        lambda t: b"[" + t[1] + b"".join(v + sep for v, sep in t[0]) + b"]")


def _dictionary(items):
    return st.tuples(st.lists(st.tuples(_NAMES, _SEP, items, _SEP)), _SEP).map(
        lambda t: b"<<" + t[1] + b"".join(k + s1 + v + s2 for k, s1, v, s2 in t[0]) + b">>")


_OBJECTS = st.recursive(_LEAVES, lambda items: st.one_of(_array(items), _dictionary(items)), max_leaves=12)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2500")) // 5, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_OBJECTS, st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.sampled_from(_PIECES))),
       st.sampled_from([b"", b"\n", b" stream\nx\nendstream", b"1 0 R ", b"<</A 1>>"]))
def test_generated_objects_read_as_pyhanko_reads_them(obj, insert, after):
    if insert is not None:
        at = insert[0] % (len(obj) + 1)
        obj = obj[:at] + insert[1] + obj[at:]
    data = obj + after
    _agrees_with_pyhanko_where_it_answers(data)
