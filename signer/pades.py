"""Sealing: turn an unsigned certseal PDF into the legal original with a PAdES certification
signature (DocMDP "no changes allowed"), so any later change is detectable and forbidden.

Levels (`signer.levels`): B-B is the signature alone; B-T adds an RFC 3161 signature
timestamp from the configured TSA; B-LT adds the DSS with every certificate, CRL and OCSP
response needed to validate the seal and the timestamp later; B-LTA adds a document
timestamp over all of it. The certification forbids changes, and ISO 32000-2 § 12.8.2.2 /
PAdES still allow exactly these later additions (DSS, document timestamps), which is how
`signer.extend` keeps an original alive.

Everything that can refuse is checked before pyHanko writes a byte: key environment, seal
certificate validity and key usage, the document's own labels, the level's services.

A model whose certificates are signed again later (CHED Part III follow-up) has the seal
reserve an empty signature field for it (`SealRequest.further_signature_field`, visible where
the template put it); the certification then allows filling exactly that (DocMDP P=2), and
`signer.approval` signs it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext

from renderers.environment import Environment
from signer import reserved_space
from signer._aio import run_sync
from signer.appearance import FieldPlace, SealAppearance
from signer.errors import SealingError
from signer.keys import SealKey, check_seal_certificate
from signer.levels import Level
from signer.metadata import DocumentReadError, read_metadata_labels
from signer.timestamps import signature_timestamp_time

SEAL_FIELD_NAME = "CertsealSeal"
DIGEST_ALGORITHM = "sha256"
IMPLEMENTED_LEVELS = frozenset(level.value for level in Level)
TSA_TIMEOUT_SECONDS = 10.0
REVOCATION_CLOCK_TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True)
class SealServices:
    """What the levels above B-B need: a TSA (B-T and up) and the roots to validate the seal
    and TSA chains while collecting their revocation data (B-LT and up; fetching allowed)."""

    tsa_url: str | None = None
    trust_roots: tuple[x509.Certificate, ...] = ()
    timeout: float = TSA_TIMEOUT_SECONDS

    def timestamper(self) -> HTTPTimeStamper:
        if not self.tsa_url:
            raise SealingError("no timestamp authority (TSA) is configured; levels above B-B need one")
        return _timestamper(self.tsa_url, self.timeout)

    def validation_context(self) -> ValidationContext:
        # "require": every certificate below the root must have revocation data we can embed;
        # a B-LT original without it could not be validated once the CA is gone.
        return ValidationContext(
            trust_roots=[_asn1(c) for c in self.trust_roots],
            allow_fetching=True,
            revocation_mode="require",
            # The context fixes "now" when it is made; on a loaded machine the OCSP / CRL
            # answers fetched later were "too recent" for the default 1 s and sealing failed.
            time_tolerance=REVOCATION_CLOCK_TOLERANCE,
        )


@dataclass(frozen=True)
class SealRequest:
    """What is being sealed, checked against the document's own labels before signing."""

    environment: Environment
    reference: str
    level: Level
    # A model whose certificates get a later approval signature (e.g. CHED Part III) names
    # the empty field it needs; the certification then allows filling/signing it (DocMDP P=2).
    further_signature_field: str | None = None
    appearance: SealAppearance | None = None
    further_signature_place: FieldPlace | None = None  # None: an invisible field


@dataclass(frozen=True)
class SealResult:
    pdf: bytes
    level: Level
    timestamp: datetime | None  # the TSA's time in the signature timestamp (B-T and up)
    certificate: x509.Certificate = field(repr=False)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


@cache
def _timestamper(tsa_url: str, timeout: float) -> HTTPTimeStamper:
    """One per TSA and process. pyHanko's timestamper keeps the dummy token it asks the TSA
    for to size the signature and document timestamp; a new one per seal asked the TSA for
    that dummy on every seal, one round trip in three. It opens an HTTP session per request
    (no session is given), so it is not tied to one event loop."""
    return HTTPTimeStamper(tsa_url, timeout=timeout)


