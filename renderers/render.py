"""Top-level rendering entry points: certificate → HTML, PDF, PNG previews."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from renderers.html import render_html
from renderers.model import Certificate
from renderers.pdf import RenderedPdf, html_to_pdf

PNG_TIMEOUT_S = 60


def render_certificate_html(cert: Certificate, *, verification_base: str | None = None) -> str:
    return render_html(cert, verification_base=verification_base)


def render_certificate(cert: Certificate, *, verification_base: str | None = None) -> RenderedPdf:
    """The unsigned PDF/A-3b original-to-be (the signer seals it afterwards)."""
    return html_to_pdf(render_html(cert, verification_base=verification_base), cert)


def render_png(source: Certificate | RenderedPdf | bytes, *, page: int = 1, dpi: int = 96,
               verification_base: str | None = None) -> bytes:
    """One page (1-based) as PNG: the preview a template developer or the CLI wants."""
    pages = render_pngs(source, dpi=dpi, first_page=page, last_page=page,
                        verification_base=verification_base)
    if not pages:
        raise ValueError(f"no page {page}")
    return pages[0]


def render_pngs(source: Certificate | RenderedPdf | bytes, *, dpi: int = 96,
                first_page: int | None = None, last_page: int | None = None,
                verification_base: str | None = None) -> list[bytes]:
    """PNG previews, one per page of the (1-based, inclusive) range, rasterised by poppler's
    pdftoppm (WeasyPrint draws PDF only)."""
    if isinstance(source, Certificate):
        source = render_certificate(source, verification_base=verification_base)
    pdf = source.data if isinstance(source, RenderedPdf) else source
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise RuntimeError("pdftoppm not found (install poppler-utils)")
    with tempfile.TemporaryDirectory(prefix="certseal-png-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        cmd = [exe, "-r", str(int(dpi)), "-png"]
        if first_page:
            cmd += ["-f", str(int(first_page))]
        if last_page:
            cmd += ["-l", str(int(last_page))]
        subprocess.run(cmd + [str(src), str(Path(tmp) / "page")], check=True,
                       capture_output=True, timeout=PNG_TIMEOUT_S)
        # pdftoppm zero-pads page numbers to the width of the page count: sort numerically.
        pages = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [p.read_bytes() for p in pages]
