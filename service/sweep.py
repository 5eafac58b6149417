"""Tidying the store after crashes: what a killed attempt may leave, and only that.

A killed writer leaves at most a `.tmp-` file (never visible under a blob name); a worker
killed between writing its blob and claiming leaves an unclaimed pending blob; a racer that
lost leaves one if it died before discarding. Anything younger than `older_than_seconds` may
belong to an attempt still running (give at least the stale-claim age), so it is left alone.
A pending blob the registry knows is never deleted: a claimed one is what finishing that
claim needs, an issued one is promoted (which only drops the duplicate copy).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from service.registry import Status
from service.services import Services
from service.store import LocalStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    temp_files: int = 0
    orphans: int = 0  # unclaimed pending blobs removed
    promoted: int = 0  # stray pending copies of registered originals, dropped by promote

    def __bool__(self) -> bool:
        return bool(self.temp_files or self.orphans or self.promoted)


def sweep_store(services: Services, *, older_than_seconds: float) -> SweepReport:
    store = services.store
    if not isinstance(store, LocalStore):
        return SweepReport()
    temp = store.sweep_temp_files(older_than_seconds)
    if (store.root / "previews").is_dir():
        temp += LocalStore(store.root / "previews").sweep_temp_files(older_than_seconds)
    limit = time.time() - older_than_seconds
    orphans = promoted = 0
    for sha in store.list_pending():
        try:
            if store.pending_path(sha).stat().st_mtime >= limit:
                continue
        except FileNotFoundError:
            continue
        entry = services.registry.find_by_sha256(sha)
        if entry is None:
            store.discard_pending(sha)
            orphans += 1
        elif entry.status is not Status.CLAIMED:
            store.promote(sha)
            promoted += 1
    report = SweepReport(temp, orphans, promoted)
    if report:
        log.info("store %s swept: %s", store.root, report)
    return report
