"""Signature checks: what pyHanko establishes about the seal and any later signatures,
turned into a `SignatureReport` and findings.

One pyHanko validation pass per signature, against one `ValidationContext` holding every
configured root (the root a path ends in tells the signer environment), with the diff
analysis of later revisions always on. Certseal is stricter than pyHanko's bottom line:
after a NO_CHANGES certification only LTA maintenance (DSS, document timestamps) may follow.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
    read_certification_data,
)
from pyhanko_certvalidator import ValidationContext

from renderers.environment import Environment
from signer.policy import PolicyError, certificate_environment
from signer.report import Finding, FindingKind, SignatureReport, Verdict, short_error
from signer.trust import TrustStore

# pyHanko logs every failed path build or suspicious diff with a traceback at WARNING/ERROR.
# Here those are expected outcomes that become findings; without this, an application that
# configured no logging would print them to stderr through logging's last-resort handler.
# Applications that do configure logging still receive them.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())
logging.getLogger("pyhanko_certvalidator").addHandler(logging.NullHandler())

# Modification levels a NO_CHANGES certification permits: none, or LTA maintenance
# (DSS updates and document timestamps), which PAdES B-LT/B-LTA need.
_ALLOWED_LEVELS = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)


_MODIFICATION_WORDS = {
    ModificationLevel.FORM_FILLING: "form fields were filled in or signatures were added",
    ModificationLevel.ANNOTATIONS: "annotations (comments, drawings, stamps) were added or changed",
    ModificationLevel.OTHER: "page content or document structure was changed",
}


_EXPIRED = {
    AdESIndeterminate.EXPIRED,
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
}


_REVOCATION_UNKNOWN = {
    AdESIndeterminate.TRY_LATER,
    AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.REVOKED_NO_POE,
    AdESIndeterminate.REVOKED_CA_NO_POE,
}


@dataclass(frozen=True)
class SealOutcome:
    """What the signature checks established about the seal, passed on to later checks."""

    report: SignatureReport
    embedded: EmbeddedPdfSignature
    trusted: bool
    signer_environment: Environment | None
    findings: tuple[Finding, ...]


def _to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _subject(cert: asn1_x509.Certificate | None) -> str | None:
    if cert is None:
        return None
    try:
        return _to_crypto(cert).subject.rfc4514_string()
    except ValueError:
        return cert.subject.human_friendly


def validation_context(trust: TrustStore) -> ValidationContext:
    # All environments' roots in one context: one validation pass, and the root the path ends
    # in tells the environment. Revocation: "hard-fail" means a certificate that names a CRL or
    # OCSP service we cannot consult fails; certificates naming none pass (B-B, demo PKI).
    # Empty crls/ocsps (not None) and no fetching: verification never goes on the network.
    return ValidationContext(
        trust_roots=[_to_asn1(c) for c in trust.all_roots()],
        allow_fetching=False,
        revocation_mode="hard-fail",
        crls=[],
        ocsps=[],
    )


def _junk_after_container(raw: bytes) -> bool:
    """True if non-zero bytes follow the CMS object inside /Contents.

    The /Contents hole is zero-padded and lies outside the signed range; parsers ignore what
    follows the DER object, so anything there is smuggled data (a known trick for hiding
    payloads or confusing other validators). Indefinite (BER) lengths are left to the parser.
    """
    if len(raw) < 2 or raw[1] == 0x80:
        return False
    if raw[1] < 0x80:
        end = 2 + raw[1]
    else:
        n = raw[1] & 0x7F
        end = 2 + n + int.from_bytes(raw[2:2 + n], "big")
    return any(raw[end:])


def _modification_finding(status, field: str) -> Finding | None:
    coverage = status.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return None
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: the seal {field!r} does not cover the whole document "
            f"(coverage {coverage.name if coverage else 'unknown'})",
        )
    diff = status.diff_result
    if isinstance(diff, SuspiciousModification):
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: content was added or replaced after the seal ({short_error(diff)})",
        )
    level = status.modification_level
    if level is None:
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            "changed after signing: later additions to the file could not be analysed",
        )
    if level not in _ALLOWED_LEVELS or status.docmdp_ok is False:
        words = _MODIFICATION_WORDS.get(level, level.name)
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: {words}, which the seal forbids",
        )
    return None


def _trust_finding(status, trust: TrustStore) -> Finding | None:
    if status.trusted:
        return None
    if status.revoked:
        return Finding(FindingKind.SEAL_CERTIFICATE, Verdict.INVALID, "the seal certificate has been revoked")
    indic = status.trust_problem_indic
    if indic in _EXPIRED:
        return Finding(
            FindingKind.SEAL_CERTIFICATE,
            Verdict.INDETERMINATE,
            "the seal certificate has expired and no timestamp proves the seal was made before that",
        )
    if indic == AdESIndeterminate.NOT_YET_VALID:
        return Finding(FindingKind.SEAL_CERTIFICATE, Verdict.INDETERMINATE, "the seal certificate is not valid yet")
    if indic in _REVOCATION_UNKNOWN:
        return Finding(
            FindingKind.SEAL_CERTIFICATE,
            Verdict.INDETERMINATE,
            "the revocation status of the seal certificate is not available",
        )
    if _issued_by_configured_root(status.signing_cert, trust):
        # The chain is ours, so something else is wrong with the certificate (key usage…).
        return Finding(
            FindingKind.SEAL_CERTIFICATE,
            Verdict.INDETERMINATE,
            "the seal certificate does not meet the requirements for sealing"
            + (f" ({indic.name})" if indic is not None else ""),
        )
    return Finding(FindingKind.UNTRUSTED, Verdict.INDETERMINATE, "sealed by an unknown or untrusted key")


def _issued_by_configured_root(cert: asn1_x509.Certificate, trust: TrustStore) -> bool:
    try:
        leaf = _to_crypto(cert)
    except ValueError:
        return False
    for root in trust.all_roots():
        try:
            leaf.verify_directly_issued_by(root)
            return True
        except Exception:  # name or signature mismatch: not issued by this root
            continue
    return False


def _signer_environment(status, trust: TrustStore) -> tuple[Environment | None, Finding | None]:
    """The environment of the root the path ends in, cross-checked with the policy OID."""
    path = status.validation_path
    if not status.trusted or path is None:
        return None, None
    try:
        root = _to_crypto(path[0])
    except (LookupError, ValueError):
        return None, None
    env = trust.environment_of_root(root)
    if env is None:
        return None, None
    try:
        policy_env = certificate_environment(_to_crypto(status.signing_cert))
    except PolicyError as e:
        return env, Finding(
            FindingKind.ENVIRONMENT_MISMATCH,
            Verdict.INVALID,
            f"environment mismatch: the seal chains to the {env.value} root but {e}",
        )
    if policy_env is not env:
        return env, Finding(
            FindingKind.ENVIRONMENT_MISMATCH,
            Verdict.INVALID,
            f"environment mismatch: the seal chains to the {env.value} root but its certificate "
            f"policy says {policy_env.value}",
        )
    return env, None


def _is_certification(embedded: EmbeddedPdfSignature, reader: PdfFileReader) -> MDPPerm | None:
    """The DocMDP level if `embedded` is the document's certification signature, else None."""
    info = read_certification_data(reader)
    if info is None:
        return None
    try:
        same = info.author_sig.get("/Contents") == embedded.sig_object.get("/Contents")
    except AttributeError:
        return None
    return info.permission if same else None


