"""A regex parser for the objects of an object stream, for pyHanko's reader.

pyHanko's `generic.read_object` reads one byte at a time in Python (a name, a number, a
reference, the whitespace between them: each a few `stream.read(1)` / `seek` calls). Profiled
on a 4-page B-LTA original (about 258 objects, 203 of them structure elements, almost all in
one object stream), verification spent about 21 % of its CPU there, reading the objects that
signer._objstm fetches out of object streams (each once per verification). This reads the
same objects with one compiled pattern, matched once per token over the decoded stream.
Measured on that original (239 objects in its object streams, 238 read here): parsing them
all takes 6-11 ms instead of 19-37 ms (3.1-3.4 times faster; the range is the machine's CPU
steal). verify_pdf's median CPU, with and without alternating in one process, 40-60 runs each,
in three runs: 165.0 → 139.1, 167.6 → 137.7 and 142.7 → 126.7 ms (-11 to -18 %).

The result is the one `read_object(stream, Reference(idnum, 0, reader))` returns: the same
classes, values and dictionary key order, `container_ref` set on every object read_object
sets it on (every value, at every level, not dictionary keys), the reader as the handler of
every IndirectObject, strings turned into text or byte strings by pyHanko's own `pdf_string`.

Only the plain grammar WeasyPrint and pyHanko write is read here: names without `#` escapes,
integers and reals, `N 0 R` references, booleans, null, hex strings, literal strings without
escapes or nested parentheses, dictionaries and arrays up to a modest depth. On anything else
(a comment, an escape, a byte pyHanko would reject or read differently, a duplicate key, a
dictionary followed by `stream`, a top-level reference, a token out of place) `read_object`
returns None and the caller lets pyHanko read the object, which decides or fails exactly as
before. Review when upgrading pyHanko (pinned in pyproject): this mirrors `generic.read_object`
and the `read_from_stream` functions it calls; tests/test_verify_objparse.py compares the two
on every object of certseal's files and on generated ones.
"""
from __future__ import annotations

import binascii
import re

from pyhanko.pdf_utils import generic, misc

_WS = re.escape(misc.PDF_WHITESPACE)  # what read_non_whitespace skips between tokens
_WS_AND_DELIMITERS = re.escape(misc.PDF_WHITESPACE + misc.PDF_DELIMITERS)
# The bytes `_decode_name` takes as they are: printable ASCII, not a delimiter, not "#".
_NAME_CHARS = re.escape(bytes(
    c for c in range(0x21, 0x7F) if misc.is_regular_character(c) and c != 0x23))
# Between the numbers of a reference: bytes that both pyHanko's INDIRECT_PATTERN (`\s`) and
# `IndirectObject.read_from_stream` (`isspace()`, then `read_non_whitespace`) take as
# whitespace. "\x0b" (only `\s`) and "\x00" (only PDF whitespace) are left to pyHanko.
_REF_WS = rb"[ \t\n\r\x0c]++"

_TOKEN = re.compile(  # possessive quantifiers (*+, ++): no backtracking on long runs
    b"[" + _WS + b"]*+(?:"
    # 1: a name; pyHanko's name runs to the next whitespace or delimiter, so a name followed
    # by anything else ("#", a control byte, a non-ASCII byte) is not matched here.
    b"(/[" + _NAME_CHARS + b"]*+)(?=[" + _WS_AND_DELIMITERS + b"]|\\Z)"
    # 2, 3: a reference (checked against pyHanko's INDIRECT_PATTERN below)
    b"|([0-9]++)" + _REF_WS + b"([0-9]++)" + _REF_WS + b"R"
    # 4: a number: the run of bytes NumberObject.read_from_stream reads, `[+,-.0-9]`
    b"|([-+.0-9][-+,.0-9]*+)"
    b"|(<<)"  # 5
    b"|(>>)"  # 6
    b"|(\\[)"  # 7
    b"|(\\])"  # 8
    b"|\\(([^()\\\\]*+)\\)"  # 9: a literal string without escapes or nested parentheses
    b"|<([0-9A-Fa-f" + _WS + b"]*+)>"  # 10: a hex string
    b"|(true)"  # 11 (pyHanko reads the 4 or 5 bytes and nothing after them)
    b"|(false)"  # 12
    b"|(null)"  # 13
    b")"
)
_NAME, _REF, _NUMBER, _DICT, _DICT_END, _ARRAY, _ARRAY_END = 1, 3, 4, 5, 6, 7, 8
_STRING, _HEX, _TRUE, _FALSE, _NULL = 9, 10, 11, 12, 13
_WHITESPACE = frozenset(misc.PDF_WHITESPACE)
_DIGITS = frozenset(b"0123456789")
# After a top-level dictionary pyHanko looks for "stream" (skipping whitespace and comments).
_STREAM_OR_COMMENT_NEXT = re.compile(b"[" + _WS + b"]*[s%]")
# Nested deeper than this, pyHanko's recursion decides (and eventually fails) on its own.
MAX_DEPTH = 32

