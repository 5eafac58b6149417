"""certseal's faster tokenizing for pyHanko's reader (signer._tokenizer) reads what pyHanko's
own functions read, leaves the stream where they leave it, and fails where they fail."""
from __future__ import annotations

from io import BytesIO

import pytest

import signer._tokenizer as tokenizer


def _outcome(read, data: bytes) -> tuple:
    stream = BytesIO(data)
    try:
        value = read(stream)
    except Exception as e:  # the kind of failure is part of the behaviour
        return ("raised", type(e).__name__, stream.tell())
    return (type(value).__name__, bytes(value) if isinstance(value, (bytes, bytearray)) else str(value), stream.tell())


@pytest.mark.parametrize("data", [
    b"<48656c6c6f> rest",
    b"<48 65\n6c\t6c\r6f\x00\x0c> rest",  # every PDF whitespace between digits
    b"<4865F>",  # odd count: a final 0 is implied
    b"<>",
    b"<FEFF00410042>",  # UTF-16 with BOM: a text string
    b"<48 % a comment\n65>",  # pyHanko reads % as a comment here
    b"<48 6x>",  # a bad character
    b"<48 65",  # no end
    b"<4865",
    b"<" + b"0" * 40000 + b"ab>tail",  # longer than one chunk, like a signature's /Contents
    b"<" + b"0" * 511 + b">",  # ">" just after the first chunk
    b"<" + b"0" * 510 + b">",  # ">" as the first chunk's last byte
    b"",
])
def test_hex_strings_read_as_pyhanko_reads_them(data):
    assert _outcome(tokenizer.read_hex_string_from_stream, data) == _outcome(
        tokenizer._read_hex_string_one_digit_at_a_time, data)


def test_hex_string_read_from_the_middle_of_a_stream():
    data = b"1 0 obj <414243> endobj"
    fast, slow = BytesIO(data), BytesIO(data)
    fast.seek(8)
    slow.seek(8)
    assert tokenizer.read_hex_string_from_stream(fast) == tokenizer._read_hex_string_one_digit_at_a_time(slow)
    assert fast.tell() == slow.tell() == 16


def test_a_huge_hex_string_is_read_in_linear_time():
    # 32 MiB of digits: read in growing chunks, never rescanned from its start.
    data = b"<" + b"0f" * (16 << 20) + b">"
    value = tokenizer.read_hex_string_from_stream(BytesIO(data))
    assert len(value) == 16 << 20
