"""Each PDF stream is serialized and compressed once per written file, not twice.

A PDF/A file needs a file identifier, and pydyf derives it from an MD5 of every object's
serialized form: after writing the file it serializes all objects once more. For a stream
that means joining its operators again and compressing them again at zlib level 9: the
4-page CHED-PP's 22 streams (600 kB before compression: page contents, font files) were
deflated twice, about 19 ms of the second pass alone on this machine class.

Within `streams_serialized_once()`, once `serialize_once_from_now()` is called (by the
render's finisher, the last thing WeasyPrint runs before pydyf writes the file), a stream's
bytes are kept the first time they are asked for and returned the second time. Nothing
changes a stream after the finisher, so both passes see the same bytes, as without this.
Outside the block, and before that call, pydyf serializes as it always does.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pydyf


@dataclass
class _Write:
    final: bool = False  # set by serialize_once_from_now()
    # id(stream) → (stream, bytes); the stream is held so its id cannot be reused meanwhile.
    kept: dict[int, tuple[pydyf.Stream, bytes]] = field(default_factory=dict)


_WRITE: ContextVar[_Write | None] = ContextVar("certseal_stream_data", default=None)
_serialize = pydyf.Stream.data.fget


@contextmanager
def streams_serialized_once() -> Iterator[None]:
    token = _WRITE.set(_Write())
    try:
        yield
    finally:
        _WRITE.reset(token)


def serialize_once_from_now() -> None:
    """From here to the end of the block, streams are final: keep their bytes."""
    write = _WRITE.get()
    if write is not None:
        write.final = True


def _data(stream: pydyf.Stream) -> bytes:
    write = _WRITE.get()
    if write is None or not write.final:
        return _serialize(stream)
    entry = write.kept.get(id(stream))
    if entry is None:
        entry = write.kept[id(stream)] = (stream, _serialize(stream))
    return entry[1]


pydyf.Stream.data = property(_data)
