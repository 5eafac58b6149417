"""service.registry on SQLite and on the machine's real PostgreSQL.

PostgreSQL: 127.0.0.1:5432, user postgres, database `test` (override with
CERTSEAL_TEST_POSTGRES_URL). Each test gets its own schema, dropped afterwards.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _originals_helpers import PG_URL, pg_schema_url
from service.registry import (
    ClaimLost,
    ClaimResult,
    PostgresRegistry,
    Registry,
    RegistryError,
    SQLiteRegistry,
    Status,
    open_registry,
)

def sha(label: object) -> str:
    return hashlib.sha256(str(label).encode()).hexdigest()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'registry.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A libpq URL whose search_path is a fresh schema, dropped after the test."""
    yield from pg_schema_url()


@pytest.fixture
def reg(url: str) -> Iterator[Registry]:
    r = open_registry(url)
    yield r
    r.close()


def issue(r: Registry, ref: str, version: int, *, env: str = "training") -> str:
    digest = sha((ref, version, env))
    result = r.claim(ref, version, digest, environment=env, model="CHED-PP", owner="test")
    assert result.won
    r.mark_issued(ref, version, digest, f"file:///store/{digest}")
    return digest


# -- claim & issue ---------------------------------------------------------------------------


def test_claim_then_mark_issued(reg: Registry) -> None:
    before = time.time()
    res = reg.claim("CHEDPP.BE.2026.0000001", 1, sha(1), environment="training", model="CHED-PP", owner="w1")
    assert isinstance(res, ClaimResult) and res.won
    e = res.entry
    assert (e.reference, e.version, e.sha256, e.status, e.uri) == ("CHEDPP.BE.2026.0000001", 1, sha(1), Status.CLAIMED, None)
    assert (e.environment, e.model, e.claim_owner) == ("training", "CHED-PP", "w1")
    assert e.claim_token and e.claimed_at is not None and e.replaced_by is None
    assert before - 5 < e.created_at.timestamp() < time.time() + 5

    issued = reg.mark_issued("CHEDPP.BE.2026.0000001", 1, sha(1), "file:///x")
    assert issued.status == Status.ISSUED and issued.uri == "file:///x" and issued.sha256 == sha(1)
    assert reg.get("CHEDPP.BE.2026.0000001", 1) == issued
    # A redelivered task marking the same thing again is a no-op ...
    assert reg.mark_issued("CHEDPP.BE.2026.0000001", 1, sha(1), "file:///x") == issued
    # ... and a second claim (other bytes) loses and sees the original.
    again = reg.claim("CHEDPP.BE.2026.0000001", 1, sha(2), environment="training", model="CHED-PP", owner="w2")
    assert not again.won and again.entry.sha256 == sha(1) and again.entry.status == Status.ISSUED
    assert reg.get("CHEDPP.BE.2026.0000001", 2) is None


def test_mark_issued_only_for_the_claimed_sha(reg: Registry) -> None:
    with pytest.raises(RegistryError, match="REF-X version 1"):
        reg.mark_issued("REF-X", 1, sha(1), "file:///x")
    reg.claim("REF-X", 1, sha(1), environment="training", model="m", owner="w1")
    with pytest.raises(ClaimLost, match=sha(1)) as info:
        reg.mark_issued("REF-X", 1, sha(2), "file:///y")
    assert (info.value.reference, info.value.version) == ("REF-X", 1)
    assert reg.get("REF-X", 1).status == Status.CLAIMED  # type: ignore[union-attr]
    reg.mark_issued("REF-X", 1, sha(1), "file:///x")
    with pytest.raises(ClaimLost):
        reg.mark_issued("REF-X", 1, sha(2), "file:///y")
    with pytest.raises(RegistryError, match="issued"):
        reg.mark_issued("REF-X", 1, sha(1), "file:///elsewhere")  # same sha, other uri


def _claim_in_process(url: str, n: int, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue) -> None:
    r = open_registry(url)
    barrier.wait()
    res = r.claim("RACE", 7, sha(("proc", n)), environment="production", model="m", owner=f"proc-{n}")
    out.put((res.won, res.entry.sha256))
    r.close()


