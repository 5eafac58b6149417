"""The space a seal reserves for its signature, estimated once per signer and level.

Before it signs, pyHanko sizes the /Contents placeholder by building the whole CMS signature
in a dry run (a dummy digest, the timestamper's dummy token) and adding half again as
margin: about a quarter of a B-B seal's CPU time. For one signer, digest
algorithm, level and timestamp authority the dry run has about the same size every time: the
certificates are the signer's, the timestamper keeps its dummy token (`signer.pades` keeps
one timestamper per TSA), and only an ECDSA signature value varies, by a byte or two. So the
size pyHanko reserved for the first seal (read back from its /ByteRange) is handed to the
next ones as `bytes_reserved`: a size pyHanko's own estimate lands within a few digits of
(measured on the training key: 5,474-5,480 hex digits over 12 estimates, for a B-B
signature of 3,648). B-B seal of the CHED-PP sample: 44.8 -> 33.9 ms CPU (interleaved
medians of 15).

Should a signature not fit after all (a TSA that starts answering with a longer token),
pyHanko refuses to write it; `signer.pades` then forgets the size and seals once more with
pyHanko's own estimate.
"""
from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Hashable

# A seal's /ByteRange: [0 start-of-contents end-of-contents rest-length].
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+\d+\s*\]")
# pyHanko's SigningError text when the signature is larger than the space reserved.
TOO_SMALL_MESSAGE = "ByteRange payload larger than expected"

_lock = threading.Lock()
# signer → (digest algorithm, level, TSA URL) → hex digits reserved for the CMS object
_known: weakref.WeakKeyDictionary[object, dict[Hashable, int]] = weakref.WeakKeyDictionary()


def known(signer: object, settings: Hashable) -> int | None:
    with _lock:
        try:
            return _known.get(signer, {}).get(settings)
        except TypeError:  # a signer that cannot be weakly referenced: pyHanko estimates
            return None


def remember(signer: object, settings: Hashable, signed: bytes, unsigned_length: int) -> None:
    """Keep what pyHanko reserved in `signed`: the first /ByteRange after the unsigned bytes
    is the seal's (incremental updates only append)."""
    reserved = reserved_in(signed, unsigned_length)
    if reserved is None:
        return
    with _lock:
        try:
            _known.setdefault(signer, {})[settings] = reserved
        except TypeError:
            pass


def forget(signer: object, settings: Hashable) -> None:
    with _lock:
        try:
            _known.get(signer, {}).pop(settings, None)
        except TypeError:
            pass


def reserved_in(signed: bytes, start: int) -> int | None:
    """Hex digits between the /Contents delimiters of the first signature at or after `start`."""
    match = _BYTE_RANGE.search(signed, start)
    if match is None:
        return None
    contents_start, contents_end = int(match.group(1)), int(match.group(2))
    return contents_end - contents_start - 2  # without the < and >
