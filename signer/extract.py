"""The revision a seal actually covers, as a file a person can open.

An incremental update can make a viewer show something the officer never sealed; the bytes up
to the end of the seal's ByteRange are exactly what was sealed.
"""
from __future__ import annotations

from io import BytesIO

from pyhanko.pdf_utils.reader import PdfFileReader


class NoSealError(ValueError):
    pass


def signed_revision(data: bytes) -> bytes:
    """The file as it was when its first seal was applied (raises NoSealError if there is none)."""
    reader = PdfFileReader(BytesIO(data), strict=False)
    seals = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    if not seals:
        raise NoSealError("the document carries no seal")
    first = min(seals, key=lambda s: s.signed_revision)
    start, _, offset, length = (int(x) for x in first.byte_range)
    end = offset + length
    if start != 0 or not 0 < end <= len(data):
        raise NoSealError("the seal's byte range does not describe a revision of this file")
    return data[:end]
