"""Whole font files are not copied out of HarfBuzz when only their subsets are embedded
(renderers.font_files), and the PDF is the same as when WeasyPrint copies them."""
from __future__ import annotations

import contextlib

from weasyprint import HTML

import renderers.font_files as font_files
import renderers.pdf as pdf_module
from renderers.model import parse_certificate
from renderers.render import render_certificate
from _render_helpers import sample

MB = 1 << 20
_COPY_OUT = font_files._copy_out


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed Font.__init__: check it still copies the
    # face's file once with get_hb_object_data and reads it nowhere else, then update the checksum.
    assert font_files.ACTIVE, font_files.source_sha256()


def _render_copying(monkeypatch, cert) -> tuple[bytes, list[int]]:
    copied: list[int] = []

    def counting(*args, **kwargs):
        data = _COPY_OUT(*args, **kwargs)
        copied.append(len(data or b""))
        return data

    monkeypatch.setattr(font_files, "_copy_out", counting)
    return render_certificate(cert).data, copied


def test_a_chinese_destination_embeds_subsets_without_copying_the_cjk_files(monkeypatch):
    data = sample("roses-ke-nl")
    data["destination_language"] = "zh"
    cert = parse_certificate(data)
    lazily, copied_lazily = _render_copying(monkeypatch, cert)
    monkeypatch.setattr(pdf_module, "font_files_read_lazily", contextlib.nullcontext)
    eagerly, copied_eagerly = _render_copying(monkeypatch, cert)
    assert lazily == eagerly
    assert max(copied_eagerly) > 15 * MB  # a Noto CJK collection, whole
    assert copied_lazily and max(copied_lazily) < MB  # only the subsets


def test_an_unread_file_reads_as_the_whole_face():
    document = HTML(string="<p>plain</p>").render()
    with font_files.font_files_read_lazily():
        document.write_pdf()
    font = next(iter(document.fonts.values()))
    subset = font.file_content
    font.__dict__[font_files._KEY] = font_files._UNREAD
    whole = font.file_content
    assert whole == font_files._copy_out(font.hb_face)
    assert len(whole) > len(subset) and whole[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"ttcf")
