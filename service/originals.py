"""Issuing the one original of a certificate version: durably, and never a second, different one.

`issue_original` is idempotent on (reference, version): whatever happens around it (a broker
redelivering, two workers racing, a worker killed at any instruction, a full or read-only
disk), every call for the same version returns the same bytes. The database decides, never a
check-then-act in Python: the registry's claim is an INSERT on the primary key.

The protocol (S = the sha256 of the sealed bytes):

1. registry row present and final (issued / replaced / cancelled) → return the stored original;
2. no row: render + seal + verify → store.put_pending(S) → registry.claim(S)
   - won  → store.promote(S) → registry.mark_issued(S) → done (created);
   - lost → if the winner's sha is S too, promote (same bytes, never discard the winner's
     copy); else discard our pending blob; then handle the winner's row (1 or 3);
3. row `claimed` (an attempt in flight, or dead) → its blob was stored *before* it claimed,
   so anyone may finish it: promote(S_winner) → mark_issued(S_winner) (both idempotent);
   if its blob is missing (it can only be lost, or on another store) and the claim is older
   than the hard time limit → seal anew and take the claim over (compare-and-set); a young
   one → InFlight (transient: retry later).

Crash analysis (SIGKILL, power loss) at each step, and what the next delivery finds:
- before put_pending returns: nothing, or a `.tmp-` file never visible under a blob name
  (swept when old) → starts over at 2;
- after put_pending, before the claim commits: an unclaimed pending blob (whole, verified;
  swept when old) → starts over at 2 with new bytes;
- after the claim, before promote: a claimed row whose blob is pending → 3 finishes it;
- after promote, before mark_issued: claimed row, blob promoted → 3 (promote is a no-op);
- after mark_issued: → 1, and the registry-derived work (replacements) is redone there.
No path writes a blob under its name that was not fsynced and read back first; no path
registers bytes that did not verify; no path returns bytes other than the registered ones.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from renderers.model import Certificate
from service.issue_input import IssueOptions, parse_issue_options, read_certificate
from service.lifecycle import settle_replacements
from service.registry import ClaimLost, RegistryEntry, RegistryError, Status
from service.services import Services, open_services
from service.store import StoreCorrupt, StoreError, StoreNotFound
from signer.errors import SealingError
from signer.report import Verdict

__all__ = [
    "Conflict",
    "InFlight",
    "IssuedRecord",
    "OriginalRejected",
    "Services",
    "issue_original",
    "open_services",
]

log = logging.getLogger(__name__)

# Each round follows a change of the registry row made by someone else (a lost claim, a lost
# take-over); more than a few in one call means a storm of racers: let the caller retry.
_MAX_ROUNDS = 4


class InFlight(RegistryError):
    """Another attempt holds a fresh claim on this version and its blob is not visible yet."""

    def __init__(self, message: str, *, reference: str, version: int) -> None:
        super().__init__(message, reference=reference, version=version, transient=True)


class Conflict(RegistryError):
    """This version was already issued from different certificate data: a change needs a new
    version. Never transient."""


class OriginalRejected(SealingError):
    """The freshly sealed bytes do not verify as an original of their environment should
    (e.g. the environment's trust roots are not configured): nothing was stored or registered."""

    def __init__(self, message: str, *, verdict: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.reasons = reasons


@dataclass(frozen=True)
class IssuedRecord:
    reference: str
    version: int
    sha256: str
    uri: str
    verdict: str  # from verifying the stored bytes
    created: bool  # True only for the call whose bytes became the original
    status: str = Status.ISSUED.value  # issued / replaced / cancelled, as the registry has it now

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def issue_original(certificate: dict | bytes, options: dict | None, *, services: Services) -> IssuedRecord:
    """Render, seal, store durably and register the original of `certificate` — or return the
    one already registered for its (reference, version), byte for byte.

    Raises InputError (bad certificate or options), Conflict (version already issued from other
    data), OriginalRejected / SealingError / ConfigError (cannot seal), and StoreError /
    RegistryError / InFlight whose `transient` says whether retrying later may help."""
    cert = read_certificate(certificate)
    opts = parse_issue_options(options)
    for _ in range(_MAX_ROUNDS):
        entry = services.registry.get(cert.reference, cert.version)
        if entry is None:
            record = _issue_new(cert, opts, services)
        elif entry.status is Status.CLAIMED:
            record = _resume(cert, opts, entry, services)
        else:
            return _existing(cert, entry, services)
        if record is not None:
            return record
    raise InFlight(f"{cert.reference} version {cert.version}: other attempts keep changing its registry row; "
                   "retry later", reference=cert.reference, version=cert.version)


# -- the steps --------------------------------------------------------------------------------

def _issue_new(cert: Certificate, opts: IssueOptions, services: Services) -> IssuedRecord | None:
    pdf, verdict = _seal_checked(cert, opts, services)
    sha = services.store.put_pending(pdf)
    # If the claim's outcome is unknown (exception), the pending blob stays: if the claim did
    # commit, finishing it needs the blob; if not, the sweep removes it once it is old.
    claim = services.registry.claim(cert.reference, cert.version, sha, environment=cert.environment.value,
                                    model=cert.model.id, owner=services.owner)
    if claim.won:
        return _complete(cert, sha, verdict, services)
    _drop_loser(sha, claim.entry, services)
    return None


def _resume(cert: Certificate, opts: IssueOptions, entry: RegistryEntry, services: Services) -> IssuedRecord | None:
    """A claimed row: finish it if its blob is in the store, else take it over once stale."""
    try:
        uri = services.store.promote(entry.sha256)
    except (StoreNotFound, StoreCorrupt) as exc:
        return _take_over(cert, opts, entry, services, why=str(exc))
    try:
        done = services.registry.mark_issued(cert.reference, cert.version, entry.sha256, uri)
    except ClaimLost:
        return None  # taken over meanwhile: look again
    log.info("%s version %s: finished the claim of %s (sha256 %s)", cert.reference, cert.version,
             entry.claim_owner, entry.sha256)
    return _existing(cert, done, services)


def _take_over(cert: Certificate, opts: IssueOptions, entry: RegistryEntry, services: Services,
               *, why: str) -> IssuedRecord | None:
    ref, ver = cert.reference, cert.version
    claimed_at = entry.claimed_at or entry.created_at
    age = (datetime.now(UTC) - claimed_at).total_seconds()
    if age < services.stale_claim_seconds:
        raise InFlight(f"{ref} version {ver} is being issued by {entry.claim_owner} (claimed {age:.0f} s ago, "
                       f"its blob is not in the store yet: {why}); retry later", reference=ref, version=ver)
    log.warning("%s version %s: the claim of %s is %.0f s old and its blob is gone (%s): taking it over",
                ref, ver, entry.claim_owner, age, why)
    pdf, verdict = _seal_checked(cert, opts, services)
    sha = services.store.put_pending(pdf)
    # The database clock decides staleness (compare-and-set); ours only saved a useless render.
    if services.registry.take_over_stale_claim(ref, ver, older_than_seconds=services.stale_claim_seconds,
                                               new_sha256=sha, owner=services.owner):
        return _complete(cert, sha, verdict, services)
    current = services.registry.get(ref, ver)
    if current is not None:
        _drop_loser(sha, current, services)
    if current is not None and current.claim_token == entry.claim_token and current.status is Status.CLAIMED:
        raise InFlight(f"{ref} version {ver}: the registry does not consider the claim of {entry.claim_owner} "
                       "stale yet; retry later", reference=ref, version=ver)
    return None


def _complete(cert: Certificate, sha: str, verdict: str, services: Services) -> IssuedRecord | None:
    """We hold the claim for `sha`: make the blob an object, then the row `issued`."""
    uri = services.store.promote(sha)
    try:
        entry = services.registry.mark_issued(cert.reference, cert.version, sha, uri)
    except ClaimLost:
        # Only if our claim was taken over as stale, i.e. we outlived the hard time limit:
        # our object is an orphan (never returned); the winner's row decides.
        log.error("%s version %s: our claim was taken over; %s is an orphan", cert.reference, cert.version, sha)
        return None
    services.remember_verdict(sha, verdict)
    settle_replacements(cert, services.registry)
    return _record(entry, verdict, created=True)


def _existing(cert: Certificate, entry: RegistryEntry, services: Services) -> IssuedRecord:
    """The registered original, read back (hash-checked) and verified."""
    try:
        data = services.store.get(entry.sha256)
    except StoreNotFound:
        # Never re-issue here: that would make a second, different original.
        raise StoreError(f"{entry.reference} version {entry.version} is registered as {entry.status} with sha256 "
                         f"{entry.sha256}, but the store {services.store!r} does not have it (lost, or another "
                         "store is configured)", transient=False) from None
    _check_same_certificate(cert, data, entry)
    verdict = services.remembered_verdict(entry.sha256)
    if verdict is None:
        verdict = services.verify(data).verdict.value
        services.remember_verdict(entry.sha256, verdict)
    if entry.status is Status.ISSUED:
        settle_replacements(cert, services.registry)  # redone after a crash right after mark_issued
    return _record(entry, verdict, created=False)


def _drop_loser(sha: str, winner: RegistryEntry, services: Services) -> None:
    """Our pending blob lost the claim. Same bytes as the winner's → promote (discarding would
    delete the winner's copy: pending names are content addresses); else discard it."""
    if winner.sha256 == sha:
        if winner.status is not Status.CLAIMED:
            services.store.promote(sha)  # the object is there already: this only drops our copy
        return
    try:
        services.store.discard_pending(sha)
    except StoreError as exc:
        # Only tidying: the answer is the winner's original either way; the sweep retries.
        log.warning("cannot discard the losing blob %s: %s", sha, exc)


# -- checks -----------------------------------------------------------------------------------

def _seal_checked(cert: Certificate, opts: IssueOptions, services: Services) -> tuple[bytes, str]:
    """Render + seal, then verify the bytes before anything is stored: an original that does
    not verify as its environment's should is never registered (it could never be replaced
    by a good one for the same version). The store returns exactly these bytes (content
    addressed, hash-checked on read), so this is the verdict of the stored original."""
    pdf = services.seal(cert, opts.level)
    report = services.check_sealed(pdf)
    expected = Verdict.VALID if cert.environment.has_legal_value else Verdict.NO_LEGAL_VALUE
    if report.verdict is not expected:
        raise OriginalRejected(
            f"{cert.reference} version {cert.version}: the sealed original verifies as {report.verdict.value}, "
            f"not {expected.value}: {'; '.join(report.reasons)} (are the {cert.environment.value} trust roots "
            "configured?); nothing was stored",
            verdict=report.verdict.value, reasons=list(report.reasons))
    return pdf, report.verdict.value


def _check_same_certificate(cert: Certificate, data: bytes, entry: RegistryEntry) -> None:
    """A repeat must carry the certificate data the original was sealed from (embedded in it as
    certificate.json); anything else would silently answer a changed certificate with the old
    original."""
    try:
        embedded = embedded_certificate(data)
        same = embedded is not None and json.loads(embedded) == json.loads(cert.source_json)
    except Exception as exc:  # noqa: BLE001 - our own original; a reader quirk must not block repeats
        log.warning("%s version %s: cannot compare with the stored original's data: %s",
                    entry.reference, entry.version, exc)
        return
    if not same:
        raise Conflict(f"{entry.reference} version {entry.version} was already issued (sha256 {entry.sha256}) from "
                       "different certificate data; a changed certificate needs a new version",
                       reference=entry.reference, version=entry.version)


def embedded_certificate(data: bytes) -> bytes | None:
    """The certificate.json a sealed original carries (what it was sealed from)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    from signer.metadata import read_embedded_file

    return read_embedded_file(PdfFileReader(BytesIO(data), strict=False))


def _record(entry: RegistryEntry, verdict: str, *, created: bool) -> IssuedRecord:
    return IssuedRecord(reference=entry.reference, version=entry.version, sha256=entry.sha256,
                        uri=entry.uri or "", verdict=verdict, created=created, status=entry.status.value)
