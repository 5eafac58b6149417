"""A certificate's streams are deflated at zlib's default level, 6, not at pydyf's 9.

pydyf compresses every stream of the PDF (page contents, font subsets, the embedded
certificate data) at level 9. For a 4-page CHED-PP, 305 kB in 22 streams: 9.2 ms at level 9,
4.2 ms at level 6, for 580 more bytes (61,466 -> 62,046 compressed, +0.9 %); about 2 % of a
render. Level 9 searches much harder for the last fraction of a percent; zlib's default is
the usual trade between time and size, and the file is read the same way either way.

Only inside `streams_deflated_at_default_level()` (certseal's renders): pydyf's `zlib` is
replaced by a stand-in that forwards everything to zlib and, in that context only, turns
pydyf's level 9 into the default.

There too, a large stream met again is not deflated again: the same bytes give the same
deflated bytes, so a stream of `KEPT_MIN_BYTES` or more that has been met before (its length and
hash are remembered, `SEEN` of them) is kept once deflated, by content, up to `KEPT_MAX_BYTES`
of them, the least recently used forgotten first. What comes back is what zlib gives. Streams
met once (a certificate's page contents, its data) are never kept, so the memory stays flat. It is the font subsets that repeat: a CJK destination's (renderers.font_subset keeps
them), the symbol font's, the watermark's form; with a zh destination their deflating was about
3 % of a render.
"""
from __future__ import annotations

import zlib
from collections import OrderedDict

import pydyf

from renderers import scoped_patch

LEVEL = 6  # zlib.Z_DEFAULT_COMPRESSION
PYDYF_LEVEL = 9  # what pydyf asks for (pydyf.Stream.data)
_SCOPE = scoped_patch.Scope("certseal_deflate_level")
streams_deflated_at_default_level = _SCOPE.on

KEPT_MIN_BYTES = 16 << 10
KEPT_MAX_BYTES = 16 << 20
SEEN = 4096
_kept: OrderedDict[bytes, bytes] = OrderedDict()  # a stream's bytes -> deflated at LEVEL
_kept_bytes = 0
_seen: OrderedDict[tuple[int, int], None] = OrderedDict()  # (length, hash) of large streams met


class _Zlib:
    """pydyf's view of zlib."""

    def compressobj(self, level: int = -1, *args, **kwargs):
        if level == PYDYF_LEVEL and _SCOPE.active():
            if not args and not kwargs:
                return _Deflate()
            level = LEVEL
        return zlib.compressobj(level, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(zlib, name)


class _Deflate:
    """zlib.compressobj(LEVEL) for pydyf's one `compress(stream)` and one `flush()`: when that
    first `compress` gets a large stream, the whole output comes from it (kept or made now) and
    `flush` adds nothing."""

    __slots__ = ("_zlib", "_used", "_complete")

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(LEVEL)
        self._used = self._complete = False

    def compress(self, data: bytes) -> bytes:
        if self._complete:
            raise RuntimeError("this deflate stream is complete: pydyf compresses a stream in one call")
        first, self._used = not self._used, True
        if not first or not isinstance(data, bytes) or len(data) < KEPT_MIN_BYTES:
            return self._zlib.compress(data)
        self._complete = True
        deflated = _kept.get(data)
        if deflated is not None:
            _kept.move_to_end(data)
            return deflated
        deflated = self._zlib.compress(data) + self._zlib.flush()
        met = (len(data), hash(data))
        if met in _seen:
            _keep(data, deflated)
        else:
            _seen[met] = None
            if len(_seen) > SEEN:
                _seen.popitem(last=False)
        return deflated

    def flush(self, *args) -> bytes:
        return b"" if self._complete else self._zlib.flush(*args)


def _keep(data: bytes, deflated: bytes) -> None:
    global _kept_bytes
    _kept[data] = deflated
    _kept_bytes += len(data) + len(deflated)
    while _kept_bytes > KEPT_MAX_BYTES and _kept:
        old, old_deflated = _kept.popitem(last=False)
        _kept_bytes -= len(old) + len(old_deflated)


ACTIVE = getattr(pydyf, "zlib", None) is zlib
if ACTIVE:
    pydyf.zlib = _Zlib()
