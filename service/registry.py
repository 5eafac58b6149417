"""Registry of issued originals: (reference, version) → the one sha256 that is the original.

The store may hold several blobs for one certificate version (two workers raced, each signed
its own bytes); the registry row decides which one is *the* original. Every decision is made
by the database in one statement or one locked transaction, never check-then-act in Python:

- `claim` is `INSERT … ON CONFLICT (reference, version) DO NOTHING`: the primary key picks
  exactly one winner however many workers race;
- `mark_issued` and `take_over_stale_claim` are conditional UPDATEs (compare-and-set);
- `replace` / `cancel` lock the rows (SQLite `BEGIN IMMEDIATE`, PostgreSQL `FOR UPDATE`)
  before validating the transition.

Lifecycle: claimed → issued → replaced | cancelled. A `claimed` row whose worker died before
storing its blob can be taken over once it is older than a limit; `issued` rows never change
their sha256.

Timestamps are epoch seconds (DOUBLE PRECISION) taken from the database clock, so workers
on several machines with skewed clocks still agree on what "stale" means.

Every operation is safe to run twice (claim recognises its own token, mark_issued / cancel /
replace accept a repeat of the same transition), which is what lets a PostgreSQL call be
retried once after a dropped connection without risking a wrong answer.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

__all__ = [
    "ClaimLost",
    "ClaimResult",
    "Registry",
    "RegistryEntry",
    "RegistryError",
    "Status",
    "open_registry",
]

TABLE = "certseal_originals"
T = TypeVar("T")


class Status(StrEnum):
    CLAIMED = "claimed"  # internal: an issue is in flight, the blob may not be stored yet
    ISSUED = "issued"
    REPLACED = "replaced"
    CANCELLED = "cancelled"


class RegistryError(Exception):
    """A refused transition or a database failure. `transient` → a retry with backoff may help."""

    def __init__(
        self,
        message: str,
        *,
        reference: str | None = None,
        version: int | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.reference = reference
        self.version = version
        self.transient = transient


class ClaimLost(RegistryError):
    """mark_issued for a sha256 that is not (or no longer) the claimed one: another worker's
    bytes are the original. The caller must not promote/return its own blob."""


@dataclass(frozen=True)
class RegistryEntry:
    reference: str
    version: int
    sha256: str
    uri: str | None
    status: Status
    environment: str
    model: str
    created_at: datetime
    updated_at: datetime
    replaced_by_reference: str | None
    replaced_by_version: int | None
    claim_owner: str | None
    claim_token: str | None
    claimed_at: datetime | None

    @property
    def replaced_by(self) -> tuple[str, int] | None:
        if self.replaced_by_reference is None or self.replaced_by_version is None:
            return None
        return (self.replaced_by_reference, self.replaced_by_version)


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    entry: RegistryEntry  # the current row: ours if won, else the winner's (its sha256)


_COLUMNS = (
    "reference, version, sha256, uri, status, environment, model, created_at, updated_at, "
    "replaced_by_reference, replaced_by_version, claim_owner, claim_token, claimed_at"
)

# One DDL for both databases: SQLite maps these type names to its affinities.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    reference             TEXT NOT NULL,
    version               BIGINT NOT NULL,
    sha256                TEXT NOT NULL,
    uri                   TEXT,
    status                TEXT NOT NULL
                          CHECK (status IN ('claimed', 'issued', 'replaced', 'cancelled')),
    environment           TEXT NOT NULL,
    model                 TEXT NOT NULL,
    created_at            DOUBLE PRECISION NOT NULL,
    updated_at            DOUBLE PRECISION NOT NULL,
    replaced_by_reference TEXT,
    replaced_by_version   BIGINT,
    claim_owner           TEXT,
    claim_token           TEXT,
    claimed_at            DOUBLE PRECISION,
    PRIMARY KEY (reference, version)
)
"""
_INDEX = f"CREATE INDEX IF NOT EXISTS {TABLE}_sha256 ON {TABLE} (sha256)"


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def _entry(row: Sequence[Any] | None) -> RegistryEntry | None:
    if row is None:
        return None
    (ref, ver, sha, uri, status, env, model, created, updated, rb_ref, rb_ver, owner, token, claimed) = row
    return RegistryEntry(
        reference=ref,
        version=int(ver),
        sha256=sha,
        uri=uri,
        status=Status(status),
        environment=env,
        model=model,
        created_at=_ts(created),  # type: ignore[arg-type]
        updated_at=_ts(updated),  # type: ignore[arg-type]
        replaced_by_reference=rb_ref,
        replaced_by_version=None if rb_ver is None else int(rb_ver),
        claim_owner=owner,
        claim_token=token,
        claimed_at=_ts(claimed),
    )