@pytest.mark.parametrize("shared", [False, True], ids=["registry-per-thread", "shared-registry"])
def test_claim_race_threads_one_winner(url: str, shared: bool) -> None:
    n = 12
    common = open_registry(url) if shared else None
    barrier = threading.Barrier(n)
    results: list[ClaimResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            r = common or open_registry(url)
            barrier.wait()
            res = r.claim("RACE", 7, sha(i), environment="production", model="m", owner=f"t{i}")
            with lock:
                results.append(res)
            if r is not common:
                r.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    winners = [r for r in results if r.won]
    assert len(results) == n and len(winners) == 1
    assert {r.entry.sha256 for r in results} == {winners[0].entry.sha256}
    check = open_registry(url)
    assert check.get("RACE", 7).sha256 == winners[0].entry.sha256  # type: ignore[union-attr]
    check.close()
    if common:
        common.close()


def test_claim_race_processes_one_winner(url: str) -> None:
    ctx = multiprocessing.get_context("fork")
    n = 4
    barrier = ctx.Barrier(n, timeout=15)  # a crashed sibling must not hang the others
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(url, i, barrier, out)) for i in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(20)
    assert [p.exitcode for p in procs] == [0] * n
    results = [out.get(timeout=5) for _ in range(n)]
    assert sum(won for won, _ in results) == 1
    winner = next(s for won, s in results if won)
    assert {s for _, s in results} == {winner}


# -- stale claims ------------------------------------------------------------------------------

STALE_S = 2.0


def test_take_over_only_stale_claims(reg: Registry) -> None:
    reg.claim("STALE", 1, sha("dead"), environment="training", model="m", owner="dead-worker")
    # Fresh claim: not taken over.
    assert not reg.take_over_stale_claim("STALE", 1, older_than_seconds=60, new_sha256=sha("new"), owner="w2")
    assert reg.get("STALE", 1).sha256 == sha("dead")  # type: ignore[union-attr]
    # Stale after STALE_S; the margins are whole seconds so that a loaded machine (CI saw 0.2 s
    # pass between two calls) cannot make a fresh claim stale before it is checked.
    time.sleep(STALE_S + 0.2)
    assert reg.take_over_stale_claim("STALE", 1, older_than_seconds=STALE_S, new_sha256=sha("new"), owner="w2")
    e = reg.get("STALE", 1)
    assert e is not None and (e.sha256, e.claim_owner, e.status) == (sha("new"), "w2", Status.CLAIMED)
    # The new claim is fresh again: a third worker cannot snatch it right away.
    assert not reg.take_over_stale_claim("STALE", 1, older_than_seconds=STALE_S, new_sha256=sha("third"), owner="w3")
    # The "dead" worker was only slow: its bytes are no longer the original.
    with pytest.raises(ClaimLost):
        reg.mark_issued("STALE", 1, sha("dead"), "file:///dead")
    reg.mark_issued("STALE", 1, sha("new"), "file:///new")
    # Unknown rows and issued rows are never taken over, however old.
    assert not reg.take_over_stale_claim("NOPE", 1, older_than_seconds=0, new_sha256=sha("x"), owner="w3")
    time.sleep(0.3)
    assert not reg.take_over_stale_claim("STALE", 1, older_than_seconds=0.2, new_sha256=sha("x"), owner="w3")
    assert reg.get("STALE", 1).sha256 == sha("new")  # type: ignore[union-attr]


def test_concurrent_take_over_has_one_winner(url: str) -> None:
    setup = open_registry(url)
    setup.claim("STALE2", 1, sha("dead"), environment="training", model="m", owner="dead")
    # The race must end before the winner's own claim turns stale (STALE_S): under load, with
    # 0.2 s, a late thread took the winner's claim over in CI, and there were two winners.
    time.sleep(STALE_S + 0.2)
    n = 8
    barrier = threading.Barrier(n)
    outcomes: dict[int, bool] = {}

    def worker(i: int) -> None:
        r = open_registry(url)
        barrier.wait()
        outcomes[i] = r.take_over_stale_claim("STALE2", 1, older_than_seconds=STALE_S, new_sha256=sha(i), owner=f"w{i}")
        r.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == n and sum(outcomes.values()) == 1
    (winner,) = [i for i, ok in outcomes.items() if ok]
    e = setup.get("STALE2", 1)
    assert e is not None and e.sha256 == sha(winner) and e.claim_owner == f"w{winner}"
    setup.close()


