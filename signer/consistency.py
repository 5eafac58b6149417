"""Cross-checks between what the seal, the metadata, the pages and the embedded data say.

Pure functions over values the verifier already extracted; each returns its part of the
report and the findings it implies.
"""
from __future__ import annotations

from renderers.environment import Environment
from signer.metadata import DocumentReadError, MetadataLabels, parse_embedded_data, read_embedded_file
from signer.report import (
    EmbeddedDataReport,
    EnvironmentReport,
    Finding,
    FindingKind,
    SignatureReport,
    Verdict,
    short_error,
)
from signer.visible import WatermarkFinding, text_contains

def _shown(label) -> str:
    """A label as a person reads it; None is what Info and XMP give when they disagree."""
    return "no consistent value" if label is None else str(label)


def label_drift(sealed: MetadataLabels, latest: MetadataLabels) -> Finding | None:
    """pyHanko's diff policy accepts Info/XMP rewrites as harmless maintenance; for certseal
    these labels are evidence, so any change to them after sealing invalidates the document."""
    changed = [
        f"{name} {_shown(getattr(latest, name))} (sealed as {_shown(getattr(sealed, name))})"
        for name in ("environment", "reference", "model")
        if getattr(sealed, name) != getattr(latest, name)
    ]
    if not changed:
        return None
    return Finding(
        FindingKind.CHANGED_AFTER_SIGNING, Verdict.INVALID,
        "changed after signing: the document metadata now names " + "; ".join(changed),
    )


def environment_findings(
    signer_env: Environment | None,
    labels: MetadataLabels,
    marks: WatermarkFinding | None,
) -> tuple[EnvironmentReport, list[Finding]]:
    findings: list[Finding] = []

    def mismatch(message: str) -> None:
        findings.append(Finding(FindingKind.ENVIRONMENT_MISMATCH, Verdict.INVALID, f"environment mismatch: {message}"))

    for conflict in labels.conflicts:
        mismatch(conflict)
    watermark = marks.environment if marks is not None else None
    if marks is not None and len(marks.environments) > 1:
        mismatch("the pages carry watermarks of several environments ("
                 + ", ".join(sorted(e.value for e in marks.environments)) + ")")
    # The reference environment: the signer if known, otherwise what the metadata claims.
    claimed = signer_env or labels.environment
    if signer_env is not None and labels.environment is None and not labels.conflicts:
        mismatch(f"sealed with the {signer_env.value} key but the metadata names no environment")
    if signer_env is not None and labels.environment is not None and labels.environment is not signer_env:
        mismatch(f"sealed with the {signer_env.value} key but the metadata says {labels.environment.value}")
    if claimed is not None and marks is not None:
        if claimed.has_legal_value and marks.environments:
            mismatch(f"a {claimed.value} document carries a "
                     + "/".join(sorted(e.value for e in marks.environments)) + " watermark")
        elif not claimed.has_legal_value:
            if watermark is not None and watermark is not claimed:
                mismatch(f"a {claimed.value} document carries a {watermark.value} watermark")
            elif not marks.environments:
                mismatch(f"a {claimed.value} document carries no {claimed.value} watermark")
            elif marks.pages_without:
                pages = ", ".join(str(p) for p in marks.pages_without)
                mismatch(f"the {claimed.value} watermark is missing on page(s) {pages}")
    # claimed is None with a watermark: only the watermark speaks; nothing to contradict it.
    report = EnvironmentReport(
        signer=signer_env,
        metadata=labels.environment,
        watermark=watermark,
        consistent=not findings and claimed is not None,
    )
    return report, findings


def embedded_data_findings(
    handler, labels: MetadataLabels, page_texts: list[str] | None, claims_certseal: bool
) -> tuple[EmbeddedDataReport, list[Finding]]:
    def mismatch(message: str) -> Finding:
        return Finding(FindingKind.EMBEDDED_DATA_MISMATCH, Verdict.INVALID, message)

    try:
        raw = read_embedded_file(handler)
    except (DocumentReadError, KeyError, TypeError, ValueError) as e:
        return EmbeddedDataReport(True, False), [mismatch(f"the embedded certificate data cannot be read: {short_error(e)}")]
    if raw is None:
        if claims_certseal:
            return EmbeddedDataReport(False, None), [Finding(
                FindingKind.NOT_AN_ORIGINAL, Verdict.INDETERMINATE,
                "the document carries no embedded certificate data (certificate.json)",
            )]
        return EmbeddedDataReport(False, None), []
    try:
        data = parse_embedded_data(raw)
    except DocumentReadError as e:
        return EmbeddedDataReport(True, False), [mismatch(short_error(e))]
    problems: list[Finding] = []
    if data.reference is None or data.reference != labels.reference:
        problems.append(mismatch(
            f"the embedded certificate data names reference {data.reference!r}, "
            f"the document metadata {labels.reference!r}"
        ))
    if data.environment is None or data.environment.lower() != (labels.environment.value if labels.environment else None):
        problems.append(mismatch(
            f"the embedded certificate data names environment {data.environment!r}, the document metadata "
            f"{labels.environment.value if labels.environment else None!r}"
        ))
    if page_texts is not None and data.reference and not text_contains(page_texts, data.reference):
        problems.append(mismatch(f"the reference {data.reference} does not appear in the visible document"))
    if page_texts is None:
        return EmbeddedDataReport(True, None if not problems else False), problems
    return EmbeddedDataReport(True, not problems), problems


def expectation_findings(document_env: Environment | None, expect_env: Environment | None) -> list[Finding]:
    if document_env is None:
        return []
    findings: list[Finding] = []
    if not document_env.has_legal_value:
        findings.append(Finding(
            FindingKind.NO_LEGAL_VALUE, Verdict.NO_LEGAL_VALUE,
            f"issued in the {document_env.value} environment: it has no legal value",
        ))
    if expect_env is not None and expect_env is not document_env:
        if document_env.has_legal_value:
            findings.append(Finding(
                FindingKind.UNEXPECTED_ENVIRONMENT, Verdict.INDETERMINATE,
                f"a {expect_env.value} document was expected, but this is a real production original",
            ))
        else:
            findings.append(Finding(
                FindingKind.UNEXPECTED_ENVIRONMENT, Verdict.NO_LEGAL_VALUE,
                f"a {expect_env.value} document was expected, but this one was issued in {document_env.value}",
            ))
    return findings


def approval_environment_findings(
    seal_env: Environment | None, approvals: list[tuple[SignatureReport, Environment | None]]
) -> list[Finding]:
    """An approval must come from a key of the seal's own environment: a training key's
    "approval" on a production original (or the reverse) is a forgery of the follow-up.
    Untrusted approvals are findings of the signature checks already."""
    findings: list[Finding] = []
    if seal_env is None:
        return findings
    for report, env in approvals:
        if env is not None and env is not seal_env:
            part = f" (Part {report.part})" if report.part else ""
            findings.append(Finding(
                FindingKind.ENVIRONMENT_MISMATCH, Verdict.INVALID,
                f"environment mismatch: sealed with the {seal_env.value} key but approved{part} "
                f"with the {env.value} key",
            ))
    return findings
