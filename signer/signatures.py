"""Signature checks: what pyHanko establishes about the seal and any later signatures,
turned into a `SignatureReport` and findings.

One pyHanko validation pass per signature, against a `ValidationContext` holding every
configured root (the root a path ends in tells the signer environment), with the diff
analysis of later revisions always on. Certseal is stricter than pyHanko's bottom line:
after a NO_CHANGES certification only LTA maintenance (DSS, document timestamps) may follow.

Approval signatures (e.g. the CHED Part III follow-up): a seal certified with FILL_FORMS
(DocMDP P=2) reserves empty signature fields in its own signed revision. pyHanko's diff policy
classifies signing such a field as FORM_FILLING, but it classifies creating *and* signing a new
invisible signature field the same way, and would accept filling any other form field too; so
certseal allows FORM_FILLING only when every changed field is a reserved one that now holds a
signature checked here as an approval, and an approval anywhere else is a change after sealing.

When is a certificate checked (the long-term part, PAdES B-T … B-LTA):
- a seal without a timestamp (B-B) is checked at the verification time;
- a seal with a signature timestamp, or followed by document timestamps, is checked at the
  time of its earliest timestamp, with the revocation data embedded in the DSS (issued after
  that time is fine: "not revoked later" implies "not revoked then"). The timestamp proves
  the seal existed then, so a seal certificate that expired or whose CA closed since does not
  matter — that is what the long-term levels are for;
- every timestamp is checked at its own time the same way, and the *latest* timestamp's TSA
  certificate must still be valid at the verification time (otherwise the chain needs a
  fresh archive timestamp: `certseal extend`).
Embedded data only: no fetching unless the caller explicitly allows it.
"""
from __future__ import annotations

import binascii
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
    read_certification_data,
)
from pyhanko_certvalidator import ValidationContext

from renderers.environment import Environment
from signer._reverse_xref import TooManyPaths
from signer.policy import PolicyError, certificate_environment
from signer.report import Finding, FindingKind, SignatureReport, Verdict, short_error
from signer.timestamps import document_timestamp_time, signature_timestamp_time
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
    # Signature fields left empty in the seal's own revision: where approvals may go (P=2).
    reserved: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Role:
    """How findings name a signature: the seal, or an approval signature after it."""

    name: str  # SignatureReport.role
    what: str  # "the {what} certificate …"
    by: str  # "{by} by an unknown or untrusted key"


SEAL = _Role("seal", "seal", "sealed")
APPROVAL = _Role("approval", "approval signature", "approved")


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


@dataclass(frozen=True)
class EmbeddedValidationData:
    """Certificates, CRLs and OCSP responses from the document's DSS (PAdES B-LT)."""

    certs: tuple = ()
    crls: tuple = ()
    ocsps: tuple = ()

    @property
    def present(self) -> bool:
        return bool(self.crls or self.ocsps)


def read_validation_data(reader: PdfFileReader) -> EmbeddedValidationData:
    """The DSS contents, or nothing (a missing or unreadable DSS is not an error here: the
    certificates then simply lack revocation data, which the trust check reports)."""
    if "/DSS" not in reader.root:
        return EmbeddedValidationData()
    try:
        vc = DocumentSecurityStore.read_dss(reader).as_validation_context({"trust_roots": []})
        return EmbeddedValidationData(
            certs=tuple(vc.certificate_registry), crls=tuple(vc.crls), ocsps=tuple(vc.ocsps)
        )
    except Exception:
        return EmbeddedValidationData()


@dataclass(frozen=True)
class ValidationSettings:
    """Everything the trust checks need besides the signatures: roots, embedded data, when."""

    trust: TrustStore
    embedded: EmbeddedValidationData = EmbeddedValidationData()
    at: datetime | None = None  # verification time; None: now
    allow_fetching: bool = False
    # Contexts that may fetch hold an HTTP session each; `aclose` closes them.
    _fetching: list = field(default_factory=list, repr=False, compare=False)

    def context(self, moment: datetime | None = None) -> ValidationContext:
        # All environments' roots in one context: one validation pass, and the root the path
        # ends in tells the environment. Revocation: "hard-fail" means a certificate that names
        # a CRL or OCSP service we cannot consult fails; certificates naming none pass (B-B on
        # a plain PKI). No fetching unless allowed: verification stays off the network.
        when = moment or self.at
        vc = ValidationContext(
            trust_roots=[_to_asn1(c) for c in self.trust.all_roots()],
            other_certs=list(self.embedded.certs),
            allow_fetching=self.allow_fetching,
            revocation_mode="hard-fail",
            crls=list(self.embedded.crls),
            ocsps=list(self.embedded.ocsps),
            moment=when,
            best_signature_time=when,
            # Checking at a timestamp's time with data issued after it is the point of B-LT.
            retroactive_revinfo=moment is not None,
        )
        if self.allow_fetching:
            self._fetching.append(vc)
        return vc

    async def aclose(self) -> None:
        while self._fetching:
            await self._fetching.pop().aclose()

    @property
    def now(self) -> datetime:
        return self.at or datetime.now(timezone.utc)