# -- replace / cancel ------------------------------------------------------------------------


def test_replace_and_cancel_transitions(reg: Registry) -> None:
    issue(reg, "REF", 1)
    issue(reg, "REF", 2)
    reg.claim("REF", 3, sha("in flight"), environment="training", model="m", owner="w")

    with pytest.raises(RegistryError, match="REF version 3"):
        reg.cancel("REF", 3)  # still claimed: nothing issued to cancel
    with pytest.raises(RegistryError, match="replacement REF version 3 is claimed"):
        reg.replace("REF", 1, 3)  # replacement not issued yet
    with pytest.raises(RegistryError, match="replacement REF version 9 is not registered"):
        reg.replace("REF", 1, 9)
    with pytest.raises(RegistryError, match="itself"):
        reg.replace("REF", 1, 1)

    old = reg.replace("REF", 1, 2)
    assert old.status == Status.REPLACED and old.replaced_by == ("REF", 2)
    assert old.updated_at >= old.created_at
    assert reg.replace("REF", 1, 2) == old  # redelivered: no-op
    assert reg.get("REF", 2).status == Status.ISSUED  # type: ignore[union-attr]

    with pytest.raises(RegistryError, match="cannot cancel REF version 1: it is replaced") as info:
        reg.cancel("REF", 1)
    assert (info.value.reference, info.value.version, info.value.transient) == ("REF", 1, False)
    with pytest.raises(RegistryError, match="cannot replace REF version 1: it is replaced"):
        reg.replace("REF", 1, 3)

    cancelled = reg.cancel("REF", 2)
    assert cancelled.status == Status.CANCELLED
    assert reg.cancel("REF", 2) == cancelled  # repeat: no-op
    with pytest.raises(RegistryError, match="cannot replace REF version 2: it is cancelled"):
        reg.replace("REF", 2, 1)
    with pytest.raises(RegistryError, match="not registered"):
        reg.cancel("REF", 42)


def test_replace_refuses_other_environment_and_allows_new_reference(reg: Registry) -> None:
    issue(reg, "OLD", 1, env="production")
    issue(reg, "OLD", 2, env="training")
    with pytest.raises(RegistryError, match="different environments"):
        reg.replace("OLD", 1, 2)
    issue(reg, "NEW", 1, env="production")
    e = reg.replace("OLD", 1, 1, new_reference="NEW")
    assert e.replaced_by == ("NEW", 1) and e.replaced_by_reference == "NEW" and e.replaced_by_version == 1


def test_versions_and_find_by_sha256(reg: Registry) -> None:
    assert reg.versions("MULTI") == []
    digests = {v: issue(reg, "MULTI", v) for v in (3, 1, 2)}
    issue(reg, "OTHER", 1)
    reg.replace("MULTI", 1, 2)
    listed = reg.versions("MULTI")
    assert [e.version for e in listed] == [1, 2, 3]
    assert [e.status for e in listed] == [Status.REPLACED, Status.ISSUED, Status.ISSUED]
    assert [e.sha256 for e in listed] == [digests[1], digests[2], digests[3]]
    found = reg.find_by_sha256(digests[2])
    assert found is not None and (found.reference, found.version) == ("MULTI", 2)
    assert reg.find_by_sha256(sha("unknown")) is None


def test_schema_creation_is_idempotent_and_persistent(url: str) -> None:
    a = open_registry(url)
    issue(a, "KEEP", 1)
    a.close()
    b = open_registry(url)
    assert b.get("KEEP", 1).status == Status.ISSUED  # type: ignore[union-attr]
    b.close()


# -- backend specifics -------------------------------------------------------------------------


def test_open_registry_urls(tmp_path: Path) -> None:
    r1 = open_registry(f"sqlite://{tmp_path / 'a' / 'reg.db'}")  # creates the directory
    r2 = open_registry(str(tmp_path / "b.db"))
    r3 = open_registry(f"sqlite:///{tmp_path / 'c.db'}")  # SQLAlchemy-style four slashes
    assert isinstance(r1, SQLiteRegistry) and r1.path == tmp_path / "a" / "reg.db"
    assert isinstance(r2, SQLiteRegistry) and r2.path == tmp_path / "b.db"
    assert isinstance(r3, SQLiteRegistry) and r3.path == tmp_path / "c.db"
    for r in (r1, r2, r3):
        r.close()
    with pytest.raises(RegistryError):
        open_registry(":memory:")
    with pytest.raises(RegistryError, match="unsupported"):
        open_registry("mysql://x/y")


