"""The naive baseline: what a first attempt would do with the same HTML and the same key.

WeasyPrint with default settings on every call (a fresh FontConfiguration, the default URL
fetcher, stylesheets parsed again), then pyHanko's default `sign_pdf` (an approval signature,
adbe.pkcs7.detached) with a SimpleSigner loaded from the same PKCS#12. The stylesheets are the
ones certseal renders with, given by file name: without them the layout (and the page count)
would not be the same document.
"""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

import weasyprint
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from renderers.model import ModelSpec
from renderers.pdf import stylesheet_paths
from renderers.resources import templates_dir


def stylesheet_files(model: ModelSpec) -> list[Path]:
    return [templates_dir() / p for p in stylesheet_paths(model)]


def naive_pdf(html: str, stylesheets: list[Path]) -> bytes:
    return weasyprint.HTML(string=html).write_pdf(
        stylesheets=[weasyprint.CSS(filename=str(p)) for p in stylesheets])


def naive_signer(p12: Path, passphrase: bytes) -> signers.SimpleSigner:
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=passphrase)
    if signer is None:
        raise SystemExit(f"bench: cannot load {p12} with pyHanko's SimpleSigner.load_pkcs12")
    return signer


def naive_sign(pdf: bytes, signer: signers.SimpleSigner) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    out = signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Signature1"), signer=signer)
    return out.getvalue()
