"""Each stream of a rendered PDF is serialized and compressed once (renderers.stream_data),
and the file is the same as when pydyf serializes everything twice."""
from __future__ import annotations

import collections
import contextlib

import pydyf

import renderers.pdf as pdf_module
import renderers.stream_data as stream_data
from renderers.model import parse_certificate
from renderers.render import render_certificate
from _render_helpers import sample


_SERIALIZE, _FINISHER = stream_data._serialize, pdf_module._finisher


def _render_counting(monkeypatch, cert) -> tuple[bytes, collections.Counter]:
    """The file, and how often each stream was serialized while pydyf wrote it (the finisher
    reads the XMP stream before that, to amend it)."""
    counts: collections.Counter = collections.Counter()
    serialize, finisher = _SERIALIZE, _FINISHER
    writing = []

    def finisher_then_writing(*args):
        finish = finisher(*args)
        return lambda document, pdf: (finish(document, pdf), writing.append(True))

    def counting(stream):
        if writing:
            counts[id(stream)] += 1
        return serialize(stream)

    monkeypatch.setattr(pdf_module, "_finisher", finisher_then_writing)
    monkeypatch.setattr(stream_data, "_serialize", counting)
    return render_certificate(cert).data, counts


def test_every_stream_is_serialized_once_and_the_file_is_unchanged(monkeypatch):
    cert = parse_certificate(sample("citrus-za-de"))
    once, counts_once = _render_counting(monkeypatch, cert)
    monkeypatch.setattr(pdf_module, "streams_serialized_once", contextlib.nullcontext)
    twice, counts_twice = _render_counting(monkeypatch, cert)
    assert once == twice
    assert len(counts_once) > 10  # page contents, fonts, the object and cross-reference streams
    assert set(counts_once.values()) == {1}
    assert max(counts_twice.values()) == 2  # pydyf's identifier pass, without the block


def test_a_stream_is_kept_only_after_the_finisher_said_so():
    stream = pydyf.Stream([b"0 0 m"])
    assert stream.data != _grown(stream).data  # plain pydyf: always serialized afresh
    with stream_data.streams_serialized_once():
        stream = pydyf.Stream([b"0 0 m"])
        before = stream.data
        assert _grown(stream).data != before  # not final yet: still afresh
        stream_data.serialize_once_from_now()
        final = stream.data
        assert _grown(stream).data == final  # kept
    assert stream.data != final  # the block is over


def _grown(stream: pydyf.Stream) -> pydyf.Stream:
    stream.stream.append(b"1 1 l")
    return stream