def test_sqlite_uses_wal_and_busy_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "reg.db"
    r = open_registry(str(path), busy_timeout=0.2)
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        assert r.get("ANY", 1) is None  # WAL: readers are not blocked
        t0 = time.monotonic()
        with pytest.raises(RegistryError) as info:
            r.claim("ANY", 1, sha(1), environment="training", model="m", owner="w")
        assert info.value.transient is True and "locked" in str(info.value)
        assert time.monotonic() - t0 >= 0.15  # it waited for the busy timeout first
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert r.claim("ANY", 1, sha(1), environment="training", model="m", owner="w").won  # usable again
    r.close()


def test_postgres_reconnects_after_dropped_connection(pg_url: str) -> None:
    import psycopg

    r = open_registry(pg_url)
    assert isinstance(r, PostgresRegistry)
    issue(r, "RECONNECT", 1)
    backend_pid = r._conn.info.backend_pid  # noqa: SLF001 - the connection we are about to kill
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,)).fetchone()[0]
    e = r.get("RECONNECT", 1)  # transparently reopened
    assert e is not None and e.status == Status.ISSUED
    assert r._conn.info.backend_pid != backend_pid  # noqa: SLF001
    r.close()


def test_postgres_unreachable_is_transient() -> None:
    with pytest.raises(RegistryError) as info:
        open_registry("postgresql://postgres:secret@127.0.0.1:1/test?connect_timeout=2")
    assert info.value.transient is True
    assert "secret" not in str(info.value)  # never leak the password


class _Interrupted(Exception):
    """Stands for Celery's SoftTimeLimitExceeded, which a signal handler raises in the task."""


def test_sqlite_operation_cut_off_right_after_begin_leaves_the_connection_usable(tmp_path: Path) -> None:
    """A soft time limit that fires while BEGIN IMMEDIATE waits for the write lock raises as
    soon as the BEGIN returns. The next operation on that connection must still work (it once
    failed with "cannot start a transaction within a transaction", and the task with it)."""
    import signal

    path = tmp_path / "reg.db"
    r = open_registry(str(path))
    issue(r, "CUT", 1)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # the registry's next write must wait for this lock
    released: list[float] = []

    def release_lock() -> None:
        blocker.execute("ROLLBACK")
        released.append(time.monotonic())

    release = threading.Timer(0.6, release_lock)

    def handler(signum: int, frame: object) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        release.start()
        signal.setitimer(signal.ITIMER_REAL, 0.2)  # fires while the BEGIN still waits
        with pytest.raises(_Interrupted):
            r.cancel("CUT", 1)
        assert released, "the signal was raised only after the BEGIN had its lock"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        release.join()
        blocker.close()
    assert r.get("CUT", 1).status == Status.ISSUED  # the cut-off cancel did not happen
    assert r.cancel("CUT", 1).status == Status.CANCELLED
    with sqlite3.connect(path) as other:  # committed, not left in an open transaction
        assert other.execute("SELECT status FROM certseal_originals").fetchall() == [("cancelled",)]
    r.close()


def test_postgres_operation_after_a_cut_off_transaction_commits(pg_url: str) -> None:
    """The same on PostgreSQL: a transaction left open on the registry's connection is rolled
    back, not used as the outer transaction of every later operation."""
    import psycopg

    r = open_registry(pg_url)
    assert isinstance(r, PostgresRegistry)
    issue(r, "CUT", 1)
    conn = r._conn  # noqa: SLF001 - leave it as an interrupted operation would
    try:
        conn.execute("BEGIN")
        conn.execute("UPDATE certseal_originals SET model = 'half-done'")
        assert r.cancel("CUT", 1).status == Status.CANCELLED
        with psycopg.connect(pg_url, autocommit=True) as other:
            rows = other.execute("SELECT status, model FROM certseal_originals").fetchall()
        assert rows == [("cancelled", "CHED-PP")]
    finally:
        r.close()  # else its open transaction's locks block dropping the schema
