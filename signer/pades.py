"""Sealing: turn an unsigned certseal PDF into the legal original with a PAdES certification
signature (DocMDP "no changes allowed"), so any later change is detectable and forbidden.

Only PAdES B-B is implemented. B-T / B-LT / B-LTA need a timestamp authority and revocation data;
they are recognised names that fail with a clear message until then. The signature is invisible
for now (a visible bilingual seal is planned: it will be passed as a `SigFieldSpec` with a box).
"""
from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from renderers.environment import Environment
from signer._aio import run_sync
from signer.metadata import DocumentReadError, read_metadata_labels
from signer.errors import SealingError
from signer.keys import SealKey, check_seal_certificate

SEAL_FIELD_NAME = "CertsealSeal"
DIGEST_ALGORITHM = "sha256"
IMPLEMENTED_LEVELS = frozenset({"B-B"})
PLANNED_LEVELS = frozenset({"B-T", "B-LT", "B-LTA"})


@dataclass(frozen=True)
class SealRequest:
    """What is being sealed, checked against the document's own labels before signing."""

    environment: Environment
    reference: str
    level: str


def _check_level(level: str) -> str:
    normalised = level.strip().upper()
    if normalised in IMPLEMENTED_LEVELS:
        return normalised
    if normalised in PLANNED_LEVELS:
        raise SealingError(
            f"PAdES level {normalised} is not implemented yet (needs a timestamp authority"
            f"{' and revocation data' if normalised != 'B-T' else ''}); only B-B is available"
        )
    raise SealingError(f"unknown PAdES level {level!r} (expected one of B-B, B-T, B-LT, B-LTA)")


def _open(unsigned: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(BytesIO(unsigned), strict=True)
    except Exception as e:  # pyHanko raises a variety of errors on malformed input
        raise SealingError(f"not a readable PDF file: {e}") from None
    reader = writer.prev
    if reader.encrypt_dict is not None:
        raise SealingError("the PDF is encrypted; certseal seals only unencrypted documents")
    if reader.embedded_signatures:
        raise SealingError(
            "the PDF is already signed; a certification seal must be the first signature"
        )
    return writer


def _check_labels(writer: IncrementalPdfFileWriter, request: SealRequest) -> None:
    """Refuse a document whose own metadata contradicts what we are asked to seal it as."""
    try:
        labels = read_metadata_labels(writer.prev)
    except (DocumentReadError, KeyError, TypeError) as e:
        raise SealingError(f"cannot read the document metadata: {e}") from None
    if labels.conflicts:
        raise SealingError("the document metadata is inconsistent: " + "; ".join(labels.conflicts))
    if labels.environment is None:
        raise SealingError(
            "the document does not state its environment (CertsealEnvironment); "
            "only documents rendered by certseal can be sealed"
        )
    if labels.environment is not request.environment:
        raise SealingError(
            f"the document was rendered for {labels.environment.value} "
            f"but is being sealed as {request.environment.value}"
        )
    if labels.reference is not None and labels.reference != request.reference:
        raise SealingError(
            f"the document's reference is {labels.reference!r}, not {request.reference!r}"
        )


def _prepare(unsigned: bytes, key: SealKey, request: SealRequest) -> tuple[IncrementalPdfFileWriter, signers.PdfSigner]:
    if key.environment is not request.environment:
        raise SealingError(
            f"a {key.environment.value} key cannot seal a {request.environment.value} document"
        )
    # The key may have been loaded long ago by a worker: check validity again at use time.
    check_seal_certificate(key.certificate)
    writer = _open(unsigned)
    _check_labels(writer, request)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD_NAME,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=f"certseal {request.environment.value} original {request.reference}",
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=key.signer,
        new_field_spec=fields.SigFieldSpec(sig_field_name=SEAL_FIELD_NAME),
    )
    return writer, pdf_signer


async def seal_pdf_async(
    unsigned: bytes,
    key: SealKey,
    *,
    environment: Environment,
    reference: str,
    level: str = "B-B",
) -> bytes:
    """Async variant of `seal_pdf` for callers already inside an event loop."""
    request = SealRequest(Environment(environment), reference, _check_level(level))
    writer, pdf_signer = _prepare(unsigned, key, request)
    out = BytesIO()
    try:
        await pdf_signer.async_sign_pdf(writer, output=out)
    except SealingError:
        raise
    except Exception as e:
        raise SealingError(f"signing failed: {e}") from e
    return out.getvalue()


def seal_pdf(
    unsigned: bytes,
    key: SealKey,
    *,
    environment: Environment,
    reference: str,
    level: str = "B-B",
) -> bytes:
    """Seal `unsigned` with `key` and return the signed original.

    Raises SealingError (and returns nothing) if the key belongs to another environment, the
    document's own labels contradict `environment` / `reference`, the key is not fit to seal,
    or `level` is not available.
    """
    return run_sync(
        lambda: seal_pdf_async(
            unsigned, key, environment=environment, reference=reference, level=level
        )
    )