class _Cursor:
    """The few things the operations need, with `?` placeholders on both databases."""

    def __init__(self, raw: Any, *, pg: bool, now: str) -> None:
        self._raw = raw
        self._pg = pg
        self.now = now  # SQL expression: current epoch seconds from the database clock
        self.for_update = " FOR UPDATE" if pg else ""  # SQLite: BEGIN IMMEDIATE already locks

    def _exec(self, sql: str, params: Sequence[Any]) -> Any:
        if self._pg:
            sql = sql.replace("?", "%s")  # our SQL never contains a literal ? or %
        return self._raw.execute(sql, tuple(params))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        return int(self._exec(sql, params).rowcount)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._exec(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._exec(sql, params).fetchall())

    def row(self, reference: str, version: int, *, lock: bool = False) -> RegistryEntry | None:
        sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE reference = ? AND version = ?"
        return _entry(self.one(sql + (self.for_update if lock else ""), (reference, version)))


class Registry:
    """The operations, identical on both databases. Subclasses supply `_run`: run `fn` in one
    transaction (write=True: holding the write lock from the start) and turn driver errors
    into RegistryError with `transient` set."""

    url: str

    def _run(self, what: str, fn: Callable[[_Cursor], T], *, write: bool = True) -> T:
        raise NotImplementedError  # pragma: no cover

    def close(self) -> None:
        raise NotImplementedError  # pragma: no cover

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- issuing ------------------------------------------------------------------------

    def claim(
        self, reference: str, version: int, sha256: str, *, environment: str, model: str, owner: str
    ) -> ClaimResult:
        """Try to make `sha256` the original of (reference, version). Exactly one caller wins.

        `won` is decided by the claim token we generated, not by the INSERT's row count, so a
        retry after a dropped connection still knows that its first attempt had won.
        """
        token = uuid.uuid4().hex

        def op(cur: _Cursor) -> ClaimResult:
            cur.execute(
                f"INSERT INTO {TABLE} (reference, version, sha256, uri, status, environment, model,"
                f" created_at, updated_at, claim_owner, claim_token, claimed_at)"
                f" VALUES (?, ?, ?, NULL, 'claimed', ?, ?, {cur.now}, {cur.now}, ?, ?, {cur.now})"
                f" ON CONFLICT (reference, version) DO NOTHING",
                (reference, version, sha256, str(environment), model, owner, token),
            )
            entry = cur.row(reference, version)
            assert entry is not None  # rows are never deleted
            return ClaimResult(won=entry.claim_token == token, entry=entry)

        return self._run(f"claim {reference} version {version}", op)

    def mark_issued(self, reference: str, version: int, sha256: str, uri: str) -> RegistryEntry:
        """claimed → issued, only if the claim is still for `sha256` (it may have been taken
        over as stale meanwhile). Repeating it with the same sha256 and uri is a no-op."""

        def op(cur: _Cursor) -> RegistryEntry:
            changed = cur.execute(
                f"UPDATE {TABLE} SET status = 'issued', uri = ?, updated_at = {cur.now}"
                f" WHERE reference = ? AND version = ? AND status = 'claimed' AND sha256 = ?",
                (uri, reference, version, sha256),
            )
            entry = cur.row(reference, version)
            if changed == 1 and entry is not None:
                return entry
            where = dict(reference=reference, version=version)
            if entry is None:
                raise RegistryError(f"{reference} version {version}: no claim to mark issued", **where)
            if entry.sha256 != sha256:
                raise ClaimLost(
                    f"{reference} version {version}: the original is sha256 {entry.sha256}"
                    f" ({entry.status}), not {sha256}",
                    **where,
                )
            if entry.status == Status.ISSUED and entry.uri == uri:
                return entry
            raise RegistryError(
                f"{reference} version {version}: cannot mark issued, it is {entry.status}"
                + (f" at {entry.uri}" if entry.uri else ""),
                **where,
            )

        return self._run(f"mark {reference} version {version} issued", op)

    def take_over_stale_claim(
        self, reference: str, version: int, *, older_than_seconds: float, new_sha256: str, owner: str
    ) -> bool:
        """Replace a `claimed` row older than the limit (its worker died before storing) with a
        claim for `new_sha256`. Compare-and-set on the old sha256, token and claim time, so of
        several workers taking over the same stale claim exactly one succeeds; `issued` rows
        are never touched."""
        token = uuid.uuid4().hex

        def op(cur: _Cursor) -> bool:
            # Raw claimed_at, not the datetime: the float must round-trip exactly for the CAS.
            old = cur.one(
                f"SELECT status, sha256, claim_token, claimed_at FROM {TABLE} WHERE reference = ? AND version = ?",
                (reference, version),
            )
            if old is None:
                return False
            status, old_sha, old_token, old_claimed_at = old
            if old_token == token:  # our own earlier attempt committed (retry after reconnect)
                return True
            if status != Status.CLAIMED:
                return False
            changed = cur.execute(
                f"UPDATE {TABLE} SET sha256 = ?, claim_owner = ?, claim_token = ?,"
                f" claimed_at = {cur.now}, updated_at = {cur.now}"
                f" WHERE reference = ? AND version = ? AND status = 'claimed'"
                f" AND sha256 = ? AND claim_token = ? AND claimed_at = ?"
                f" AND claimed_at < {cur.now} - ?",
                (new_sha256, owner, token, reference, version, old_sha, old_token, old_claimed_at,
                 float(older_than_seconds)),
            )
            return changed == 1

        return self._run(f"take over claim {reference} version {version}", op)

    # -- lifecycle after issue ----------------------------------------------------------

    def replace(
        self, reference: str, old_version: int, new_version: int, *, new_reference: str | None = None
    ) -> RegistryEntry:
        """issued → replaced, pointing at the replacement, which must already be issued (in the
        same environment). `new_reference` defaults to `reference`. Returns the old row."""
        new_ref = new_reference or reference

        def op(cur: _Cursor) -> RegistryEntry:
            where = dict(reference=reference, version=old_version)
            if (new_ref, new_version) == (reference, old_version):
                raise RegistryError(f"{reference} version {old_version} cannot replace itself", **where)
            # Lock both rows in key order so two opposite replaces cannot deadlock.
            keys = sorted([(reference, old_version), (new_ref, new_version)])
            rows = {k: cur.row(*k, lock=True) for k in keys}
            old, new = rows[(reference, old_version)], rows[(new_ref, new_version)]
            if old is None:
                raise RegistryError(f"{reference} version {old_version} is not registered", **where)
            if old.status == Status.REPLACED and old.replaced_by == (new_ref, new_version):
                return old  # repeated call (redelivered task)
            if old.status != Status.ISSUED:
                raise RegistryError(
                    f"cannot replace {reference} version {old_version}: it is {old.status}"
                    + (f" (by {old.replaced_by[0]} version {old.replaced_by[1]})" if old.replaced_by else ""),
                    **where,
                )
            if new is None or new.status != Status.ISSUED:
                state = "not registered" if new is None else str(new.status)
                raise RegistryError(
                    f"cannot replace {reference} version {old_version}: replacement {new_ref}"
                    f" version {new_version} is {state}, not issued",
                    **where,
                )
            if new.environment != old.environment:
                raise RegistryError(
                    f"cannot replace {reference} version {old_version} ({old.environment}) by"
                    f" {new_ref} version {new_version} ({new.environment}): different environments",
                    **where,
                )
            cur.execute(
                f"UPDATE {TABLE} SET status = 'replaced', replaced_by_reference = ?,"
                f" replaced_by_version = ?, updated_at = {cur.now}"
                f" WHERE reference = ? AND version = ? AND status = 'issued'",
                (new_ref, new_version, reference, old_version),
            )
            entry = cur.row(reference, old_version)
            assert entry is not None
            return entry

        return self._run(f"replace {reference} version {old_version}", op)

    def cancel(self, reference: str, version: int) -> RegistryEntry:
        """issued → cancelled. Cancelling a cancelled one again is a no-op; anything else
        (claimed, replaced, unknown) is refused."""

        def op(cur: _Cursor) -> RegistryEntry:
            where = dict(reference=reference, version=version)
            entry = cur.row(reference, version, lock=True)
            if entry is None:
                raise RegistryError(f"{reference} version {version} is not registered", **where)
            if entry.status == Status.CANCELLED:
                return entry
            if entry.status != Status.ISSUED:
                raise RegistryError(f"cannot cancel {reference} version {version}: it is {entry.status}", **where)
            cur.execute(
                f"UPDATE {TABLE} SET status = 'cancelled', updated_at = {cur.now}"
                f" WHERE reference = ? AND version = ? AND status = 'issued'",
                (reference, version),
            )
            after = cur.row(reference, version)
            assert after is not None
            return after

        return self._run(f"cancel {reference} version {version}", op)

    # -- reading ------------------------------------------------------------------------

    def get(self, reference: str, version: int) -> RegistryEntry | None:
        return self._run(f"read {reference} version {version}", lambda cur: cur.row(reference, version), write=False)

    def versions(self, reference: str) -> list[RegistryEntry]:
        sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE reference = ? ORDER BY version"
        return self._run(
            f"list versions of {reference}",
            lambda cur: [e for e in map(_entry, cur.all(sql, (reference,))) if e is not None],
            write=False,
        )

    def find_by_sha256(self, sha256: str) -> RegistryEntry | None:
        sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE sha256 = ? ORDER BY created_at, reference, version LIMIT 1"
        return self._run(f"find sha256 {sha256}", lambda cur: _entry(cur.one(sql, (sha256,))), write=False)


