"""The sRGB ICC profile certseal embeds as its PDF/A output intent, built here from the
numbers of IEC 61966-2-1 instead of read from WeasyPrint's sRGB2014.icc.

Why: sRGB2014.icc describes each tone curve as a table of 1,024 samples. A reader that
manages colour (poppler, hence pdftotext and pdftoppm) builds transforms *to* the output
intent once per page, and inverting sampled curves is what makes those transforms costly: 88 %
of pdftotext's instructions on a certificate (callgrind), 80 → 20–30 ms of CPU for a 4-page
CHED-PP. The verifier reads the page text with pdftotext on every verification, and the
worker on every certificate it issues. Here the curves are the parametric sRGB curve
(ICC `para` function type 3: gamma 2.4, a = 1/1.055, b = 0.055/1.055, c = 1/12.92,
d = 0.04045), which readers invert in closed form. Pages render the same: poppler's pixels at
50 dpi were identical with either profile on every page of a CHED-PP.

The profile is ICC version 4.2 (ICC.1:2004-10, the version ISO 32000-1 refers to, hence
PDF/A-2 and PDF/A-3), a display ('mntr') RGB profile with an XYZ connection space, as PDF/A
asks of an output intent. The primaries and white point are the D50-adapted values of lcms2's
own sRGB profile (cmsCreate_sRGBProfile), copied as their s15Fixed16 encodings. Building the
bytes here keeps them deterministic (a fixed creation date) and reviewable.
"""
from __future__ import annotations

import hashlib
import struct
from functools import lru_cache
from io import BytesIO

DESCRIPTION = "sRGB IEC61966-2.1"
COPYRIGHT = "No copyright, use freely"
CREATED = (2026, 11, 22, 0, 0, 0)
VERSION_4_2 = 0x04200000

# s15Fixed16 numbers (value × 65536), as lcms2 writes them for its sRGB profile.
D50 = (63190, 65536, 54061)
BRADFORD_D65_TO_D50 = (68674, 1502, -3291, 1939, 64912, -1119, -606, 988, 49262)
RED, GREEN, BLUE = (28576, 14581, 912), (25239, 46983, 6361), (9375, 3972, 46787)
SRGB_CURVE = (157286, 62119, 3417, 5072, 2651)  # g, a, b, c, d of `para` function type 3
# Chromaticities (x, y) of the primaries, u16Fixed16: the 'chrm' tag, phosphor set 3 (ITU-R BT.709).
CHROMATICITIES = (41943, 21627, 19661, 39322, 9830, 3932)


def _s15(values) -> bytes:
    return b"".join(struct.pack(">i", v) for v in values)


def _xyz(values) -> bytes:
    return b"XYZ " + bytes(4) + _s15(values)


def _mluc(text: str) -> bytes:
    utf16 = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(utf16), 28) + utf16


def _tags() -> list[tuple[bytes, bytes]]:
    curve = b"para" + bytes(4) + struct.pack(">HH", 3, 0) + _s15(SRGB_CURVE)
    chromaticities = b"chrm" + bytes(4) + struct.pack(">HH", 3, 0) + b"".join(
        struct.pack(">I", v) for v in CHROMATICITIES)
    return [
        (b"desc", _mluc(DESCRIPTION)),
        (b"cprt", _mluc(COPYRIGHT)),
        (b"wtpt", _xyz(D50)),
        (b"chad", b"sf32" + bytes(4) + _s15(BRADFORD_D65_TO_D50)),
        (b"rXYZ", _xyz(RED)),
        (b"gXYZ", _xyz(GREEN)),
        (b"bXYZ", _xyz(BLUE)),
        (b"rTRC", curve),
        (b"gTRC", curve),  # the three curves share one tag body, as ICC allows
        (b"bTRC", curve),
        (b"chrm", chromaticities),
    ]


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


@lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    tags = _tags()
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table = struct.pack(">I", len(tags))
    body = b""
    placed: dict[bytes, int] = {}
    for signature, data in tags:
        if data not in placed:
            placed[data] = offset + len(body)
            body += _padded(data)
        table += signature + struct.pack(">II", placed[data], len(data))
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">II", size, 0)
        + struct.pack(">I", VERSION_4_2)
        + b"mntr" + b"RGB " + b"XYZ "
        + struct.pack(">6H", *CREATED)
        + b"acsp"
        + bytes(4)  # primary platform: none
        + bytes(4)  # flags
        + bytes(8)  # device manufacturer, model
        + bytes(8)  # device attributes
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + _s15(D50)  # PCS illuminant
        + bytes(4)  # creator
    )
    profile = bytearray(header + bytes(16) + bytes(28) + table + body)
    assert len(header) == 84 and len(profile) == size
    # Profile ID: MD5 of the profile with flags, rendering intent and the ID itself zeroed
    # (they already are).
    profile[84:100] = hashlib.md5(bytes(profile)).digest()
    return bytes(profile)


def srgb_color_profile():
    """A WeasyPrint ColorProfile for this profile (a new one per render: WeasyPrint keeps the
    profile's object reference in it while it writes a PDF)."""
    from weasyprint.css import ColorProfile

    return ColorProfile(BytesIO(srgb_icc()), "certseal-srgb.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))
