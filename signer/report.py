"""The verification report: verdict, findings, and the two renderings (JSON dict, plain text).

The verdict is derived from the findings, never set separately: each finding carries the
verdict it forces, and the worst one wins (INVALID > INDETERMINATE > NO_LEGAL_VALUE > VALID).
A report with no findings is VALID. `to_dict()` produces exactly the keys promised in
DESIGN.md ("verify exit codes and report"); more may be added later, none removed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum, StrEnum
from typing import Any

from renderers.environment import Environment


class Verdict(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    INDETERMINATE = "INDETERMINATE"
    NO_LEGAL_VALUE = "NO_LEGAL_VALUE"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_EXIT_CODES = {
    Verdict.VALID: 0,
    Verdict.INVALID: 1,
    Verdict.INDETERMINATE: 2,
    Verdict.NO_LEGAL_VALUE: 3,
}
_SEVERITY = {
    Verdict.VALID: 0,
    Verdict.NO_LEGAL_VALUE: 1,
    Verdict.INDETERMINATE: 2,
    Verdict.INVALID: 3,
}


class FindingKind(Enum):
    """What a finding is about; picks the headline a border officer reads first."""

    UNREADABLE = "not a readable PDF file"
    UNSIGNED = "this document carries no seal"
    BROKEN_SEAL = "the sealed content was altered or the seal is forged"
    CHANGED_AFTER_SIGNING = "this document was changed after it was sealed"
    ENVIRONMENT_MISMATCH = "the document's environment markings contradict each other"
    EMBEDDED_DATA_MISMATCH = "the embedded certificate data does not match the visible document"
    UNTRUSTED = "it was sealed by an unknown or untrusted key"
    NOT_AN_ORIGINAL = "it is not a certseal original"
    SEAL_CERTIFICATE = "the seal certificate cannot be relied on"
    UNEXPECTED_ENVIRONMENT = "it was not issued in the expected environment"
    NO_LEGAL_VALUE = "it was issued for training or acceptance testing"


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    verdict: Verdict
    message: str


@dataclass(frozen=True)
class SignatureReport:
    field: str | None
    signer: str | None
    intact: bool
    trusted: bool
    coverage: str | None
    modifications: str | None
    certified: bool
    level: str | None
    signing_time: datetime | None
    timestamp: datetime | None
    revocation: str | None
    # "seal"; "approval" (a later signature in a field the seal reserved); "signature" (any
    # other later signature, a change); "timestamp" (document timestamp)
    role: str | None = None
    part: str | None = None  # approvals: the certificate part they sign, e.g. "III"

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "signer": self.signer,
            "intact": self.intact,
            "trusted": self.trusted,
            "coverage": self.coverage,
            "modifications": self.modifications,
            "certified": self.certified,
            "level": self.level,
            "signing_time": _iso(self.signing_time),
            "timestamp": _iso(self.timestamp),
            "revocation": self.revocation,
            "role": self.role,
            "part": self.part,
        }


@dataclass(frozen=True)
class EnvironmentReport:
    signer: Environment | None = None
    metadata: Environment | None = None
    watermark: Environment | None = None
    consistent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "signer": _env(self.signer),
            "metadata": _env(self.metadata),
            "watermark": _env(self.watermark),
            "consistent": self.consistent,
        }


@dataclass(frozen=True)
class EmbeddedDataReport:
    present: bool = False
    matches_visible: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"present": self.present, "matches_visible": self.matches_visible}


@dataclass(frozen=True)
class Report:
    file_sha256: str
    findings: tuple[Finding, ...] = ()
    reference: str | None = None
    environment: EnvironmentReport = field(default_factory=EnvironmentReport)
    signatures: tuple[SignatureReport, ...] = ()
    embedded_data: EmbeddedDataReport = field(default_factory=EmbeddedDataReport)

    @property
    def verdict(self) -> Verdict:
        return max((f.verdict for f in self.findings), key=lambda v: v.severity, default=Verdict.VALID)

    @property
    def reasons(self) -> list[str]:
        return [f.message for f in self.findings]

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def approvals(self) -> tuple[SignatureReport, ...]:
        return tuple(s for s in self.signatures if s.role == "approval")

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "reasons": self.reasons,
            "file_sha256": self.file_sha256,
            "reference": self.reference,
            "environment": self.environment.to_dict(),
            "signatures": [s.to_dict() for s in self.signatures],
            "embedded_data": self.embedded_data.to_dict(),
        }


def short_error(error: BaseException, limit: int = 300) -> str:
    """First line of an exception message, bounded: hostile files can produce huge messages."""
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _env(value: Environment | None) -> str | None:
    return value.value if value is not None else None


_VERDICT_WORDS = {
    Verdict.VALID: "VALID",
    Verdict.INVALID: "NOT VALID",
    Verdict.INDETERMINATE: "CANNOT BE CONFIRMED",
    Verdict.NO_LEGAL_VALUE: "NO LEGAL VALUE",
}


def headline(report: Report) -> str:
    verdict = report.verdict
    if verdict is Verdict.VALID:
        if report.approvals:
            return "VALID — original sealed and approved by trusted production keys, changed in no other way"
        return "VALID — untouched original, sealed by a trusted production key"
    worst = next(f for f in report.findings if f.verdict is verdict)
    return f"{_VERDICT_WORDS[verdict]} — {worst.kind.value}"


def render_text(report: Report) -> str:
    """A few lines for a border officer: verdict in words first, then who/when/what, then why."""
    lines = [headline(report)]
    main = report.signatures[0] if report.signatures else None
    if main is not None and main.signer:
        trust = "" if main.trusted else " (not a trusted certseal key)"
        lines.append(f"Sealed by:   {main.signer}{trust}")
    if main is not None and main.signing_time is not None:
        lines.append(f"Sealed on:   {main.signing_time.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    for approval in report.approvals:
        part = f" (Part {approval.part})" if approval.part else ""
        trust = "" if approval.trusted else " (not a trusted certseal key)"
        when = (f" on {approval.signing_time.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"
                if approval.signing_time is not None else "")
        lines.append(f"Approved{part}: by {approval.signer or 'an unknown signer'}{trust}{when}")
    if report.reference:
        lines.append(f"Reference:   {report.reference}")
    env = report.environment
    shown = env.signer or env.metadata or env.watermark
    if shown is not None:
        legal = "has legal value" if shown.has_legal_value else "NO legal value"
        lines.append(f"Environment: {shown.value} ({legal})")
    if report.findings:
        lines.append("Why:")
        lines.extend(f"  - {f.message}" for f in report.findings)
    lines.append(f"File SHA-256: {report.file_sha256}")
    return "\n".join(lines)