def _check_level(level: str | Level) -> Level:
    return Level.parse(level)


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


def check_level_services(level: Level, services: SealServices | None) -> None:
    """Refuse a level whose services (TSA, trust roots for revocation data) are missing."""
    if not level.needs_tsa:
        return
    if services is None or not services.tsa_url:
        raise SealingError(
            f"PAdES {level.value} needs a timestamp authority, and none is configured "
            "(set tsa_url for the environment, or sign at B-B)"
        )
    if level.embeds_validation_data and not services.trust_roots:
        raise SealingError(
            f"PAdES {level.value} needs the environment's trust roots to collect "
            "revocation data; none are configured"
        )


def _field_spec(writer: IncrementalPdfFileWriter, request: SealRequest) -> fields.SigFieldSpec:
    if request.appearance is None:
        return fields.SigFieldSpec(sig_field_name=SEAL_FIELD_NAME)
    return request.appearance.field_spec(SEAL_FIELD_NAME, writer.prev)


def _prepare(
    unsigned: bytes, key: SealKey, request: SealRequest, services: SealServices | None
) -> tuple[IncrementalPdfFileWriter, signers.PdfSigner, ValidationContext | None]:
    if key.environment is not request.environment:
        raise SealingError(
            f"a {key.environment.value} key cannot seal a {request.environment.value} document"
        )
    # The key may have been loaded long ago by a worker: check validity again at use time.
    check_seal_certificate(key.certificate)
    check_level_services(request.level, services)
    writer = _open(unsigned)
    _check_labels(writer, request)
    level = request.level
    vc = services.validation_context() if level.embeds_validation_data else None
    if request.further_signature_field:
        if request.further_signature_field == SEAL_FIELD_NAME:
            raise SealingError(f"the approval field cannot be named {SEAL_FIELD_NAME!r}: the seal's field is")
        # The seal's field first, so it stays the form's (and e.g. pdfsig's) first signature;
        # then the empty field the later approval signature will fill: with DocMDP P=2 only
        # form filling / signing of existing fields stays allowed.
        fields.append_signature_field(writer, _field_spec(writer, request))
        place = request.further_signature_place
        fields.append_signature_field(writer, fields.SigFieldSpec(
            sig_field_name=request.further_signature_field,
            **({"on_page": place.page, "box": place.box} if place is not None else {}),
        ))
        permissions = fields.MDPPerm.FILL_FORMS
    else:
        permissions = fields.MDPPerm.NO_CHANGES
    meta = pades_metadata(SEAL_FIELD_NAME, level, vc, f"certseal {request.environment.value} original "
                          f"{request.reference}", certify=permissions)
    pdf_signer = signers.PdfSigner(
        meta,
        signer=key.signer,
        timestamper=services.timestamper() if level.needs_tsa else None,
        new_field_spec=None if request.further_signature_field else _field_spec(writer, request),
        stamp_style=request.appearance.stamp_style(key) if request.appearance is not None else None,
    )
    return writer, pdf_signer, vc


def pades_metadata(
    field_name: str, level: Level, vc: ValidationContext | None, reason: str, *,
    certify: fields.MDPPerm | None = None,
) -> signers.PdfSignatureMetadata:
    """A PAdES signature at `level` into `field_name`; a certification with the DocMDP
    permissions `certify`, else a regular (approval) signature."""
    return signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify is not None,
        **({"docmdp_permissions": certify} if certify is not None else {}),
        reason=reason,
        embed_validation_info=level.embeds_validation_data,
        validation_context=vc,
        use_pades_lta=level.archive_timestamp,
    )


async def run_signer(
    pdf_signer: signers.PdfSigner, writer: IncrementalPdfFileWriter, level: Level, vc: ValidationContext | None,
    *, bytes_reserved: int | None = None,
) -> bytes:
    """Sign, turning pyHanko's errors into SealingError, and close the context's HTTP session."""
    out = BytesIO()
    try:
        await pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=bytes_reserved)
    except SealingError:
        raise
    except Exception as e:
        raise signing_error(e, level) from e
    finally:
        if vc is not None:
            await vc.aclose()  # the HTTP session that fetched the revocation data
    return out.getvalue()


