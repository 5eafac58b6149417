"""service.store: atomic, verified, content-addressed; failures leave nothing half-written."""
from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.store import LocalStore, Store, StoreCorrupt, StoreError, StoreNotFound, open_store

PDF = b"%PDF-1.7\n" + os.urandom(4096) + b"\n%%EOF\n"


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def test_put_promote_get_round_trip(store: LocalStore) -> None:
    sha = store.put_pending(PDF)
    assert sha == hashlib.sha256(PDF).hexdigest()
    assert store.list_pending() == [sha] and store.list_objects() == []
    assert not store.exists(sha)

    uri = store.promote(sha)
    path = store.root / "objects" / sha[:2] / sha[2:]
    assert uri == path.as_uri() == store.uri(sha)
    assert path.read_bytes() == PDF
    assert store.exists(sha)
    assert store.get(sha) == PDF
    assert store.get_uri(uri) == PDF
    assert store.list_objects() == [sha] and store.list_pending() == []
    assert store.temp_files() == []
    assert isinstance(store, Store)


def test_promote_is_idempotent_and_discard(store: LocalStore) -> None:
    sha = store.put_pending(PDF)
    uri = store.promote(sha)
    assert store.promote(sha) == uri  # already promoted, nothing pending → fine
    store.put_pending(PDF)  # a redelivered task wrote the same bytes again
    assert store.promote(sha) == uri
    assert store.list_pending() == [] and store.list_objects() == [sha]

    other = store.put_pending(b"loser's bytes")
    store.discard_pending(other)
    store.discard_pending(other)  # already gone → fine
    assert store.list_pending() == []
    with pytest.raises(StoreNotFound):
        store.promote(other)
    with pytest.raises(StoreNotFound):
        store.get(other)


def test_hash_verified_on_read(store: LocalStore) -> None:
    sha = store.put_pending(PDF)
    store.promote(sha)
    path = store.root / "objects" / sha[:2] / sha[2:]
    os.chmod(path, 0o644)
    path.write_bytes(PDF[:-1] + b"X")  # one flipped byte
    with pytest.raises(StoreCorrupt) as info:
        store.get(sha)
    assert str(path) in str(info.value) and info.value.transient is False
    assert isinstance(info.value, StoreError)

    # A good pending copy of the same bytes repairs the corrupt object on promote.
    store.put_pending(PDF)
    store.promote(sha)
    assert store.get(sha) == PDF


def test_corrupt_pending_is_never_promoted(store: LocalStore) -> None:
    sha = store.put_pending(PDF)
    pending = store.root / "pending" / sha
    os.chmod(pending, 0o644)
    pending.write_bytes(b"tampered")
    with pytest.raises(StoreCorrupt):
        store.promote(sha)
    assert store.list_objects() == []


def test_get_uri_refuses_paths_outside_objects(store: LocalStore, tmp_path: Path) -> None:
    sha = store.put_pending(PDF)
    store.promote(sha)
    outside = tmp_path / "ab" / ("cd" + "0" * 62)
    for uri in (
        "file:///etc/passwd",
        outside.as_uri(),
        store.uri(sha).replace("/objects/", "/objects/../objects/"),
        "https://example.org/" + sha,
    ):
        with pytest.raises(StoreError):
            store.get_uri(uri)
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")


def test_open_store_urls(tmp_path: Path) -> None:
    a = open_store(str(tmp_path / "a"))
    b = open_store((tmp_path / "b").as_uri())
    assert isinstance(a, LocalStore) and a.root == tmp_path / "a"
    assert isinstance(b, LocalStore) and b.root == tmp_path / "b"
    assert (tmp_path / "b" / "objects").is_dir() and (tmp_path / "b" / "pending").is_dir()
    with pytest.raises(StoreError, match="not supported yet"):
        open_store("s3://bucket/prefix")
    with pytest.raises(StoreError, match="unsupported"):
        open_store("ftp://host/x")


def _put_and_promote(root: str, data: bytes, n: int) -> None:
    s = LocalStore(Path(root))
    for _ in range(n):
        s.promote(s.put_pending(data))


def test_concurrent_puts_of_same_bytes_end_with_one_object(store: LocalStore) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            _put_and_promote(str(store.root), PDF, 20)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_put_and_promote, args=(str(store.root), PDF, 20)) for _ in range(4)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(30)
    assert errors == []
    assert [p.exitcode for p in procs] == [0] * 4
    sha = hashlib.sha256(PDF).hexdigest()
    assert store.list_objects() == [sha]
    assert store.list_pending() == []
    assert store.temp_files() == []
    assert store.get(sha) == PDF