def validation_context(trust: TrustStore) -> ValidationContext:
    """The plain context (verification time now, no embedded data), kept for callers."""
    return ValidationSettings(trust).context()


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


def _rewritten_contents_finding(what: str) -> Finding:
    return Finding(
        FindingKind.CHANGED_AFTER_SIGNING, Verdict.INVALID,
        f"changed after signing: the {what}'s signature bytes were rewritten in the file "
        "(the same signature, written differently)",
    )


def _contents_rewritten(embedded: EmbeddedPdfSignature) -> bool:
    """True if the file's /Contents hole is not the plain hex of the container, in one letter
    case (pyHanko writes upper case, other signers lower). Whitespace (a NUL is PDF whitespace)
    or a mixed case there reads back as the same container, outside the signed bytes: the
    signature still verifies, yet the file was changed after signing (and such bytes can carry
    hidden data)."""
    try:
        start, length, end, _ = (int(x) for x in embedded.byte_range)
        with embedded.reader.stream.getbuffer() as view:
            hole = bytes(view[start + length:end])
    except Exception:  # no readable byte range or stream: coverage findings say what is wrong
        return False
    plain = b"<" + binascii.hexlify(embedded.pkcs7_content) + b">"
    return hole not in (plain, plain.upper())


def reserved_fields(reader: PdfFileReader, seal: EmbeddedPdfSignature) -> frozenset[str]:
    """Names of the signature fields still empty in the seal's signed revision."""
    try:
        handler = reader.get_historical_resolver(seal.signed_revision)
        return frozenset(name for name, _, _ in enumerate_sig_fields(handler, filled_status=False))
    except Exception:  # unreadable form: nothing reserved, so any later signature is a change
        return frozenset()


def _approvals_only(status, approvals: frozenset[str]) -> bool:
    """FORM_FILLING made only of signing reserved fields that hold checked approvals."""
    diff = status.diff_result
    if status.modification_level is not ModificationLevel.FORM_FILLING or status.docmdp_ok is False:
        return False
    changed = getattr(diff, "changed_form_fields", None)
    return bool(approvals) and bool(changed) and set(changed) <= approvals


def _modification_finding(status, field: str, role: _Role = SEAL,
                          approvals: frozenset[str] = frozenset()) -> Finding | None:
    """`approvals`: reserved fields whose signing counts as allowed (see the module docstring)."""
    coverage = status.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return None
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: the {role.what} {field!r} does not cover the whole document "
            f"(coverage {coverage.name if coverage else 'unknown'})",
        )
    diff = status.diff_result
    if isinstance(diff, TooManyPaths):
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: what was added after the {role.what} could not be analysed ({diff})",
        )
    if isinstance(diff, SuspiciousModification):
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: content was added or replaced after the {role.what} ({short_error(diff)})",
        )
    level = status.modification_level
    if level is None:
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            "changed after signing: later additions to the file could not be analysed",
        )
    if _approvals_only(status, approvals):
        return None
    if level not in _ALLOWED_LEVELS or status.docmdp_ok is False:
        words = _MODIFICATION_WORDS.get(level, level.name)
        return Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: {words}, which the {role.what} forbids",
        )
    return None