def signing_error(e: Exception, level: Level) -> SealingError:
    """pyHanko's errors name the failing step poorly for an operator; say which service failed."""
    text = str(e) or type(e).__name__
    name = type(e).__name__
    if "Timestamp" in name or "timestamp" in text.lower() and "request" in text.lower():
        return SealingError(f"the timestamp authority did not answer usefully: {text}")
    if level.embeds_validation_data and ("revocation" in text.lower() or "Path" in name or "Validation" in name):
        return SealingError(f"cannot collect the validation data for PAdES {level.value}: {text}")
    return SealingError(f"signing failed: {text}")


async def seal_document_async(
    unsigned: bytes,
    key: SealKey,
    request: SealRequest,
    services: SealServices | None = None,
) -> SealResult:
    """Seal and return the original with what the audit trail records about it."""
    settings = (DIGEST_ALGORITHM, request.level, services.tsa_url if services is not None else None)
    reserved = reserved_space.known(key.signer, settings)
    writer, pdf_signer, vc = _prepare(unsigned, key, request, services)
    try:
        pdf = await run_signer(pdf_signer, writer, request.level, vc, bytes_reserved=reserved)
    except SealingError as e:
        if reserved is None or reserved_space.TOO_SMALL_MESSAGE not in str(e.__cause__):
            raise
        reserved_space.forget(key.signer, settings)
        reserved = None
        writer, pdf_signer, vc = _prepare(unsigned, key, request, services)
        pdf = await run_signer(pdf_signer, writer, request.level, vc)
    if reserved is None:
        reserved_space.remember(key.signer, settings, pdf, len(unsigned))
    timestamp = None
    if request.level.needs_tsa:
        (seal,) = [s for s in PdfFileReader(BytesIO(pdf)).embedded_regular_signatures][:1]
        timestamp = signature_timestamp_time(seal)
    return SealResult(pdf=pdf, level=request.level, timestamp=timestamp, certificate=key.certificate)


def seal_document(
    unsigned: bytes, key: SealKey, request: SealRequest, services: SealServices | None = None
) -> SealResult:
    return run_sync(lambda: seal_document_async(unsigned, key, request, services))


async def seal_pdf_async(
    unsigned: bytes,
    key: SealKey,
    *,
    environment: Environment,
    reference: str,
    level: str | Level = Level.B_B,
    services: SealServices | None = None,
    appearance: SealAppearance | None = None,
    further_signature_field: str | None = None,
    further_signature_place: FieldPlace | None = None,
) -> bytes:
    """Async variant of `seal_pdf` for callers already inside an event loop."""
    request = SealRequest(
        Environment(environment), reference, _check_level(level),
        further_signature_field=further_signature_field, appearance=appearance,
        further_signature_place=further_signature_place,
    )
    return (await seal_document_async(unsigned, key, request, services)).pdf


def seal_pdf(
    unsigned: bytes,
    key: SealKey,
    *,
    environment: Environment,
    reference: str,
    level: str | Level = Level.B_B,
    services: SealServices | None = None,
    appearance: SealAppearance | None = None,
    further_signature_field: str | None = None,
    further_signature_place: FieldPlace | None = None,
) -> bytes:
    """Seal `unsigned` with `key` and return the signed original.

    `further_signature_field` reserves an empty signature field (at `further_signature_place`)
    for a later approval signature, and certifies with DocMDP P=2 instead of P=1.

    Raises SealingError (and returns nothing) if the key belongs to another environment, the
    document's own labels contradict `environment` / `reference`, the key is not fit to seal,
    or `level` needs a service (TSA, revocation data) that is not configured or not answering.
    """
    return run_sync(
        lambda: seal_pdf_async(
            unsigned, key, environment=environment, reference=reference, level=level,
            services=services, appearance=appearance, further_signature_field=further_signature_field,
            further_signature_place=further_signature_place,
        )
    )
