"""Each object of a written PDF is serialized once, streams compressed once, not twice.

A PDF/A file needs a file identifier, and pydyf derives it from an MD5 of every object's
serialized form: after writing the file it serializes all objects once more. For a stream
that means joining its operators again and compressing them again at zlib level 9: the
4-page CHED-PP's 22 streams (600 kB before compression: page contents, font files) were
deflated twice, about 19 ms of the second pass alone on this machine class; its 236 other
objects (structure elements, font widths) took about 4 ms more.

Within `objects_serialized_once()`, once `serialize_once_from_now()` is called (by the
render's finisher, the last thing WeasyPrint runs before pydyf writes the file), the bytes
of a stream, dictionary or array are kept the first time they are asked for and returned
the next time. Nothing changes an object after the finisher, so both passes see the same
bytes, as without this. Outside the block, and before that call, pydyf serializes as it
always does.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pydyf


@dataclass
class _Write:
    final: bool = False  # set by serialize_once_from_now()
    # id(object) → (object, bytes); the object is held so its id cannot be reused meanwhile.
    kept: dict[int, tuple[object, bytes]] = field(default_factory=dict)


_WRITE: ContextVar[_Write | None] = ContextVar("certseal_serialized_once", default=None)


@contextmanager
def objects_serialized_once() -> Iterator[None]:
    token = _WRITE.set(_Write())
    try:
        yield
    finally:
        _WRITE.reset(token)


def serialize_once_from_now() -> None:
    """From here to the end of the block, objects are final: keep their bytes."""
    write = _WRITE.get()
    if write is not None:
        write.final = True


def _kept(serialize: Callable[[pydyf.Object], bytes]) -> property:
    def data(obj: pydyf.Object) -> bytes:
        write = _WRITE.get()
        if write is None or not write.final or obj.number is None:  # not an indirect object
            return serialize(obj)
        entry = write.kept.get(id(obj))
        if entry is None:
            entry = write.kept[id(obj)] = (obj, serialize(obj))
        return entry[1]

    return property(data)


for _class in (pydyf.Stream, pydyf.Dictionary, pydyf.Array):
    _class.data = _kept(_class.data.fget)
