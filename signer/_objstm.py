"""A linear-time object-stream lookup for pyHanko's reader.

pyHanko's `PdfFileReader._get_object_from_stream` re-parses an object stream's header from
the start for every object it fetches: O(n) per object, O(n²) for a stream of n objects.
WeasyPrint packs a certificate's ~2000 objects into few object streams, and the diff analysis
of a B-LT / B-LTA original (which must read every object of every revision) then took over a
minute for one 3-page certificate. This keeps, per reader, the decoded stream and an index
objnum → (position, offset), and reads the object directly: with signer._objparse when the
object is plain, else with pyHanko's `generic.read_object`.

Only the success path is replaced: on anything unusual (not an object stream, index or
position mismatch, a parse error, a forbidden object type) the original method runs and
decides exactly as before, strict-mode errors included.
"""
from __future__ import annotations

from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from pyhanko.pdf_utils.decode_limits import DecodePurpose

from signer import _objparse

_ORIGINAL = PdfFileReader._get_object_from_stream
_CACHE_ATTR = "_certseal_objstm_index"


def _index(reader: PdfFileReader, stmnum: int):
    cache = reader.__dict__.setdefault(_CACHE_ATTR, {})
    if stmnum in cache:
        return cache[stmnum]
    entry = None
    try:
        stream = generic.Reference(stmnum, 0, reader).get_object()
        if isinstance(stream, generic.StreamObject) and stream.get("/Type") == "/ObjStm":
            n, first = int(stream["/N"]), int(stream["/First"])
            data = stream.read_data(DecodePurpose.OBJECT_STREAM)
            tokens = data[:first].split()
            if len(tokens) >= 2 * n:
                index: dict[int, tuple[int, int]] = {}
                for i in range(n):
                    index.setdefault(int(tokens[2 * i]), (i, int(tokens[2 * i + 1])))
                entry = (data, first, n, index)
    except Exception:
        entry = None
    cache[stmnum] = entry
    return entry


def _fast_get_object_from_stream(self, idnum, stmnum, idx):
    entry = _index(self, stmnum)
    if entry is None:
        return _ORIGINAL(self, idnum, stmnum, idx)
    data, first, n, index = entry
    found = index.get(idnum)
    if not (0 <= idx < n) or found is None or found[0] != idx:
        return _ORIGINAL(self, idnum, stmnum, idx)
    try:
        container_ref = generic.Reference(idnum, 0, self)
        obj = _objparse.read_object(data, first + found[1], container_ref)
        if obj is None:  # not plain enough for the fast parser: pyHanko's reader decides
            stream_data = BytesIO(data)
            stream_data.seek(first + found[1])
            obj = generic.read_object(stream_data, container_ref)
    except Exception:
        return _ORIGINAL(self, idnum, stmnum, idx)
    if isinstance(obj, (generic.StreamObject, generic.IndirectObject)):
        return _ORIGINAL(self, idnum, stmnum, idx)
    return obj


def install() -> None:
    PdfFileReader._get_object_from_stream = _fast_get_object_from_stream


install()
