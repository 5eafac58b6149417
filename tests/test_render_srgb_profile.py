"""certseal's sRGB output-intent profile (renderers.srgb_profile): a well-formed ICC v4.2
display profile, colour-for-colour the sRGB of WeasyPrint's sRGB2014.icc, and the only colour
profile a certificate carries."""
from __future__ import annotations

import hashlib
import struct
from importlib.resources import files
from io import BytesIO

import pytest
from PIL import Image, ImageCms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from renderers.srgb_profile import DESCRIPTION, srgb_icc

ICC = srgb_icc()


def _tag_table(profile: bytes) -> dict[bytes, bytes]:
    count = struct.unpack(">I", profile[128:132])[0]
    tags = {}
    for i in range(count):
        signature, offset, size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
        assert offset % 4 == 0 and offset + size <= len(profile), signature
        tags[signature] = profile[offset:offset + size]
    return tags


def test_header_says_a_v4_2_rgb_display_profile_of_its_own_size_and_id():
    size, _, version = struct.unpack(">III", ICC[:12])
    assert size == len(ICC)
    assert version == 0x04200000
    assert ICC[12:24] == b"mntr" + b"RGB " + b"XYZ "
    assert ICC[36:40] == b"acsp"
    zeroed = bytearray(ICC)
    zeroed[44:48] = zeroed[64:68] = bytes(4)
    zeroed[84:100] = bytes(16)
    assert ICC[84:100] == hashlib.md5(bytes(zeroed)).digest()


def test_tone_curves_are_the_parametric_srgb_curve():
    tags = _tag_table(ICC)
    assert {b"desc", b"cprt", b"wtpt", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC", b"chad"} <= set(tags)
    for trc in (b"rTRC", b"gTRC", b"bTRC"):
        curve = tags[trc]
        assert curve[:4] == b"para" and struct.unpack(">H", curve[8:10])[0] == 3
        g, a, b, c, d = (v / 65536 for v in struct.unpack(">5i", curve[12:32]))
        assert tuple(round(v, 4) for v in (g, a, b, c, d)) == (2.4, 0.9479, 0.0521, 0.0774, 0.0405)


def test_lcms_reads_it_and_it_maps_colours_as_weasyprints_srgb2014_does():
    ours = ImageCms.ImageCmsProfile(BytesIO(ICC))
    assert ours.profile.profile_description == DESCRIPTION
    with (files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as fh:
        reference = ImageCms.ImageCmsProfile(fh)
    levels = [*range(0, 256, 15), 255]
    grid = [(r, g, b) for r in levels for g in levels for b in levels]
    image = Image.new("RGB", (len(grid), 1))
    image.putdata(grid)
    transform = ImageCms.buildTransform(ours, reference, "RGB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    mapped = ImageCms.applyTransform(image, transform)
    worst = max(abs(x - y) for x, y in zip(image.tobytes(), mapped.tobytes()))
    assert worst <= 1


def _icc_streams(pdf: bytes) -> list[bytes]:
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    found = []
    for ref in reader.xrefs.explicit_refs_in_revision(0):
        obj = reader.get_object(ref)
        if isinstance(obj, generic.StreamObject) and "/N" in obj:
            data = obj.data
            if data[36:40] == b"acsp":
                found.append(data)
    return found


@pytest.mark.parametrize("destination", ["en", "zh"])
def test_a_certificate_carries_this_profile_as_its_output_intent_and_no_other(rendered_chedpp, destination):
    pdf = rendered_chedpp(destination)
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    intents = reader.root["/OutputIntents"]
    assert len(intents) == 1
    intent = intents[0]
    assert intent["/S"] == "/GTS_PDFA1"
    assert intent["/OutputConditionIdentifier"] == DESCRIPTION
    assert intent["/DestOutputProfile"].get_object().data == ICC
    assert _icc_streams(pdf) == [ICC]


@pytest.fixture(scope="module")
def rendered_chedpp():
    from renderers.model import parse_certificate
    from renderers.pdf import html_to_pdf
    from renderers.render import render_certificate_html
    from renderers.samples import load_sample

    def render(destination: str) -> bytes:
        data = load_sample("CHED-PP", "roses-ke-nl")
        data["destination_language"] = destination
        cert = parse_certificate(data)
        return html_to_pdf(render_certificate_html(cert), cert).data

    return render
