"""service.originals: one original per (reference, version), whatever happens around the call.

Sealing is faked (see tests/_originals_helpers.py); the store, the registry (SQLite and the
machine's PostgreSQL), the processes and the SIGKILLs are real.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from renderers.errors import InputError
from service.lifecycle import NotRegistered, cancel_original, with_registry_status
from service.originals import Conflict, InFlight, IssuedRecord, OriginalRejected, issue_original
from service.registry import Status, open_registry
from service.store import LocalStore, StoreError
from service.sweep import sweep_store
from signer.report import Verdict
from _originals_helpers import (
    FakeServices,
    assert_store_clean,
    certificate,
    pg_schema_url,
    reference,
)

pytestmark = pytest.mark.usefixtures("fake_embedding")
from _originals_helpers import fake_embedding  # noqa: E402,F401 - the fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'registry.db'}"
    else:
        yield from pg_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'registry.db'}"


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


def services(store_root: Path, url: str, **kw) -> FakeServices:
    return FakeServices(store_root, url, **kw)


def registered(url: str, refs: list[tuple[str, int]]) -> dict[str, str]:
    reg = open_registry(url)
    try:
        rows = {ref: reg.get(*ref) for ref in refs}
    finally:
        reg.close()
    assert all(r is not None and r.status is Status.ISSUED for r in rows.values()), rows
    return {r.sha256: f"{k}" for k, r in rows.items()}  # type: ignore[union-attr]


# -- the plain path ------------------------------------------------------------------------------


def test_issue_then_repeat_returns_the_same_original(store_root: Path, registry_url: str) -> None:
    s = services(store_root, registry_url)
    first = issue_original(certificate(1), {}, services=s)
    assert isinstance(first, IssuedRecord) and first.created and first.status == "issued"
    assert (first.reference, first.version, first.verdict) == (reference(1), 1, "NO_LEGAL_VALUE")
    assert LocalStore(store_root).get_uri(first.uri) == s.store.get(first.sha256)
    assert s.registry.get(reference(1), 1).sha256 == first.sha256

    again = issue_original(certificate(1), {"level": "B-B"}, services=s)
    assert again == IssuedRecord(**{**first.to_dict(), "created": False})
    assert s.seals == 1, "a repeat never seals again"
    # Another process's services (no verdict cache) answer the same, byte for byte.
    other = services(store_root, registry_url)
    assert issue_original(certificate(1), None, services=other).sha256 == first.sha256 and other.seals == 0
    prod = issue_original(certificate(2, env="production"), {}, services=s)
    assert prod.verdict == "VALID"
    assert_store_clean(store_root, registered(registry_url, [(reference(1), 1), (reference(2), 1)]))


def test_bad_input_and_options_fail_before_anything_happens(store_root: Path, sqlite_url: str) -> None:
    s = services(store_root, sqlite_url)
    cases = [
        (dict(certificate(1), version="2"), {}, "version"),
        (certificate(1), {"key": "pkcs12:/etc/seal.p12"}, "options.key"),
        (certificate(1), {"key_passphrase": "secret"}, "options.key_passphrase"),
        (certificate(1), {"pin": "1234"}, "options.pin"),
        (certificate(1), {"colour": "red"}, "options.colour"),
        (certificate(1), {"level": "B-XL"}, "options.level"),
        (certificate(1), ["level"], "options"),
        (b"<not-sps/>", {}, None),
        (b"{not json", {}, "$"),
    ]
    for cert, options, field in cases:
        with pytest.raises(InputError) as info:
            issue_original(cert, options, services=s)
        if field is not None:
            assert info.value.field == field, info.value
    assert "never travel" in str(pytest.raises(InputError, issue_original, certificate(1), {"passphrase": "x"},
                                               services=s).value)
    assert s.seals == 0 and s.registry.get(reference(1), 1) is None
    assert LocalStore(store_root).list_pending() == [] and LocalStore(store_root).list_objects() == []


def test_json_bytes_are_accepted_like_the_object(store_root: Path, sqlite_url: str) -> None:
    import json

    s = services(store_root, sqlite_url)
    a = issue_original(json.dumps(certificate(3)).encode(), {}, services=s)
    b = issue_original(certificate(3), {}, services=s)
    assert a.sha256 == b.sha256 and a.created and not b.created


def test_changed_data_for_an_issued_version_is_a_conflict(store_root: Path, sqlite_url: str) -> None:
    s = services(store_root, sqlite_url)
    issue_original(certificate(4), {}, services=s)
    changed = certificate(4)
    changed["issued_at"] = "2026-02-19T09:00:00+01:00"
    with pytest.raises(Conflict, match="different certificate data") as info:
        issue_original(changed, {}, services=s)
    assert info.value.transient is False
    assert issue_original(certificate(4, version=2) | {"issued_at": changed["issued_at"]}, {}, services=s).created


def test_an_original_that_does_not_verify_is_never_stored(store_root: Path, sqlite_url: str) -> None:
    s = services(store_root, sqlite_url, verdict=Verdict.INDETERMINATE)
    with pytest.raises(OriginalRejected, match="INDETERMINATE") as info:
        issue_original(certificate(5), {}, services=s)
    assert info.value.verdict == "INDETERMINATE"
    assert s.registry.get(reference(5), 1) is None
    store = LocalStore(store_root)
    assert store.list_pending() == [] and store.list_objects() == []


# -- races -----------------------------------------------------------------------------------------


def _race(store_root: str, url: str, n: int, deterministic: bool, barrier, out) -> None:
    s = FakeServices(Path(store_root), url, deterministic=deterministic)
    barrier.wait()
    try:
        out.put(("ok", issue_original(certificate(n), {}, services=s).sha256, s.seals))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out.put(("error", repr(exc), s.seals))


@pytest.mark.parametrize("deterministic", [False, True], ids=["different-bytes", "same-bytes"])
def test_racing_processes_make_one_original(store_root: Path, registry_url: str, deterministic: bool) -> None:
    """Six processes issue the same version at once; with identical bytes (same sha256) the
    losers must promote, never discard, or they would delete the winner's pending copy."""
    LocalStore(store_root)
    open_registry(registry_url).close()  # schema made before the race
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(store_root), registry_url, 6, deterministic, barrier, out))
             for _ in range(6)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(kind == "ok" for kind, _, _ in results), results
    assert len({sha for _, sha, _ in results}) == 1
    assert_store_clean(store_root, registered(registry_url, [(reference(6), 1)]))