def test_sweep_removes_only_old_temp_files(store: LocalStore) -> None:
    # What a SIGKILLed writer leaves behind: a temp file, never a blob under its name.
    old = store.root / "pending" / ".tmp-dead-1"
    young = store.root / "pending" / ".tmp-alive-2"
    old.write_bytes(b"half")
    young.write_bytes(b"half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert store.list_pending() == []  # never visible as a blob
    assert store.sweep_temp_files(older_than_seconds=600) == 1
    assert store.temp_files() == [young]


# -- failing disks -------------------------------------------------------------------------
# Tests run as root, for whom chmod 0o555 stops nothing. A tmpfs mount gives real EROFS
# (remount read-only) and ENOSPC (tiny size); without mount rights, `chattr +i` gives EPERM.


def _run(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if not shutil.which("mount") or not _run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); no root-proof ENOSPC/EROFS")
    try:
        yield mnt
    finally:
        _run("umount", "-l", str(mnt))


def test_disk_full_is_transient_and_leaves_no_temp_file(tmpfs: Path) -> None:
    s = LocalStore(tmpfs / "store")
    with pytest.raises(StoreError) as info:
        s.put_pending(os.urandom(1024 * 1024))  # 1 MiB into a 256 KiB filesystem
    err = info.value
    assert err.transient is True
    assert os.strerror(errno.ENOSPC) in str(err) and str(s.root / "pending") in str(err)
    assert s.temp_files() == [] and s.list_pending() == []
    # The store still works for what fits.
    small = s.put_pending(b"small")
    s.promote(small)
    assert s.get(small) == b"small"


def test_read_only_store_is_transient_and_leaves_nothing(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if shutil.which("mount") and _run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)):
        def make_read_only() -> None:
            assert _run("mount", "-o", "remount,ro", str(mnt))

        def undo() -> None:
            _run("umount", "-l", str(mnt))

        expected = errno.EROFS
    elif shutil.which("chattr") and _run("chattr", "+i", str(tmp_path)) and _run("chattr", "-i", str(tmp_path)):
        def make_read_only() -> None:
            for d in (mnt / "store" / "pending", mnt / "store" / "objects"):
                assert _run("chattr", "+i", str(d))

        def undo() -> None:
            for d in (mnt / "store" / "pending", mnt / "store" / "objects"):
                _run("chattr", "-i", str(d))

        expected = errno.EPERM
    else:
        pytest.skip("neither tmpfs mount nor chattr +i available: nothing makes a directory read-only for root")
    try:
        s = LocalStore(mnt / "store")
        kept = s.put_pending(b"written before the remount")
        s.promote(kept)
        waiting = s.put_pending(b"pending before the remount")
        make_read_only()
        # Still openable and readable.
        s2 = open_store(str(mnt / "store"))
        assert s2.get(kept) == b"written before the remount"
        for action in (
            lambda: s.put_pending(b"new bytes"),
            lambda: s.promote(waiting),
            lambda: s.discard_pending(waiting),
        ):
            with pytest.raises(StoreError) as info:
                action()
            assert info.value.transient is True
            assert os.strerror(expected) in str(info.value) and str(s.root) in str(info.value)
        assert s.temp_files() == []
        assert s.list_pending() == [waiting] and s.list_objects() == [kept]
    finally:
        undo()


def test_a_promote_that_loses_the_pending_copy_to_a_concurrent_one_succeeds(store: LocalStore, monkeypatch) -> None:
    """Several losers of a race for the same bytes promote together: the pending copy can be
    moved away by another promote while this one checks it. Missing is not corrupt (it once
    raised StoreCorrupt here, and the task failed as "in flight")."""
    data = b"%PDF-1.7 same bytes from every racer\n"
    sha = store.put_pending(data)
    read = Path.read_bytes

    def read_after_another_promote(path: Path) -> bytes:
        if path == store.pending_path(sha) and path.exists():
            store.object_path(sha).parent.mkdir(exist_ok=True)
            os.replace(path, store.object_path(sha))  # the other promote's rename, just now
        return read(path)

    monkeypatch.setattr(Path, "read_bytes", read_after_another_promote)
    assert store.promote(sha) == store.uri(sha)
    assert store.get(sha) == data and store.list_pending() == []
