"""A style's strut is worked out once and kept on the style (renderers.struts), and the PDF
is the one WeasyPrint gives when it looks the strut up each time."""
from __future__ import annotations

import contextlib

import pytest

import renderers.pdf as pdf_module
import renderers.struts as struts
from renderers.render import render_certificate
from _render_helpers import sample_certificate

_STRUT = struts._strut


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed strut(): check it still depends only on
    # the style's font properties, font size and line height, then update the checksum.
    assert struts.ACTIVE, struts.source_sha256()


def _render_counting(monkeypatch, cert, *, kept: bool) -> tuple[bytes, int]:
    calls: list[object] = []

    def counting(style):
        calls.append(style)
        return _STRUT(style)

    with monkeypatch.context() as patch:
        patch.setattr(struts, "_strut", counting)
        patch.setattr(pdf_module, "struts_kept", struts.struts_kept if kept else contextlib.nullcontext)
        return render_certificate(cert).data, len(calls)


@pytest.mark.parametrize("model, name, destination", [
    ("CHED-PP", "roses-ke-nl", "ar"),
    ("CHED-P", "tuna-vn-nl", None),
])
def test_the_pdf_is_the_one_without_kept_struts(monkeypatch, model, name, destination):
    cert = sample_certificate(name, model, destination)
    kept, looked_up_once = _render_counting(monkeypatch, cert, kept=True)
    each_time, looked_up = _render_counting(monkeypatch, cert, kept=False)
    assert kept == each_time
    assert looked_up_once < looked_up / 2