# ---------------------------------------------------------------------------------------
# SQLite


# Primary result codes a later retry can cure: locked past the busy timeout, out of memory,
# read-only / full / failing disk, cannot open the file (yet), WAL lock protocol hiccup.
_SQLITE_TRANSIENT = frozenset({5, 6, 7, 8, 10, 13, 14, 15})  # BUSY LOCKED NOMEM READONLY IOERR FULL CANTOPEN PROTOCOL


class SQLiteRegistry(Registry):
    """One SQLite file; WAL so readers never block the writer; one connection per thread and
    per process (a connection must not cross a fork or a thread)."""

    _NOW = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser().absolute()
        self.url = f"sqlite://{self.path}"
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        # Connections inherited through fork are kept referenced, never closed: closing one
        # in the child would drop the child's own POSIX locks on the database file.
        self._inherited: list[sqlite3.Connection] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(f"cannot create directory for registry {self.path}: {exc.strerror}",
                                transient=True) from exc
        self._run("create schema", self._create_schema)

    @staticmethod
    def _create_schema(cur: _Cursor) -> None:
        cur.execute(_SCHEMA)
        cur.execute(_INDEX)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        if conn is not None:
            self._inherited.append(conn)
        # isolation_level=None: no implicit transactions; we issue BEGIN ourselves.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        self._ensure_wal(conn)
        # FULL: a commit survives power loss (NORMAL in WAL may lose the last transactions,
        # i.e. a registered original).
        conn.execute("PRAGMA synchronous = FULL")
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _ensure_wal(self, conn: sqlite3.Connection) -> None:
        # WAL is a property of the file, set once. Switching needs an exclusive lock and SQLite
        # answers "database is locked" at once, without its busy handler, when several
        # processes open a new file together; so retry here until the busy timeout.
        deadline = time.monotonic() + self.busy_timeout
        while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in (5, 6) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[_Cursor]:
        conn = self._connection()
        if conn.in_transaction:
            # No operation spans two calls, so this is one that an asynchronous exception (a
            # task's soft time limit, raised by a signal handler) cut off right after its
            # BEGIN: undo it, or every later BEGIN on this connection would be refused.
            conn.execute("ROLLBACK")
        try:
            # IMMEDIATE takes the write lock up front: a deferred transaction that reads and
            # then writes can fail with SQLITE_BUSY without waiting when another writer got in
            # between. Inside the try: the BEGIN may wait out the busy timeout, and a signal
            # that arrived meanwhile raises as soon as it returns.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield _Cursor(conn, pg=False, now=self._NOW)
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may already have rolled back by itself (e.g. disk full); a connection left
            # inside a transaction would refuse every later BEGIN.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _run(self, what: str, fn: Callable[[_Cursor], T], *, write: bool = True) -> T:
        try:
            with self._tx(write=write) as cur:
                return fn(cur)
        except sqlite3.Error as exc:
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # primary result code
            raise RegistryError(
                f"registry {self.path}: cannot {what}: {exc}", transient=code in _SQLITE_TRANSIENT
            ) from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"SQLiteRegistry({str(self.path)!r})"


