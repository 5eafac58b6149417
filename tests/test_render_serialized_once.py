"""Each object of a rendered PDF is serialized once and each stream deflated once
(renderers.serialized_once), and the file is the same as when pydyf does it all twice."""
from __future__ import annotations

import contextlib
import types
import zlib

import pydyf

import renderers.pdf as pdf_module
from renderers.model import parse_certificate
from renderers.render import render_certificate
from renderers.serialized_once import objects_serialized_once, serialize_once_from_now
from _render_helpers import sample


def _render_counting_deflates(monkeypatch, cert) -> tuple[bytes, int]:
    deflates = []

    def compressobj(*args, **kwargs):
        deflates.append(1)
        return zlib.compressobj(*args, **kwargs)

    monkeypatch.setattr(pydyf, "zlib", types.SimpleNamespace(compressobj=compressobj))
    return render_certificate(cert).data, len(deflates)


def test_every_stream_is_deflated_once_and_the_file_is_unchanged(monkeypatch):
    cert = parse_certificate(sample("citrus-za-de"))
    once, deflated_once = _render_counting_deflates(monkeypatch, cert)
    monkeypatch.setattr(pdf_module, "objects_serialized_once", contextlib.nullcontext)
    twice, deflated_twice = _render_counting_deflates(monkeypatch, cert)
    assert once == twice
    streams = once.count(b"endstream")
    assert deflated_once == streams > 10  # page contents, fonts, object and cross-reference streams
    assert deflated_twice > 1.5 * streams  # pydyf's identifier pass, without the block


def _indirect(obj: pydyf.Object) -> pydyf.Object:
    pydyf.PDF().add_object(obj)  # numbered: an object of its own in the file
    return obj


def test_objects_are_kept_only_after_the_finisher_said_so():
    for make, grow in ((lambda: pydyf.Stream([b"0 0 m"]), lambda o: o.stream.append(b"1 1 l")),
                       (lambda: pydyf.Dictionary({"A": 1}), lambda o: o.update({f"K{len(o)}": len(o)})),
                       (lambda: pydyf.Array([1]), lambda o: o.append(2))):
        plain = _indirect(make())
        first = plain.data
        grow(plain)
        assert plain.data != first  # plain pydyf: always serialized afresh
        with objects_serialized_once():
            obj = _indirect(make())
            direct = make()  # serialized only inside the object that holds it
            before = obj.data
            grow(obj)
            assert obj.data != before  # not final yet: still afresh
            serialize_once_from_now()
            final, direct_final = obj.data, direct.data
            grow(obj)
            grow(direct)
            assert obj.data == final  # kept
            assert direct.data != direct_final  # not kept
        assert obj.data != final  # the block is over