def _level(status, reader: PdfFileReader, later_timestamps: bool) -> str:
    if status.timestamp_validity is None:
        return "B-B"
    if "/DSS" not in reader.root:
        return "B-T"
    return "B-LTA" if later_timestamps else "B-LT"


def _revocation_word(status) -> str:
    if status.revoked:
        return "revoked"
    if status.trust_problem_indic in _REVOCATION_UNKNOWN:
        return "unavailable"
    # Our B-B seals carry no revocation data and the demo CA runs no CRL/OCSP service,
    # so nothing was checked; B-LT will report "good" from embedded revocation data.
    return "unchecked"


async def check_seal(
    embedded: EmbeddedPdfSignature,
    reader: PdfFileReader,
    vc: ValidationContext,
    trust: TrustStore,
    later_timestamps: bool,
) -> SealOutcome:
    field = embedded.field_name
    findings: list[Finding] = []
    status = await async_validate_pdf_signature(embedded, signer_validation_context=vc)
    if not status.intact:
        findings.append(Finding(
            FindingKind.BROKEN_SEAL,
            Verdict.INVALID,
            "the sealed bytes were changed: the document no longer matches its seal",
        ))
    elif not status.valid:
        findings.append(Finding(
            FindingKind.BROKEN_SEAL,
            Verdict.INVALID,
            "the seal's cryptographic signature is not valid (forged or corrupted)",
        ))
    if _junk_after_container(embedded.pkcs7_content):
        findings.append(Finding(
            FindingKind.BROKEN_SEAL,
            Verdict.INVALID,
            "the signature container carries extra data after the signature",
        ))
    modification = _modification_finding(status, field)
    if modification is not None:
        findings.append(modification)
    trust_problem = _trust_finding(status, trust)
    if trust_problem is not None:
        findings.append(trust_problem)
    signer_env, env_problem = _signer_environment(status, trust)
    if env_problem is not None:
        findings.append(env_problem)
    certification = _is_certification(embedded, reader)
    if status.trusted and certification is not MDPPerm.NO_CHANGES:
        findings.append(Finding(
            FindingKind.NOT_AN_ORIGINAL,
            Verdict.INDETERMINATE,
            "the seal is not a certification that forbids all changes, as certseal originals are",
        ))
    ts = status.timestamp_validity
    report = SignatureReport(
        field=field,
        signer=_subject(status.signing_cert),
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        coverage=status.coverage.name if status.coverage is not None else None,
        modifications=status.modification_level.name if status.modification_level is not None else None,
        certified=certification is not None,
        level=_level(status, reader, later_timestamps),
        signing_time=status.signer_reported_dt,
        timestamp=ts.timestamp if ts is not None else None,
        revocation=_revocation_word(status),
    )
    return SealOutcome(report, embedded, bool(status.trusted), signer_env, tuple(findings))