def _trust_finding(status, trust: TrustStore, role: _Role = SEAL) -> Finding | None:
    if status.trusted:
        return None
    what = role.what
    if status.revoked:
        return Finding(FindingKind.SEAL_CERTIFICATE, Verdict.INVALID, f"the {what} certificate has been revoked")
    indic = status.trust_problem_indic
    if indic in _EXPIRED:
        return Finding(
            FindingKind.SEAL_CERTIFICATE,
            Verdict.INDETERMINATE,
            f"the {what} certificate has expired and no timestamp proves the {what} was made before that",
        )
    if indic == AdESIndeterminate.NOT_YET_VALID:
        return Finding(FindingKind.SEAL_CERTIFICATE, Verdict.INDETERMINATE, f"the {what} certificate is not valid yet")
    if indic in _REVOCATION_UNKNOWN:
        return Finding(
            FindingKind.SEAL_CERTIFICATE,
            Verdict.INDETERMINATE,
            f"the revocation status of the {what} certificate is not available",
        )
    if _issued_by_configured_root(status.signing_cert, trust):
        # The chain is ours, so something else is wrong with the certificate (key usage…).
        return Finding(
            FindingKind.SEAL_CERTIFICATE,
            Verdict.INDETERMINATE,
            f"the {what} certificate does not meet the requirements for sealing"
            + (f" ({indic.name})" if indic is not None else ""),
        )
    return Finding(FindingKind.UNTRUSTED, Verdict.INDETERMINATE, f"{role.by} by an unknown or untrusted key")


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


