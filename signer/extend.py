"""Keeping an original alive: add validation data and a fresh archive timestamp (PAdES B-LTA
maintenance) to an existing original without touching what the seal covers.

Both additions are incremental updates of the kinds the certification allows (a DSS and a
document timestamp, ISO 32000-2 § 12.8.4.3 / EN 319 142-1 § 5.5); the verifier classifies
them as LTA updates. The file is checked first: a tampered or foreign document is refused,
never "refreshed" into something that looks maintained.

- an original without document timestamps (B-B, B-T, B-LT): the DSS gets the seal's (and its
  signature timestamp's) certificates and revocation data, then a document timestamp covers it;
- an original that already has document timestamps (B-LTA): the DSS gets the validation data
  of the newest timestamp, then a new one covers everything (pyHanko's archival chain update).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.validation import async_add_validation_info

from signer._aio import run_sync
from signer.errors import SealingError
from signer.pades import DIGEST_ALGORITHM, SealServices
from signer.report import Verdict
from signer.timestamps import document_timestamp_time
from signer.trust import TrustStore
from signer.verify import verify_pdf_async


@dataclass(frozen=True)
class ExtendResult:
    pdf: bytes
    timestamp: datetime | None  # time of the new archive timestamp
    reference: str | None


async def extend_pdf_async(data: bytes, services: SealServices, trust: TrustStore) -> ExtendResult:
    if not services.tsa_url:
        raise SealingError("extending an original needs a timestamp authority; none is configured")
    if not services.trust_roots:
        raise SealingError("extending an original needs the environment's trust roots; none are configured")
    # Refuse anything that is not an intact original now: fetching is allowed, because
    # an original without embedded data (B-B / B-T) can only be checked online.
    report = await verify_pdf_async(data, trust, allow_fetching=True)
    if report.verdict in (Verdict.INVALID, Verdict.INDETERMINATE):
        raise SealingError(
            f"refusing to extend a document that does not verify ({report.verdict.value}): "
            + "; ".join(report.reasons[:3])
        )
    reader = PdfFileReader(BytesIO(data), strict=True)
    vc = services.validation_context()
    timestamper = signers.PdfTimeStamper(services.timestamper())
    out = BytesIO()
    try:
        if reader.embedded_timestamp_signatures:
            await timestamper.async_update_archival_timestamp_chain(reader, vc, in_place=False, output=out)
        else:
            seal = reader.embedded_regular_signatures[0]
            with_dss = await async_add_validation_info(seal, vc, in_place=False, output=BytesIO())
            writer = IncrementalPdfFileWriter(with_dss)
            await timestamper.async_timestamp_pdf(writer, DIGEST_ALGORITHM, vc, output=out)
    except SealingError:
        raise
    except Exception as e:
        raise SealingError(f"cannot extend the original: {e}") from e
    finally:
        await vc.aclose()
    extended = out.getvalue()
    newest = PdfFileReader(BytesIO(extended)).embedded_timestamp_signatures[-1]
    return ExtendResult(extended, document_timestamp_time(newest), report.reference)


def extend_pdf(data: bytes, services: SealServices, trust: TrustStore) -> ExtendResult:
    """Add validation data and a fresh archive timestamp to the original `data`."""
    return run_sync(lambda: extend_pdf_async(data, services, trust))
