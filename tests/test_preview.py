"""Previews for template developers: files in any language pair, the local server that
re-renders on change, and the contact sheet."""
from __future__ import annotations

import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from renderers.i18n import gettext
from renderers.model import available_models
from renderers.resources import locales_dir
from service.preview import PreviewRequest, contact_sheet, make_server, render_preview


def pdftotext(data: bytes, tmp_path: Path) -> str:
    f = tmp_path / "p.pdf"
    f.write_bytes(data)
    return subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF-"), ("png", b"\x89PNG"), ("html", b"<")])
def test_preview_formats_in_a_language_pair_without_its_sample_languages(fmt: str, magic: bytes) -> None:
    body = render_preview(PreviewRequest("CHED-A", language="bg", destination_language="ja"), fmt)
    assert body.lstrip().startswith(magic)
    if fmt == "html":
        text = body.decode()
        assert "<style>" in text and 'lang="bg"' in text
        assert gettext("Consignor/Exporter", "bg") in text and gettext("Consignor/Exporter", "ja") in text


def test_preview_is_a_watermarked_training_document_by_default(tmp_path: Path) -> None:
    text = pdftotext(render_preview(PreviewRequest("CHED-PP", language="nl", destination_language="en"), "pdf"), tmp_path)
    assert gettext("TRAINING — NO LEGAL VALUE", "nl") in text


def test_preview_server_lists_every_model_and_rerenders_when_a_catalog_changes(tmp_path: Path) -> None:
    server = make_server(port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    po = locales_dir() / "nl" / "LC_MESSAGES" / "messages.po"
    original = po.read_bytes()
    try:
        index = urllib.request.urlopen(base + "/", timeout=30).read().decode()
        for model in available_models():
            assert f"<th>{model}</th>" in index
        url = base + "/preview?model=CHED-PP&lang=nl&dest=en&format=html"
        before = urllib.request.urlopen(url, timeout=60).read().decode()
        old = gettext("Consignor/Exporter", "nl")
        assert old in before
        po.write_bytes(original.replace(f'msgstr "{old}"'.encode(), 'msgstr "Afzender (gewijzigd)"'.encode(), 1))
        after = urllib.request.urlopen(url, timeout=60).read().decode()
        assert "Afzender (gewijzigd)" in after and server.reloader.reloads >= 1
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "/preview?model=NOPE&format=pdf", timeout=30)
        assert err.value.code == 400
    finally:
        po.write_bytes(original)
        server.reloader.check()
        server.shutdown()
        server.server_close()
    assert gettext("Consignor/Exporter", "nl") == old


def test_contact_sheet_shows_every_model(tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    assert contact_sheet(out) == sorted(available_models())
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000