# -- SIGKILL at every step -------------------------------------------------------------------------

STEPS = {
    # step: (object, method) whose return triggers the kill
    "put_pending": ("store", "put_pending"),
    "claim": ("registry", "claim"),
    "promote": ("store", "promote"),
    "mark_issued": ("registry", "mark_issued"),
}


def _killed_after(store_root: str, url: str, n: int, step: str) -> None:
    s = FakeServices(Path(store_root), url)
    owner_name, method = STEPS[step]
    owner = getattr(s, owner_name)
    real = getattr(owner, method)

    def then_die(*args, **kwargs):
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(owner, method, then_die)
    issue_original(certificate(n), {}, services=s)


def _killed_mid_write(store_root: str, url: str, n: int) -> None:
    """Dies inside put_pending: after the temp file got some bytes, before the rename."""
    import service.store

    s = FakeServices(Path(store_root), url)
    real_fsync = service.store.os.fsync
    service.store.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # type: ignore[assignment]
    try:
        issue_original(certificate(n), {}, services=s)
    finally:
        service.store.os.fsync = real_fsync  # type: ignore[assignment]


@pytest.mark.parametrize("step", ["mid-write", *STEPS])
def test_sigkill_at_every_step_then_redelivery(store_root: Path, registry_url: str, step: str) -> None:
    n = 100 + list(["mid-write", *STEPS]).index(step)
    LocalStore(store_root)
    open_registry(registry_url).close()
    ctx = multiprocessing.get_context("fork")
    target, args = (_killed_mid_write, (str(store_root), registry_url, n)) if step == "mid-write" else \
        (_killed_after, (str(store_root), registry_url, n, step))
    child = ctx.Process(target=target, args=args)
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL

    store = LocalStore(store_root)
    crashed = (store.list_pending() + store.list_objects())
    reg = open_registry(registry_url)
    row = reg.get(reference(n), 1)
    reg.close()

    s = services(store_root, registry_url)
    record = issue_original(certificate(n), {}, services=s)  # the broker's redelivery
    again = issue_original(certificate(n), {}, services=services(store_root, registry_url))
    assert again.sha256 == record.sha256
    if step in ("claim", "promote", "mark_issued"):
        # The dead attempt had claimed: its bytes are the original, finished without sealing.
        assert row is not None and record.sha256 == row.sha256 == crashed[0] and s.seals == 0
        assert not record.created
    else:
        assert row is None and record.created and s.seals == 1
    # What the dead attempt left (a temp file, an unclaimed blob) is whole or hidden, and swept.
    for sha in store.list_pending():
        assert sha != record.sha256
    sweep_store(s, older_than_seconds=0)
    assert_store_clean(store_root, registered(registry_url, [(reference(n), 1)]))