# ---------------------------------------------------------------------------------------
# PostgreSQL


class PostgresRegistry(Registry):
    """One connection per Registry (serialised by a lock), autocommit with explicit
    transactions. A dropped connection is reopened and the operation retried once, which is
    safe because every operation is idempotent (see the module docstring)."""

    _NOW = "(EXTRACT(EPOCH FROM statement_timestamp())::double precision)"

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        import psycopg  # imported here so SQLite-only deployments never need it loaded

        self._psycopg = psycopg
        self.url = url
        self.connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._conn: Any = None
        self._pid = os.getpid()
        self._inherited: list[Any] = []  # see SQLiteRegistry: never close a forked copy
        self._run("create schema", self._create_schema)

    def _create_schema(self, cur: _Cursor) -> None:
        # Concurrent CREATE TABLE IF NOT EXISTS can still collide in pg_type; serialise it.
        cur.execute("SELECT pg_advisory_xact_lock(7346281937)")
        cur.execute(_SCHEMA)
        cur.execute(_INDEX)

    def _connection(self) -> Any:
        if self._conn is not None and self._pid != os.getpid():
            self._inherited.append(self._conn)
            self._conn = None
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
            )
            self._pid = os.getpid()
        return self._conn

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[_Cursor]:
        conn = self._connection()
        if conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
            # An operation cut off by an asynchronous exception (see SQLiteRegistry._tx) left
            # its transaction open; psycopg would nest ours in it as a savepoint that never
            # commits, holding its row locks for as long as the connection lives.
            conn.rollback()
        with conn.transaction():
            yield _Cursor(conn, pg=True, now=self._NOW)

    def _run(self, what: str, fn: Callable[[_Cursor], T], *, write: bool = True) -> T:
        errors = self._psycopg.errors
        retryable = (errors.SerializationFailure, errors.DeadlockDetected)
        with self._lock:
            for attempt in (1, 2):
                try:
                    with self._tx(write=write) as cur:
                        return fn(cur)
                except self._psycopg.OperationalError as exc:
                    dropped = self._conn is None or self._conn.closed or self._conn.broken
                    if attempt == 1 and (dropped or isinstance(exc, retryable)):
                        if dropped and self._conn is not None:
                            self._conn.close()
                            self._conn = None
                        continue
                    raise RegistryError(f"registry {self._safe_url()}: cannot {what}: {exc}",
                                        transient=True) from exc
                except self._psycopg.Error as exc:
                    raise RegistryError(f"registry {self._safe_url()}: cannot {what}: {exc}",
                                        transient=False) from exc
        raise AssertionError("unreachable")

    def _safe_url(self) -> str:
        # Never put a password into an error message or a log.
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"PostgresRegistry({self._safe_url()!r})"


def open_registry(url: str, *, busy_timeout: float = 30.0) -> Registry:
    """`postgresql://…` / `postgres://…` → PostgreSQL (libpq URL; e.g. add
    `?options=-csearch_path%3Dmyschema` to use another schema); `sqlite:///abs/path.db` or a
    plain (relative or absolute) path → SQLite file, created with its directory if missing."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresRegistry(url)
    if parts.scheme == "sqlite":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise RegistryError(f"bad SQLite registry URL {url!r} (expected sqlite:///absolute/path.db)")
        path = unquote(parts.path)
        if path.startswith("//"):  # sqlite:////abs (SQLAlchemy style) means the same file
            path = "/" + path.lstrip("/")
        return SQLiteRegistry(Path(path), busy_timeout=busy_timeout)
    if parts.scheme == "" or len(parts.scheme) == 1:
        if not url or url == ":memory:":
            raise RegistryError(f"registry needs a file (one database shared by all workers), got {url!r}")
        return SQLiteRegistry(Path(url), busy_timeout=busy_timeout)
    raise RegistryError(f"unsupported registry URL scheme {parts.scheme!r} in {url!r}")
