"""Previews for template developers: one model × sample × language pair to a file, a local
server that re-renders when templates / CSS / catalogs change, and a contact sheet of every
model's first page. Previews are never sealed; unless asked otherwise they are training
documents, watermarked."""
from __future__ import annotations

import html as html_escape
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

from renderers.environment import Environment
from renderers.errors import InputError
from renderers.i18n import document_languages
from renderers.model import Certificate, available_models, parse_certificate
from renderers.reload import clear_caches, source_fingerprint
from renderers.pdf import stylesheet_paths
from renderers.render import render_certificate, render_certificate_html, render_pngs
from renderers.resources import templates_dir
from renderers.samples import list_samples, load_sample

FORMATS = ("html", "pdf", "png")
# The language pairs the rendering issue names, shown as ready links on the preview index.
SHOWCASE_PAIRS = (("nl", "en"), ("fr", "zh"), ("de", "ar"), ("bg", "ja"), ("el", "ru"))


@dataclass(frozen=True)
class PreviewRequest:
    model: str
    sample: str | None = None
    language: str | None = None
    destination_language: str | None = None
    environment: Environment = Environment.TRAINING


def preview_certificate(request: PreviewRequest) -> Certificate:
    if request.model not in available_models():
        raise InputError("MODEL", f"unknown model {request.model!r} (available: {', '.join(available_models())})")
    samples = list_samples(request.model)
    if not samples:
        raise InputError("MODEL", f"model {request.model} has no sample certificate")
    # Default: the model's smallest sample, the quickest to look at.
    name = request.sample or min(samples, key=lambda s: s.path.stat().st_size).name
    try:
        data = dict(load_sample(request.model, name))
    except KeyError as exc:
        raise InputError("--sample", str(exc.args[0])) from None
    data["environment"] = request.environment.value
    if request.language:
        data["language"] = request.language
    if request.destination_language:
        data["destination_language"] = request.destination_language
    return parse_certificate(data)


def render_preview(request: PreviewRequest, fmt: str, *, page: int = 1) -> bytes:
    cert = preview_certificate(request)
    if fmt == "html":
        return standalone_html(cert).encode()
    rendered = render_certificate(cert)
    if fmt == "pdf":
        return rendered.data
    return render_pngs(rendered, first_page=page, last_page=page)[0]


def standalone_html(cert: Certificate) -> str:
    """The certificate's HTML with its stylesheets inlined, so a browser shows it as WeasyPrint
    lays it out (minus paged media). Only packaged CSS is inlined, never input."""
    css = [(templates_dir() / path).read_text(encoding="utf-8") for path in stylesheet_paths(cert.model)]
    style = "<style>\n" + "\n".join(css).replace("</", "<\\/") + "\n</style>"
    page = render_certificate_html(cert)
    return page.replace("</head>", style + "</head>", 1) if "</head>" in page else style + page


# --- contact sheet ----------------------------------------------------------------------------

def contact_sheet(output: Path, *, dpi: int = 40) -> list[str]:
    """One PNG with page 1 of the first sample of every model, labelled; returns the models."""
    from weasyprint import HTML

    models = [m for m in available_models() if list_samples(m)]
    with tempfile.TemporaryDirectory(prefix="certseal-sheet-") as tmp:
        cells = []
        for index, model_id in enumerate(models):
            cert = preview_certificate(PreviewRequest(model_id))
            png = Path(tmp) / f"m{index}.png"
            png.write_bytes(render_pngs(render_certificate(cert), dpi=dpi, first_page=1, last_page=1)[0])
            caption = f"{model_id} — {cert.reference} ({cert.language}+{cert.destination_language})"
            cells.append(f'<figure><img src="{png.as_uri()}"><figcaption>{html_escape.escape(caption)}</figcaption></figure>')
        columns = min(3, max(1, len(cells)))
        page = f"""<html><head><style>
            @page {{ size: {columns * 220 + 20}mm {((len(cells) + columns - 1) // columns) * 320 + 20}mm; margin: 10mm; }}
            body {{ font-family: "Noto Sans"; margin: 0; }}
            .grid {{ display: grid; grid-template-columns: repeat({columns}, 210mm); gap: 10mm; }}
            figure {{ margin: 0; }} img {{ width: 210mm; border: 0.5pt solid #888; }}
            figcaption {{ font-size: 14pt; padding-top: 2mm; }}
            </style></head><body><div class="grid">{''.join(cells)}</div></body></html>"""
        # Our own thumbnails from the temp dir: the one place a file: URL is loaded on purpose.
        pdf = Path(tmp) / "sheet.pdf"
        HTML(string=page, base_url=tmp).write_pdf(pdf)
        exe = shutil.which("pdftoppm")
        if exe is None:
            raise RuntimeError("pdftoppm not found (install poppler-utils)")
        subprocess.run([exe, "-r", "50", "-png", "-singlefile", str(pdf), str(Path(tmp) / "sheet")],
                       check=True, capture_output=True, timeout=120)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "sheet.png", output)
    return models