def test_a_stale_claim_without_its_blob_is_taken_over(store_root: Path, registry_url: str) -> None:
    s = services(store_root, registry_url, stale_claim_seconds=1.0)
    lost = "f" * 64  # the claimer died and its blob is gone (another disk, a wiped pending/)
    s.registry.claim(reference(7), 1, lost, environment="training", model="INTRA", owner="dead:1")
    with pytest.raises(InFlight) as info:
        issue_original(certificate(7), {}, services=s)
    assert info.value.transient and "dead:1" in str(info.value) and s.seals == 0
    time.sleep(1.3)
    record = issue_original(certificate(7), {}, services=s)
    assert record.created and record.sha256 != lost
    assert s.registry.get(reference(7), 1).claim_owner == s.owner
    assert_store_clean(store_root, registered(registry_url, [(reference(7), 1)]))


def test_sweep_keeps_what_a_claim_needs(store_root: Path, sqlite_url: str) -> None:
    s = services(store_root, sqlite_url)
    store = s.store
    orphan = store.put_pending(b"sealed, never claimed")
    claimed = store.put_pending(b"claimed, not promoted")
    s.registry.claim(reference(8), 1, claimed, environment="training", model="INTRA", owner="dead:2")
    record = issue_original(certificate(9), {}, services=s)
    duplicate = store.put_pending(store.get(record.sha256))  # a racer's leftover copy
    (store.pending / ".tmp-dead-writer").write_bytes(b"half")
    report = sweep_store(s, older_than_seconds=0)
    assert (report.temp_files, report.orphans, report.promoted) == (1, 1, 1)
    assert store.list_pending() == [claimed] and orphan not in store.list_objects()
    assert duplicate == record.sha256 and store.get(record.sha256)


# -- a store that turns read-only ------------------------------------------------------------------


def test_read_only_store_fails_transient_then_recovers(tmp_path: Path, sqlite_url: str) -> None:
    from test_store import _run

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if not _run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        s = services(mnt / "store", sqlite_url)
        assert _run("mount", "-o", "remount,ro", str(mnt))
        for _ in range(2):
            with pytest.raises(StoreError) as info:
                issue_original(certificate(10), {}, services=s)
            assert getattr(info.value, "transient", False) is True
            assert "Read-only file system" in str(info.value) and str(mnt) in str(info.value)
        assert s.registry.get(reference(10), 1) is None
        assert _run("mount", "-o", "remount,rw", str(mnt))
        first = issue_original(certificate(10), {}, services=s)

        # Read-only between the claim and the promote: the claim waits, then is finished.
        real_claim = s.registry.claim

        def claim_then_freeze(*args, **kwargs):
            result = real_claim(*args, **kwargs)
            assert _run("mount", "-o", "remount,ro", str(mnt))
            return result

        s.registry.claim = claim_then_freeze  # type: ignore[method-assign]
        with pytest.raises(StoreError) as info:
            issue_original(certificate(11), {}, services=s)
        assert getattr(info.value, "transient", False) is True
        row = s.registry.get(reference(11), 1)
        assert row.status is Status.CLAIMED
        s.registry.claim = real_claim  # type: ignore[method-assign]
        with pytest.raises(StoreError):
            issue_original(certificate(11), {}, services=s)  # still read-only: still waiting
        assert _run("mount", "-o", "remount,rw", str(mnt))
        seals = s.seals
        second = issue_original(certificate(11), {}, services=s)
        assert second.sha256 == row.sha256 and not second.created and s.seals == seals  # finished, not resealed
        assert_store_clean(mnt / "store", registered(sqlite_url, [(reference(10), 1), (reference(11), 1)]))
        assert first.created
    finally:
        _run("umount", "-l", str(mnt))


