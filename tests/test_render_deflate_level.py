"""A certificate's streams are deflated at zlib's default level (renderers.deflate_level): the
same document, object by object and stream by stream once inflated, in a file about 1 % larger,
and only inside certseal's renders."""
from __future__ import annotations

import zlib
from io import BytesIO

import pydyf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

import renderers.deflate_level as deflate_level
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate


def _objects(pdf: bytes) -> dict[int, object]:
    """Every object of the file, streams inflated. A stream's /Length, and the cross-reference
    stream (byte offsets), depend on how the streams were deflated; nothing else may."""
    reader = PdfFileReader(BytesIO(pdf), strict=True)
    found = {}
    for ref in reader.xrefs.explicit_refs_in_revision(0):
        obj = reader.get_object(ref)
        if isinstance(obj, generic.DictionaryObject) and obj.get("/Type") in ("/XRef", "/ObjStm"):
            continue
        if isinstance(obj, generic.StreamObject):
            obj = ({k: v for k, v in obj.items() if k != "/Length"}, obj.data)
        found[ref.idnum] = obj
    return found


def test_pydyf_asks_for_level_9_through_its_zlib():
    assert deflate_level.ACTIVE
    assert pydyf.zlib.compress is zlib.compress  # everything but compressobj is zlib's own


def test_the_certificate_is_the_same_document_in_a_slightly_larger_file(monkeypatch):
    cert = sample_certificate("roses-ke-nl", "CHED-PP", "zh")
    default_level = render_certificate(cert).data
    level_9 = render_without(monkeypatch, cert, "streams_deflated_at_default_level")
    assert default_level != level_9
    assert _objects(default_level) == _objects(level_9)
    assert len(level_9) < len(default_level) < len(level_9) * 1.03


def test_outside_certseal_renders_pydyf_deflates_at_level_9():
    data = b"0 0 m 10 10 l S\n" * 5000
    stream = pydyf.Stream([data], compress=True)
    outside = stream.data
    with deflate_level.streams_deflated_at_default_level():
        inside = stream.data
    assert zlib.compress(data, 9) in outside
    assert zlib.compress(data, 6) in inside


def _forget(monkeypatch) -> None:
    deflate_level._kept.clear()
    deflate_level._seen.clear()
    monkeypatch.setattr(deflate_level, "_kept_bytes", 0)


def test_large_streams_met_again_are_not_deflated_again(monkeypatch):
    _forget(monkeypatch)
    large = bytes(range(256)) * 200  # 51 kB
    small = b"0 0 m 10 10 l S\n" * 100
    with deflate_level.streams_deflated_at_default_level():
        first = pydyf.Stream([large], compress=True).data
        assert not deflate_level._kept  # met once: only remembered as met
        assert pydyf.Stream([large], compress=True).data == first
        assert list(deflate_level._kept) == [large]
        deflated = deflate_level._kept[large]
        deflate_level._kept[large] = b"kept"  # so a second stream can only be this one
        again = pydyf.Stream([large], compress=True).data
        pydyf.Stream([small], compress=True).data
    assert zlib.compress(large, 6) in first and zlib.decompress(deflated) == large
    assert b"stream\nkept\nendstream" in again and b"/Length 4" in again
    assert list(deflate_level._kept) == [large]  # small streams are deflated every time
    _forget(monkeypatch)


def test_kept_streams_are_bounded(monkeypatch):
    _forget(monkeypatch)
    monkeypatch.setattr(deflate_level, "KEPT_MAX_BYTES", 100_000)
    with deflate_level.streams_deflated_at_default_level():
        for n in range(4):
            for _ in range(2):
                pydyf.Stream([bytes([n]) * 40_000], compress=True).data
    assert len(deflate_level._kept) == 2  # 40 kB + a few hundred bytes deflated, each
    _forget(monkeypatch)


def test_streams_met_once_are_never_kept(monkeypatch):
    _forget(monkeypatch)
    with deflate_level.streams_deflated_at_default_level():
        for n in range(50):
            pydyf.Stream([bytes([n]) * 20_000], compress=True).data
    assert not deflate_level._kept and len(deflate_level._seen) == 50
    _forget(monkeypatch)


def test_a_certificate_rendered_again_is_the_same_file(monkeypatch):
    cert = sample_certificate("roses-ke-nl", "CHED-PP", "zh")
    _forget(monkeypatch)
    first = render_certificate(cert).data
    assert render_certificate(cert).data == first
    assert deflate_level._kept  # its large streams, met twice now
    assert render_certificate(cert).data == first  # from the kept ones
