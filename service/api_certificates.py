"""Certificate input over HTTP, and the registry's answer for a reference.

`/render` and `/issue` take what the worker task takes: a JSON certificate, or UN/CEFACT SPS
XML, read by `service.issue_input.read_certificate`. Parsing is not rendering: the environment
must be known before the caller's token is checked against it, and nothing is rendered or
sealed before that check passes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from renderers.errors import InputError
from renderers.model import Certificate

JSON_TYPES = ("application/json",)
XML_TYPES = ("application/xml", "text/xml")


@dataclass(frozen=True)
class CertificateInput:
    certificate: Certificate
    # What the issuing path receives: the decoded JSON object, or the XML bytes as sent.
    payload: dict[str, Any] | bytes


def parse_certificate_body(raw: bytes, media_type: str) -> CertificateInput:
    from service.issue_input import read_certificate

    if not raw:
        raise HTTPException(400, "empty body: send the certificate as application/json or application/xml")
    try:
        if media_type in JSON_TYPES or media_type.endswith("+json"):
            payload: dict[str, Any] | bytes = _json_object(raw)
        elif media_type in XML_TYPES or media_type.endswith("+xml"):
            payload = raw
        else:
            raise HTTPException(415, "send the certificate as application/json (or SPS XML as application/xml)")
        return CertificateInput(read_certificate(payload), payload)
    except InputError as exc:
        raise HTTPException(422, {"field": exc.field, "message": exc.message}) from None
    except RecursionError:
        raise HTTPException(422, {"field": "$", "message": "the input is nested too deeply"}) from None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("$", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError("$", "the certificate must be a JSON object")
    return data


# --- the registry's view of a reference -------------------------------------------------------

PUBLIC_STATUSES = ("issued", "replaced", "cancelled")


def status_document(reference: str, entries: list[Any]) -> dict[str, Any]:
    """What anyone holding the QR code may learn: per version its status, environment, digest
    and dates. In-flight claims (not yet an original) and worker bookkeeping stay private."""
    versions = []
    for entry in sorted(entries, key=lambda e: e.version):
        status = str(getattr(entry.status, "value", entry.status))
        if status not in PUBLIC_STATUSES:
            continue
        replaced_by = entry.replaced_by
        versions.append({
            "version": entry.version,
            "status": status,
            "environment": entry.environment,
            "model": entry.model,
            "sha256": entry.sha256,
            "issued_at": entry.created_at.isoformat() if entry.created_at else None,
            "updated_at": entry.updated_at.isoformat() if entry.updated_at else None,
            "replaced_by": {"reference": replaced_by[0], "version": replaced_by[1]} if replaced_by else None,
        })
    current = next((v for v in reversed(versions) if v["status"] == "issued"), None)
    latest = versions[-1]["status"] if versions else None
    return {
        "reference": reference,
        "found": bool(versions),
        # The reference's standing is that of its latest version: "issued" while a valid
        # original exists; "replaced" / "cancelled" once the last one was superseded / withdrawn.
        "status": "issued" if current is not None else latest,
        "current_version": current["version"] if current else None,
        # A training / acceptance original is issued, but has no legal value: the page says so.
        "current_environment": current["environment"] if current else None,
        "versions": versions,
    }
