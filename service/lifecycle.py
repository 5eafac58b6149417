"""After issue: replacements, cancellations, and what the registry says about a verified file.

The registry keeps one row per (reference, version): issued → replaced | cancelled. Two ways
a certificate supersedes another, both recorded when the new original is issued (and redone
by any repeat of that issue, so a crash between the two steps heals itself):
- a newer version of the same reference replaces every older issued version;
- a certificate whose `replaces` names another reference replaces that reference's issued
  versions (TRACES replacement certificates get a reference of their own).
"""
from __future__ import annotations

import logging
from typing import Any

from renderers.model import Certificate
from service.registry import Registry, RegistryEntry, RegistryError, Status
from signer.report import Verdict

log = logging.getLogger(__name__)


class NotRegistered(RegistryError):
    """No original is registered for that (reference, version). Never transient."""


def settle_replacements(cert: Certificate, registry: Registry) -> None:
    issued = [e for e in registry.versions(cert.reference) if e.status is Status.ISSUED]
    if not issued:
        return  # our own version was replaced or cancelled meanwhile: nothing to point at
    newest = max(issued, key=lambda e: e.version)
    for entry in issued:
        if entry is not newest:
            _replace(registry, entry, newest)
    if cert.replaces:
        for entry in registry.versions(cert.replaces):
            if entry.status is Status.ISSUED:
                _replace(registry, entry, newest)


def _replace(registry: Registry, old: RegistryEntry, new: RegistryEntry) -> None:
    try:
        registry.replace(old.reference, old.version, new.version, new_reference=new.reference)
    except RegistryError as exc:
        if exc.transient:
            raise
        # E.g. a production certificate naming a training one: the new original stands, the
        # old one keeps its status; an operator can read why in the log.
        log.warning("%s version %s not marked replaced by %s version %s: %s",
                    old.reference, old.version, new.reference, new.version, exc)


def cancel_original(reference: str, version: int, registry: Registry) -> RegistryEntry:
    """issued → cancelled (again: a no-op). A version still being issued raises a transient
    error (retry once it is issued); an unknown one NotRegistered."""
    from service.originals import InFlight

    entry = registry.get(reference, version)
    if entry is None:
        raise NotRegistered(f"{reference} version {version} is not registered", reference=reference, version=version)
    if entry.status is Status.CLAIMED:
        raise InFlight(f"{reference} version {version} is being issued; cancel it once it is issued",
                       reference=reference, version=version)
    return registry.cancel(reference, version)


def status_dict(entry: RegistryEntry) -> dict[str, Any]:
    replaced_by = entry.replaced_by
    return {
        "reference": entry.reference,
        "version": entry.version,
        "status": entry.status.value,
        "sha256": entry.sha256,
        "environment": entry.environment,
        "issued_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
        "replaced_by": {"reference": replaced_by[0], "version": replaced_by[1]} if replaced_by else None,
    }


def with_registry_status(report: dict[str, Any], registry: Registry) -> dict[str, Any]:
    """The verify report plus a `registry` key: is this file (by its sha256) a registered
    original, and is it still the current one? A replaced or cancelled original is INVALID
    however intact its seal: a border officer must not accept it."""
    entry = registry.find_by_sha256(report["file_sha256"]) if report.get("file_sha256") else None
    if entry is None or entry.status is Status.CLAIMED:
        return {**report, "registry": {"found": False}}
    result = {**report, "registry": {"found": True, **status_dict(entry)}}
    since = entry.updated_at.date().isoformat()
    reason = None
    if entry.status is Status.REPLACED and entry.replaced_by:
        reason = (f"the registry records this original as replaced by {entry.replaced_by[0]} version "
                  f"{entry.replaced_by[1]} (since {since}); only the replacement counts")
    elif entry.status is Status.CANCELLED:
        reason = f"the registry records this original as cancelled (since {since}); it no longer counts"
    if reason is not None:
        result["reasons"] = [*report.get("reasons", []), reason]
        result["verdict"] = Verdict.INVALID.value
    return result
