"""The approving path (e.g. the CHED Part III follow-up): a sealed original + the follow-up
input → the original with its approval signature, audited like a seal.

Key, TSA and trust come from configuration per environment, as for sealing; every approval
(and every refusal to approve) appends one line to the hash-chained audit log.
"""
from __future__ import annotations

import json
from pathlib import Path

from renderers.errors import InputError
from service.config import ConfigError, EnvironmentConfig
from service.issuing import audit_fields, level_for, local_ca_services, record_audit, sealing_services
from signer.approval import ApprovalResult, approve_pdf
from signer.audit import AuditEntry, sha256_hex
from signer.errors import SealingError
from signer.follow_up import FollowUp, parse_follow_up
from signer.keys import SealKey
from signer.levels import Level
from signer.trust import TrustStore

MAX_FOLLOW_UP_BYTES = 64 << 10


def read_follow_up_file(path: Path) -> FollowUp:
    """The follow-up JSON file, validated; errors name the file and the key at fault."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_FOLLOW_UP_BYTES:
        raise InputError(str(path), f"larger than {MAX_FOLLOW_UP_BYTES >> 10} KiB; a follow-up is a few lines")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"not JSON: {exc}") from None
    try:
        return parse_follow_up(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc.field}", exc.message) from None


def approve_original(
    data: bytes,
    follow_up: FollowUp,
    key: SealKey,
    env_cfg: EnvironmentConfig,
    trust: TrustStore,
    *,
    level: str | Level | None = None,
    reference: str | None = None,
) -> ApprovalResult:
    """Sign the approval into `data` with the configured services and audit the outcome.
    `reference`: the document's, for the audit line of a refusal (known only after checks)."""
    chosen = level_for(env_cfg, level)
    base = audit_fields("approve", env_cfg, key, data, chosen, reference=reference, version=None)
    try:
        # The local CA's responders serve even at B-B: checking the original first may need them.
        with local_ca_services(env_cfg), sealing_services(env_cfg, chosen) as services:
            result = approve_pdf(data, key, follow_up, level=chosen, trust=trust, services=services)
    except (SealingError, ConfigError, InputError, OSError) as exc:
        record_audit(env_cfg, AuditEntry(**base, signed_sha256=None, tsa_time=None, outcome=f"refused: {exc}"))
        raise
    record_audit(env_cfg, AuditEntry(
        **{**base, "reference": result.reference or reference}, signed_sha256=sha256_hex(result.pdf),
        tsa_time=result.timestamp.isoformat() if result.timestamp else None, outcome="approved",
    ))
    return result