# --- the preview server -----------------------------------------------------------------------

class _Reloader:
    """Clears the renderer's caches when anything it reads changed since the last request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = source_fingerprint()
        self.reloads = 0

    def check(self) -> None:
        with self._lock:
            now = source_fingerprint()
            if now != self._seen:
                clear_caches()
                self._seen = now
                self.reloads += 1


def make_server(host: str = "127.0.0.1", port: int = 8765, environment: Environment = Environment.TRAINING
                ) -> ThreadingHTTPServer:
    reloader = _Reloader()

    class Handler(BaseHTTPRequestHandler):
        server_version = "certseal-preview"

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            url = urlparse(self.path)
            try:
                if url.path == "/":
                    self._send(HTTPStatus.OK, "text/html; charset=utf-8", _index_page().encode())
                elif url.path == "/preview":
                    reloader.check()
                    self._preview(parse_qs(url.query))
                else:
                    self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
            except InputError as exc:
                self._send(HTTPStatus.BAD_REQUEST, "text/plain; charset=utf-8", f"{exc}\n".encode())

        def _preview(self, query: dict[str, list[str]]) -> None:
            def one(key: str) -> str | None:
                return query.get(key, [None])[0]

            fmt = one("format") or "html"
            if fmt not in FORMATS:
                raise InputError("format", f"expected one of {', '.join(FORMATS)}")
            request = PreviewRequest(model=one("model") or "", sample=one("sample"), language=one("lang"),
                                     destination_language=one("dest"), environment=environment)
            body = render_preview(request, fmt, page=int(one("page") or 1))
            kind = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "png": "image/png"}[fmt]
            self._send(HTTPStatus.OK, kind, body)

        def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.reloader = reloader  # type: ignore[attr-defined]
    return server


def _index_page() -> str:
    rows = []
    for sample in list_samples():
        data = load_sample(sample.model, sample.name)
        pairs = [(data["language"], data["destination_language"]), *SHOWCASE_PAIRS]
        links = []
        for lang, dest in dict.fromkeys(pairs):
            query = urlencode({"model": sample.model, "sample": sample.name, "lang": lang, "dest": dest})
            links.append(f'{lang}+{dest}: <a href="/preview?{query}&format=html">HTML</a> '
                         f'<a href="/preview?{query}&format=pdf">PDF</a> <a href="/preview?{query}&format=png">PNG</a>')
        rows.append(f"<tr><th>{html_escape.escape(sample.model)}</th><td>{html_escape.escape(sample.name)}</td>"
                    f"<td>{' · '.join(links)}</td></tr>")
    options = "".join(f"<option>{lang}</option>" for lang in document_languages())
    models = "".join(f"<option>{m}</option>" for m in available_models())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>certseal previews</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{padding:.3em .6em;text-align:left}} label{{margin-right:1em}}</style>
</head><body><h1>certseal template previews</h1>
<p>Every model × sample; any language pair with the form. Templates, CSS, model files and catalogs are
re-read when they change.</p>
<form action="/preview"><label>Model <select name="model">{models}</select></label>
<label>Sample <input name="sample" placeholder="(first)"></label>
<label>Language <select name="lang">{options}</select></label>
<label>Destination <select name="dest">{options}</select></label>
<label>Format <select name="format"><option>html</option><option>pdf</option><option>png</option></select></label>
<button>Preview</button></form>
<table>{''.join(rows)}</table></body></html>"""