async def check_timestamp(embedded: EmbeddedPdfSignature, vc: ValidationContext) -> tuple[SignatureReport, list[Finding]]:
    """Document timestamps (PAdES B-LTA) that follow the seal."""
    findings: list[Finding] = []
    status = await async_validate_pdf_timestamp(embedded, validation_context=vc)
    if not (status.intact and status.valid):
        findings.append(Finding(FindingKind.BROKEN_SEAL, Verdict.INVALID, "a document timestamp is broken"))
    modification = _modification_finding(status, embedded.field_name)
    if modification is not None:
        findings.append(modification)
    if not status.trusted:
        findings.append(Finding(
            FindingKind.UNTRUSTED, Verdict.INDETERMINATE, "a document timestamp comes from an untrusted authority"
        ))
    report = SignatureReport(
        field=embedded.field_name,
        signer=_subject(status.signing_cert),
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        coverage=status.coverage.name if status.coverage is not None else None,
        modifications=status.modification_level.name if status.modification_level is not None else None,
        certified=False,
        level=None,
        signing_time=None,
        timestamp=status.timestamp,
        revocation=None,
    )
    return report, findings


def appended_after(embedded: EmbeddedPdfSignature, size: int) -> int:
    """Bytes in the file after the end of the seal's signed range (0 if none or unknown)."""
    try:
        _, _, start2, len2 = (int(x) for x in embedded.byte_range)
        return max(0, size - (start2 + len2))
    except (TypeError, ValueError):
        return 0