_NameObject = generic.NameObject
_NumberObject = generic.NumberObject
_FloatObject = generic.FloatObject
_DictionaryObject = generic.DictionaryObject
_ArrayObject = generic.ArrayObject
_IndirectObject = generic.IndirectObject
_BooleanObject = generic.BooleanObject
_NullObject = generic.NullObject
_dict_setitem = dict.__setitem__
_new_int = int.__new__
_list_append = list.append


def read_object(data: bytes, pos: int, container_ref: generic.Reference):
    """The object at `data[pos:]` as `generic.read_object(stream at pos, container_ref)` reads
    it, or None when it is not plain enough to be read here (never raises on bad input)."""
    if pos >= len(data) or data[pos] in _WHITESPACE:
        return None  # read_object does not skip leading whitespace: it fails on it
    next_token = _TOKEN.scanner(data, pos).match  # each match starts where the last one ended
    indirect = generic.INDIRECT_PATTERN.match
    pdf_string = generic.pdf_string
    handler = container_ref.get_pdf_handler()
    stack: list = []  # the enclosing (container, in_dict, key) of the open containers
    container = None  # the innermost open array or dictionary (None: at the top level)
    in_dict = False  # whether that is a dictionary
    key = None  # in a dictionary: the key whose value comes next (None: a key or ">>" comes next)
    while True:
        m = next_token()
        if m is None:
            return None
        kind = m.lastindex
        if in_dict and key is None:
            if kind == _NAME:
                key = _NameObject(m.group(1).decode("ascii"))  # no container_ref: as pyHanko
                if key in container:
                    return None  # a duplicate: pyHanko warns, or raises when strict
                continue
            if kind != _DICT_END:
                return None
            value = container
            container, in_dict, key = stack.pop()
            if container is None and _STREAM_OR_COMMENT_NEXT.match(data, m.end()):
                return None  # a stream (not allowed here), or a comment before one
        elif kind == _NAME:
            value = _NameObject(m.group(1).decode("ascii"))
        elif kind == _REF:
            start = m.start(2)
            if container is None or indirect(data, start, start + 20) is None:
                return None  # a reference at the top level, or numbers for pyHanko
            idnum = int(m.group(2))
            if idnum <= 0 or int(m.group(3)) != 0:
                return None
            value = _IndirectObject(idnum, 0, handler)
        elif kind == _NUMBER:
            token = m.group(4)
            if container is None and token[0] in _DIGITS and indirect(data, m.start(4), m.start(4) + 20):
                return None  # pyHanko reads a reference here
            try:
                if b"." in token:
                    value = _FloatObject(token.decode("ascii"))
                else:
                    # NumberObject(token) without its Python-level __new__ (int(token), then
                    # int.__new__): the same object, in a third of the time
                    value = _new_int(_NumberObject, int(token))
            except (ValueError, ArithmeticError):  # decimal.InvalidOperation is an ArithmeticError
                return None
        elif kind == _DICT or kind == _ARRAY:
            if len(stack) >= MAX_DEPTH:
                return None
            stack.append((container, in_dict, key))
            if kind == _DICT:
                container, in_dict, key = _DictionaryObject(), True, None
            else:
                container, in_dict, key = _ArrayObject(), False, None
            continue
        elif kind == _ARRAY_END:
            if container is None or in_dict:
                return None
            value = container
            container, in_dict, key = stack.pop()
        elif kind == _STRING:
            value = pdf_string(m.group(9))
        elif kind == _HEX:
            digits = m.group(10).translate(None, misc.PDF_WHITESPACE)
            if len(digits) % 2:
                digits += b"0"
            value = pdf_string(binascii.unhexlify(digits))
        elif kind == _TRUE:
            value = _BooleanObject(True)
        elif kind == _FALSE:
            value = _BooleanObject(False)
        elif kind == _NULL:
            value = _NullObject()
        else:  # ">>" where a value should come
            return None

        value.container_ref = container_ref
        if container is None:
            return value
        if in_dict:
            _dict_setitem(container, key, value)
            key = None
        else:
            _list_append(container, value)