def _signer_environment(status, trust: TrustStore, role: _Role = SEAL) -> tuple[Environment | None, Finding | None]:
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
            f"environment mismatch: the {role.what} chains to the {env.value} root but {e}",
        )
    if policy_env is not env:
        return env, Finding(
            FindingKind.ENVIRONMENT_MISMATCH,
            Verdict.INVALID,
            f"environment mismatch: the {role.what} chains to the {env.value} root but its certificate "
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


def declares_revocation(cert: x509.Certificate) -> bool:
    """Whether the certificate names an OCSP responder or a CRL distribution point."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        if any(d.access_method == x509.AuthorityInformationAccessOID.OCSP for d in aia):
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        return True
    except x509.ExtensionNotFound:
        return False


def _level(has_signature_ts: bool, has_dss: bool, later_doc_timestamps: int) -> str:
    """PAdES baseline level from what the file holds. A document timestamp may stand in for
    the signature timestamp (EN 319 142-1 § 5.3), so an extended B-B counts from there."""
    time_proofs = int(has_signature_ts) + later_doc_timestamps
    if time_proofs == 0:
        return "B-B"
    if not has_dss:
        return "B-T"
    return "B-LTA" if time_proofs >= 2 and later_doc_timestamps >= 1 else "B-LT"


def _revocation_word(status, signer: x509.Certificate | None, unavailable: bool) -> str:
    if status.revoked:
        return "revoked"
    if unavailable or status.trust_problem_indic in _REVOCATION_UNKNOWN:
        return "unavailable"
    if signer is not None and declares_revocation(signer) and status.trusted:
        # hard-fail mode only trusts a certificate naming revocation services when its
        # status was established (from embedded data, or fetched when allowed)
        return "good"
    # A plain PKI names no revocation service: nothing to check, nothing checked.
    return "unchecked"


def _proof_time(embedded: EmbeddedPdfSignature, later_timestamps: list[EmbeddedPdfSignature]) -> datetime | None:
    """The earliest time a timestamp proves the seal existed (None for a bare B-B)."""
    times = [signature_timestamp_time(embedded)]
    times += [document_timestamp_time(ts) for ts in later_timestamps]
    known = [t for t in times if t is not None]
    return min(known) if known else None


async def _revocation_was_the_problem(embedded: EmbeddedPdfSignature, settings: ValidationSettings, moment) -> bool:
    """Re-check in soft-fail mode: if the seal is trusted then, only revocation data was missing."""
    vc = settings.context(moment)
    soft = ValidationContext(
        trust_roots=[_to_asn1(c) for c in settings.trust.all_roots()],
        other_certs=list(settings.embedded.certs),
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=vc.moment,
        retroactive_revinfo=True,
    )
    status = await async_validate_pdf_signature(embedded, signer_validation_context=soft)
    return bool(status.trusted)


def _expired_tsa(ts_status, settings: ValidationSettings) -> Finding | None:
    """The newest timestamp protects everything before it, so its TSA certificate must still
    be valid at the verification time; after that only a fresh archive timestamp helps."""
    if ts_status.signing_cert is None:
        return None
    try:
        tsa = _to_crypto(ts_status.signing_cert)
    except ValueError:
        return None
    if settings.now <= tsa.not_valid_after_utc:
        return None
    return Finding(
        FindingKind.SEAL_CERTIFICATE, Verdict.INDETERMINATE,
        f"the newest timestamp's authority certificate expired on {tsa.not_valid_after_utc:%Y-%m-%d}; "
        "the original needed a fresh archive timestamp (`certseal extend`) before then",
    )


def _timestamp_finding(status, role: _Role = SEAL) -> Finding | None:
    ts = status.timestamp_validity
    if ts is None:
        return None
    what = role.what
    if not ts.intact or not ts.valid:
        return Finding(FindingKind.BROKEN_SEAL, Verdict.INVALID,
                       f"the {what}'s timestamp does not match the {what} or is forged")
    if not ts.trusted:
        return Finding(FindingKind.SEAL_CERTIFICATE, Verdict.INDETERMINATE,
                       f"the {what}'s timestamp comes from an untrusted or unverifiable timestamp authority")
    return None


@dataclass(frozen=True)
class _Checked:
    """One signature's pyHanko status plus the findings common to every role."""

    status: object
    findings: list[Finding]
    signer_environment: Environment | None
    report: SignatureReport


async def _check_signature(
    embedded: EmbeddedPdfSignature,
    settings: ValidationSettings,
    later_timestamps: list[EmbeddedPdfSignature],
    role: _Role,
    approvals: frozenset[str],
) -> _Checked:
    field = str(embedded.field_name)  # a plain str: pyHanko's keeps the parsed PDF alive
    what = role.what
    findings: list[Finding] = []
    proof_time = _proof_time(embedded, later_timestamps)
    # With a timestamp, check the certificates when the timestamp says the signature was made.
    moment = proof_time if proof_time is not None and (settings.embedded.present or settings.allow_fetching) else None
    status = await async_validate_pdf_signature(embedded, signer_validation_context=settings.context(moment))
    if not status.intact:
        findings.append(Finding(
            FindingKind.BROKEN_SEAL,
            Verdict.INVALID,
            f"the {'sealed' if role is SEAL else 'signed'} bytes were changed: the document no longer "
            f"matches its {what}",
        ))
    elif not status.valid:
        findings.append(Finding(
            FindingKind.BROKEN_SEAL,
            Verdict.INVALID,
            f"the {what}'s cryptographic signature is not valid (forged or corrupted)",
        ))
    if _junk_after_container(embedded.pkcs7_content):
        findings.append(Finding(
            FindingKind.BROKEN_SEAL,
            Verdict.INVALID,
            "the signature container carries extra data after the signature",
        ))
    if _contents_rewritten(embedded):
        findings.append(_rewritten_contents_finding(what))
    modification = _modification_finding(status, field, role, approvals)
    if modification is not None:
        findings.append(modification)
    signer_cert = None
    try:
        signer_cert = _to_crypto(status.signing_cert) if status.signing_cert is not None else None
    except ValueError:
        pass
    revocation_unavailable = False
    if (
        not status.trusted and not status.revoked and status.intact and status.valid
        and signer_cert is not None and declares_revocation(signer_cert)
        and _issued_by_configured_root(status.signing_cert, settings.trust)
    ):
        revocation_unavailable = await _revocation_was_the_problem(embedded, settings, moment)
    if revocation_unavailable:
        findings.append(Finding(
            FindingKind.SEAL_CERTIFICATE,
            Verdict.INDETERMINATE,
            f"the revocation status of the {what} certificate is not available "
            + ("(the original carries no validation data: PAdES " + ("B-T" if proof_time else "B-B") + ")"
               if not settings.embedded.present else "(the embedded validation data does not cover it)"),
        ))
    else:
        trust_problem = _trust_finding(status, settings.trust, role)
        if trust_problem is not None:
            findings.append(trust_problem)
    ts_problem = _timestamp_finding(status, role)
    if ts_problem is not None:
        findings.append(ts_problem)
    elif status.timestamp_validity is not None and not later_timestamps:
        expired = _expired_tsa(status.timestamp_validity, settings)
        if expired is not None:
            findings.append(expired)
    signer_env, env_problem = _signer_environment(status, settings.trust, role)
    if env_problem is not None:
        findings.append(env_problem)
    ts = status.timestamp_validity
    report = SignatureReport(
        field=field,
        signer=_subject(status.signing_cert),
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        coverage=status.coverage.name if status.coverage is not None else None,
        modifications=status.modification_level.name if status.modification_level is not None else None,
        certified=False,
        level=_level(ts is not None, settings.embedded.present, len(later_timestamps)),
        signing_time=status.signer_reported_dt,
        timestamp=ts.timestamp if ts is not None else proof_time,
        revocation=_revocation_word(status, signer_cert, revocation_unavailable),
        role=role.name,
    )
    return _Checked(status, findings, signer_env, report)


async def check_seal(
    embedded: EmbeddedPdfSignature,
    reader: PdfFileReader,
    settings: ValidationSettings,
    later_timestamps: list[EmbeddedPdfSignature],
    *,
    later_fields: frozenset[str] = frozenset(),
) -> SealOutcome:
    """The seal: the document's certification. `later_fields`: the fields of the regular
    signatures after it; those in fields the seal reserved are approvals it may allow."""
    certification = _is_certification(embedded, reader)
    reserved = reserved_fields(reader, embedded) if certification is MDPPerm.FILL_FORMS else frozenset()
    checked = await _check_signature(embedded, settings, later_timestamps, SEAL, reserved & later_fields)
    findings = checked.findings
    if checked.status.trusted and not (
        certification is MDPPerm.NO_CHANGES or (certification is MDPPerm.FILL_FORMS and reserved)
    ):
        findings.append(Finding(
            FindingKind.NOT_AN_ORIGINAL,
            Verdict.INDETERMINATE,
            "the seal is not a certification that forbids all changes, as certseal originals are",
        ))
    report = replace(checked.report, certified=certification is not None)
    return SealOutcome(report, embedded, bool(checked.status.trusted), checked.signer_environment,
                       tuple(findings), reserved)


async def check_approval(
    embedded: EmbeddedPdfSignature,
    settings: ValidationSettings,
    later_timestamps: list[EmbeddedPdfSignature],
    *,
    seal: SealOutcome | None,
    later_fields: frozenset[str] = frozenset(),
    part: str | None = None,
) -> tuple[SignatureReport, Environment | None, list[Finding]]:
    """A regular signature after the seal. It is an approval only in a field the seal reserved
    (empty in the sealed revision, certification P=2); anywhere else it is a change after
    sealing. Returns its report, the environment its root names, and the findings."""
    reserved = seal.reserved if seal is not None else frozenset()
    checked = await _check_signature(embedded, settings, later_timestamps, APPROVAL, reserved & later_fields)
    findings = checked.findings
    field = str(embedded.field_name)  # a plain str: pyHanko's keeps the parsed PDF alive
    if seal is not None and field not in reserved:
        findings.append(Finding(
            FindingKind.CHANGED_AFTER_SIGNING,
            Verdict.INVALID,
            f"changed after signing: signature {field!r} was added in a field the seal did not reserve "
            "for an approval",
        ))
    # Only a signature in a reserved field is an approval; anything else is just "a signature".
    role = "approval" if field in reserved else "signature"
    report = replace(checked.report, role=role, part=part if field in reserved else None)
    return report, checked.signer_environment, findings


async def check_timestamp(
    embedded: EmbeddedPdfSignature, settings: ValidationSettings, *, latest: bool = False,
    approvals: frozenset[str] = frozenset(),
) -> tuple[SignatureReport, list[Finding]]:
    """Document timestamps (PAdES B-LTA) that follow the seal, each checked at its own time.
    `approvals`: reserved fields signed after it by approvals (checked on their own)."""
    findings: list[Finding] = []
    when = document_timestamp_time(embedded)
    moment = when if when is not None and (settings.embedded.present or settings.allow_fetching) else None
    status = await async_validate_pdf_timestamp(embedded, validation_context=settings.context(moment))
    if not (status.intact and status.valid):
        findings.append(Finding(FindingKind.BROKEN_SEAL, Verdict.INVALID, "a document timestamp is broken"))
    if _contents_rewritten(embedded):
        findings.append(_rewritten_contents_finding("document timestamp"))
    modification = _modification_finding(status, embedded.field_name, SEAL, approvals)
    if modification is not None:
        findings.append(modification)
    if not status.trusted:
        findings.append(Finding(
            FindingKind.UNTRUSTED, Verdict.INDETERMINATE, "a document timestamp comes from an untrusted authority"
        ))
    elif latest:
        expired = _expired_tsa(status, settings)
        if expired is not None:
            findings.append(expired)
    report = SignatureReport(
        field=str(embedded.field_name),
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
        role="timestamp",
    )
    return report, findings


def appended_after(embedded: EmbeddedPdfSignature, size: int) -> int:
    """Bytes in the file after the end of the seal's signed range (0 if none or unknown)."""
    try:
        _, _, start2, len2 = (int(x) for x in embedded.byte_range)
        return max(0, size - (start2 + len2))
    except (TypeError, ValueError):
        return 0