# -- replacement, cancellation, and what verify reports --------------------------------------------


def _verify(s: FakeServices, sha: str) -> dict:
    return with_registry_status(s.verify(s.store.get(sha)).to_dict(), s.registry)


def test_new_version_replaces_the_old_and_verify_says_so(store_root: Path, registry_url: str) -> None:
    s = services(store_root, registry_url)
    v1 = issue_original(certificate(20, env="production"), {}, services=s)
    assert _verify(s, v1.sha256)["verdict"] == "VALID"
    assert _verify(s, v1.sha256)["registry"]["status"] == "issued"
    v2 = issue_original(certificate(20, env="production", version=2), {}, services=s)
    assert v2.created and s.registry.get(reference(20), 1).replaced_by == (reference(20), 2)
    report = _verify(s, v1.sha256)
    assert report["verdict"] == "INVALID"
    assert f"replaced by {reference(20)} version 2" in report["reasons"][-1]
    assert report["registry"]["replaced_by"] == {"reference": reference(20), "version": 2}
    assert _verify(s, v2.sha256)["verdict"] == "VALID"
    # A repeat of v1 still returns v1's bytes, and says it is replaced.
    assert issue_original(certificate(20, env="production"), {}, services=s).status == "replaced"

    # A replacement certificate with a reference of its own.
    v3 = issue_original(certificate(21, env="production", replaces=reference(20)), {}, services=s)
    assert s.registry.get(reference(20), 2).replaced_by == (reference(21), 1)
    assert v3.status == "issued" and _verify(s, v3.sha256)["registry"]["found"] is True


def test_replacement_interrupted_after_issue_heals_on_repeat(store_root: Path, sqlite_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    s = services(store_root, sqlite_url)
    issue_original(certificate(22), {}, services=s)
    import service.originals

    monkeypatch.setattr(service.originals, "settle_replacements", lambda cert, reg: None)  # "killed" here
    issue_original(certificate(22, version=2), {}, services=s)
    assert s.registry.get(reference(22), 1).status is Status.ISSUED
    monkeypatch.undo()
    import _originals_helpers as helpers

    monkeypatch.setattr(service.originals, "embedded_certificate", helpers.fake_embedded)
    issue_original(certificate(22, version=2), {}, services=s)  # the redelivery
    assert s.registry.get(reference(22), 1).status is Status.REPLACED


def test_cancel(store_root: Path, sqlite_url: str) -> None:
    s = services(store_root, sqlite_url)
    record = issue_original(certificate(23), {}, services=s)
    with pytest.raises(NotRegistered):
        cancel_original(reference(23), 2, s.registry)
    s.registry.claim(reference(23), 3, "e" * 64, environment="training", model="INTRA", owner="w")
    with pytest.raises(InFlight):
        cancel_original(reference(23), 3, s.registry)
    assert cancel_original(reference(23), 1, s.registry).status is Status.CANCELLED
    assert cancel_original(reference(23), 1, s.registry).status is Status.CANCELLED  # redelivered
    report = _verify(s, record.sha256)
    assert report["verdict"] == "INVALID" and "cancelled" in report["reasons"][-1]
    assert issue_original(certificate(23), {}, services=s).status == "cancelled"
