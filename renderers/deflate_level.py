"""A certificate's streams are deflated at zlib's default level, 6, not at pydyf's 9.

pydyf compresses every stream of the PDF (page contents, font subsets, the embedded
certificate data) at level 9. For a 4-page CHED-PP, 305 kB in 22 streams: 9.2 ms at level 9,
4.2 ms at level 6, for 580 more bytes (61,466 -> 62,046 compressed, +0.9 %); about 2 % of a
render. Level 9 searches much harder for the last fraction of a percent; zlib's default is
the usual trade between time and size, and the file is read the same way either way.

Only inside `streams_deflated_at_default_level()` (certseal's renders): pydyf's `zlib` is
replaced by a stand-in that forwards everything to zlib and, in that context only, turns
pydyf's level 9 into the default.
"""
from __future__ import annotations

import zlib

import pydyf

from renderers import scoped_patch

LEVEL = 6  # zlib.Z_DEFAULT_COMPRESSION
PYDYF_LEVEL = 9  # what pydyf asks for (pydyf.Stream.data)
_SCOPE = scoped_patch.Scope("certseal_deflate_level")
streams_deflated_at_default_level = _SCOPE.on


class _Zlib:
    """pydyf's view of zlib."""

    def compressobj(self, level: int = -1, *args, **kwargs):
        if level == PYDYF_LEVEL and _SCOPE.active():
            level = LEVEL
        return zlib.compressobj(level, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(zlib, name)


ACTIVE = getattr(pydyf, "zlib", None) is zlib
if ACTIVE:
    pydyf.zlib = _Zlib()
