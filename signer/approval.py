"""Approval: the second signature of a certificate that is signed again after issue, e.g. the
CHED Part III follow-up after the Part II decision.

The seal of such a certificate reserved an empty signature field (the model's
`[signatures] approval_field`) and certified with DocMDP P=2, which allows filling exactly
that. This signs it: a regular (non-certification) PAdES signature into that field, at B-B …
B-LTA like the seal (B-LT / B-LTA add the DSS and a document timestamp for the approval too),
with a visible bilingual appearance in the certificate's typography (`signer.appearance`).

Everything that can refuse is checked before pyHanko writes a byte: the key (certificate
validity, non-repudiation, environment against the document's), the level's services, the
certification (a P=1 original takes no further signature), the reserved field (present,
still empty), the follow-up input (decision against the model, date), and that the original
verifies as intact.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta, timezone
from io import BytesIO

from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import read_certification_data

from renderers.environment import Environment
from signer._aio import run_sync
from signer.appearance import SealAppearance, SealText
from signer.errors import SealingError
from signer.follow_up import FollowUp
from signer.keys import SealKey, check_seal_certificate
from signer.levels import Level
from signer.metadata import DocumentReadError, read_embedded_file, read_metadata_labels
from signer.pades import SealServices, check_level_services, pades_metadata, run_signer
from signer.report import Verdict
from signer.timestamps import signature_timestamp_time
from signer.trust import TrustStore

CLOCK_SKEW = timedelta(minutes=5)  # a follow-up "now" on a clock slightly ahead is not the future


@dataclass(frozen=True)
class ApprovalResult:
    pdf: bytes
    level: Level
    field: str
    reference: str | None
    timestamp: datetime | None  # the TSA's time in the signature timestamp (B-T and up)
    certificate: x509.Certificate = dataclass_field(repr=False)


@dataclass(frozen=True)
class _Original:
    """What the checks established about the original to approve."""

    environment: Environment
    reference: str | None
    field: str
    model: object  # renderers.model.ModelSpec
    decision: str | None  # msgid of the decision option
    languages: tuple[str, ...]


def _open(data: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
    except Exception as e:  # pyHanko raises a variety of errors on malformed input
        raise SealingError(f"not a readable PDF file: {e}") from None
    if reader.encrypt_dict is not None:
        raise SealingError("the PDF is encrypted; certseal originals never are")
    return reader


def _model(model_id: str | None):
    from renderers.model import available_models, load_model

    if model_id is None or model_id not in available_models():
        raise SealingError(f"the document names no known certificate model ({model_id!r}); "
                           "only certseal originals can be approved")
    return load_model(model_id)


def _reserved_field(reader: PdfFileReader, name: str, model_id: str) -> None:
    found = list(fields.enumerate_sig_fields(reader, with_name=name))
    if not found:
        raise SealingError(f"the document has no signature field {name!r} for the {model_id} approval "
                           "(it was sealed without one; only originals issued with it can be approved)")
    _, value, _ = found[0]
    if value is not None:
        raise SealingError(f"the approval field {name!r} is already signed; an original is approved once")


def _certification(reader: PdfFileReader) -> None:
    info = read_certification_data(reader)
    if info is None:
        raise SealingError("the document carries no certification seal; only certseal originals can be approved")
    if info.permission is fields.MDPPerm.NO_CHANGES:
        raise SealingError("the seal forbids every change (DocMDP P=1): this original takes no approval signature")
    if info.permission is not fields.MDPPerm.FILL_FORMS:
        raise SealingError(f"the seal allows {info.permission.name} changes, which certseal never issues")


def _languages(reader: PdfFileReader) -> tuple[str, ...]:
    """The certificate's two languages, from its embedded data (officer's first)."""
    from renderers.i18n import document_languages

    try:
        data = json.loads((read_embedded_file(reader) or b"{}").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        data = {}
    supported = document_languages()
    found = [data.get(k) for k in ("language", "destination_language") if isinstance(data, dict)]
    languages = tuple(dict.fromkeys(lang for lang in found if lang in supported))
    return languages or ("en",)


def _check_original(data: bytes, key: SealKey, follow_up: FollowUp) -> _Original:
    """The cheap structural checks, in the order an operator can act on them."""
    reader = _open(data)
    try:
        labels = read_metadata_labels(reader)
    except (DocumentReadError, KeyError, TypeError) as e:
        raise SealingError(f"cannot read the document metadata: {e}") from None
    if labels.conflicts or labels.environment is None:
        raise SealingError("the document does not state one environment in its metadata; "
                           "only certseal originals can be approved")
    if key.environment is not labels.environment:
        raise SealingError(f"a {key.environment.value} key cannot approve a {labels.environment.value} original")
    model = _model(labels.model)
    name = model.signatures.approval_field
    if name is None:
        raise SealingError(f"{model.id} certificates take no approval signature (single-signature model)")
    _certification(reader)
    _reserved_field(reader, name, model.id)
    decision = follow_up.check_decision(model)
    return _Original(labels.environment, labels.reference, name, model, decision, _languages(reader))


def _check_date(follow_up: FollowUp, sealed_at: datetime | None, now: datetime) -> None:
    from renderers.errors import InputError

    if follow_up.date > now + CLOCK_SKEW:
        raise InputError("date", f"{follow_up.date.isoformat()} is in the future")
    if sealed_at is not None and follow_up.date < sealed_at - CLOCK_SKEW:
        raise InputError("date", f"{follow_up.date.isoformat()} is before the original was sealed "
                                 f"({sealed_at.isoformat()}); the follow-up comes after the decision")


def _appearance(original: _Original, follow_up: FollowUp) -> SealAppearance:
    # page and box are the reserved field's own: only the text is drawn here.
    return SealAppearance(page=0, box=(0, 0, 0, 0), text=SealText(
        languages=original.languages, officer=follow_up.officer, qualification=follow_up.qualification,
        authority=follow_up.authority, tz=follow_up.date.tzinfo or timezone.utc, role="Official inspector",
        decision=original.decision, notes=follow_up.note_lines,
    ))


async def approve_pdf_async(
    data: bytes,
    key: SealKey,
    follow_up: FollowUp,
    *,
    level: str | Level,
    trust: TrustStore,
    services: SealServices | None = None,
) -> ApprovalResult:
    """Sign the reserved approval field of the original `data`. Raises SealingError (or
    InputError for the follow-up) and writes nothing when anything does not fit."""
    from signer.verify import verify_pdf_async

    level = Level.parse(level)
    check_seal_certificate(key.certificate)  # again at use time: a worker may hold it for long
    check_level_services(level, services)
    original = _check_original(data, key, follow_up)
    # Fetching allowed: an original without embedded validation data (B-B / B-T) can only be
    # checked online, as `extend` does.
    report = await verify_pdf_async(data, trust, allow_fetching=True)
    if report.verdict in (Verdict.INVALID, Verdict.INDETERMINATE):
        raise SealingError(f"refusing to approve a document that does not verify ({report.verdict.value}): "
                           + "; ".join(report.reasons[:3]))
    sealed_in = report.environment.signer
    if sealed_in is not key.environment:
        raise SealingError(f"the original was sealed by a {sealed_in.value if sealed_in else 'unknown'} key, not "
                           f"a {key.environment.value} one; a key of its own environment must approve it")
    seal = report.signatures[0]
    _check_date(follow_up, seal.timestamp or seal.signing_time, datetime.now(timezone.utc))

    vc = services.validation_context() if level.embeds_validation_data else None
    part = original.model.signatures.approval_part
    reason = f"certseal {original.environment.value} approval (Part {part}) of {original.reference}"
    pdf_signer = signers.PdfSigner(
        pades_metadata(original.field, level, vc, reason),
        signer=key.signer,
        timestamper=services.timestamper() if level.needs_tsa else None,
        stamp_style=_appearance(original, follow_up).stamp_style(key, at=follow_up.date),
    )
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=True)
    pdf = await run_signer(pdf_signer, writer, level, vc)
    timestamp = None
    if level.needs_tsa:
        signed = [s for s in PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
                  if s.field_name == original.field]
        timestamp = signature_timestamp_time(signed[0]) if signed else None
    return ApprovalResult(pdf=pdf, level=level, field=original.field, reference=original.reference,
                          timestamp=timestamp, certificate=key.certificate)


def approve_pdf(
    data: bytes,
    key: SealKey,
    follow_up: FollowUp,
    *,
    level: str | Level,
    trust: TrustStore,
    services: SealServices | None = None,
) -> ApprovalResult:
    """Sign the approval (e.g. CHED Part III follow-up) into the field the seal reserved."""
    return run_sync(lambda: approve_pdf_async(data, key, follow_up, level=level, trust=trust, services=services))
