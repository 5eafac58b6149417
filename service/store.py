"""Content-addressed, durable blob store for signed originals.

Layout under the root::

    objects/ab/cdef…   promoted blobs, named by their sha256 (two-character fan-out)
    pending/<sha256>   written and verified, not yet promoted (issue still in flight)
    pending/.tmp-*     a write in progress; never visible under a blob name

A blob appears under its name only through `rename`, after its bytes were fsynced and read
back, so a crash (SIGKILL, power loss) leaves either the whole blob or nothing but a `.tmp-`
file (see `sweep_temp_files`). The store knows nothing about which blob is *the* original of
a certificate: that is the registry's decision; an object the registry does not point to is
an orphan, never an original.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

__all__ = [
    "LocalStore",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreNotFound",
    "open_store",
]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_TMP_PREFIX = ".tmp-"

# OS errors a retry (with backoff) can cure once an operator or the system acts: full disk,
# read-only remount, permission fix, flaky network filesystem. Anything else is a bug or a
# missing blob and retrying would only repeat it.
_TRANSIENT_ERRNOS = frozenset(
    e
    for e in (
        errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO,
        errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.ETIMEDOUT, errno.ESTALE,
        errno.EMFILE, errno.ENFILE, errno.ENOMEM,
    )
)


class StoreError(Exception):
    """A store operation failed. `transient` tells a worker whether retrying may help."""

    def __init__(self, message: str, *, path: Path | str | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.transient = transient


class StoreCorrupt(StoreError):
    """A stored blob no longer hashes to its name. Never transient: the bytes are wrong."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message, path=path, transient=False)


class StoreNotFound(StoreError):
    """No blob (pending or promoted) with that sha256."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message, path=path, transient=False)


def _os_error(action: str, path: Path, exc: OSError) -> StoreError:
    reason = exc.strerror or str(exc)
    return StoreError(
        f"cannot {action} {path}: {reason} (errno {exc.errno})",
        path=path,
        transient=exc.errno in _TRANSIENT_ERRNOS,
    )


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise ValueError(f"not a lowercase sha256 hex digest: {sha!r}")
    return sha


def _fsync_dir(directory: Path) -> None:
    # A rename is durable only once the directory entry itself reached the disk.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@runtime_checkable
class Store(Protocol):
    def put_pending(self, data: bytes) -> str: ...
    def promote(self, sha: str) -> str: ...
    def discard_pending(self, sha: str) -> None: ...
    def get(self, sha: str) -> bytes: ...
    def get_uri(self, uri: str) -> bytes: ...
    def exists(self, sha: str) -> bool: ...
    def uri(self, sha: str) -> str: ...
    def list_objects(self) -> list[str]: ...
    def list_pending(self) -> list[str]: ...
    def temp_files(self) -> list[Path]: ...


class LocalStore:
    """A store in a local (or mounted) directory. Safe for several threads and processes."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()
        self.objects = self.root / "objects"
        self.pending = self.root / "pending"
        for d in (self.root, self.objects, self.pending):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _os_error("create store directory", d, exc) from exc

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- paths -------------------------------------------------------------------------

    def object_path(self, sha: str) -> Path:
        _check_sha(sha)
        return self.objects / sha[:2] / sha[2:]

    def pending_path(self, sha: str) -> Path:
        return self.pending / _check_sha(sha)

    def uri(self, sha: str) -> str:
        return self.object_path(sha).as_uri()

    # -- writing -----------------------------------------------------------------------

    def put_pending(self, data: bytes) -> str:
        """Durably write `data` to pending/<sha256> and return the sha256.

        The temp file is fsynced, read back and re-hashed *before* the rename, so what
        appears under the name has been checked and no concurrent promote/discard of the
        same name can make the check read the wrong file. Identical bytes written twice just
        rename over each other (same content), so concurrent puts are harmless.
        """
        sha = hashlib.sha256(data).hexdigest()
        tmp = self.pending / f"{_TMP_PREFIX}{sha[:16]}-{os.getpid()}-{secrets.token_hex(6)}"
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            except OSError as exc:
                raise _os_error("create temp file", tmp, exc) from exc
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                raise _os_error("write", tmp, exc) from exc
            try:
                again = hashlib.sha256(tmp.read_bytes()).hexdigest()
            except OSError as exc:
                raise _os_error("read back", tmp, exc) from exc
            if again != sha:
                # Bad disk, bad RAM or a meddling process: rewriting may well succeed.
                raise StoreError(
                    f"read-back mismatch for {tmp}: wrote sha256 {sha}, read {again}",
                    path=tmp,
                    transient=True,
                )
            target = self.pending / sha
            try:
                os.replace(tmp, target)
                _fsync_dir(self.pending)
            except OSError as exc:
                raise _os_error("rename into", target, exc) from exc
        except BaseException:
            # Also on KeyboardInterrupt etc.: never leave a half-written temp file behind.
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return sha

    def promote(self, sha: str) -> str:
        """Move pending/<sha> to objects/ and return its URI. Idempotent.

        Already promoted → fine (the pending copy, if any, is dropped). If the existing
        object fails its hash and a good pending copy exists, the pending copy replaces it.
        """
        src = self.pending_path(sha)
        dst = self.object_path(sha)
        fan = dst.parent
        try:
            if not fan.is_dir():
                fan.mkdir(exist_ok=True)
                _fsync_dir(self.objects)
        except OSError as exc:
            raise _os_error("create directory", fan, exc) from exc

        if self._intact(dst, sha):
            # Someone (a concurrent promote, a redelivered task) got there first.
            self._unlink_quietly(src)
            return self.uri(sha)
        # Check the pending copy too: it may have sat there a while, and promoting bad bytes
        # would turn them into an "original". Missing is not corrupt: a concurrent promote may
        # move it away at any moment (the rename below then says what happened).
        if self._hashes_to(src, sha) is False:
            raise StoreCorrupt(f"pending blob {src} no longer hashes to {sha}", path=src)
        try:
            os.replace(src, dst)
        except FileNotFoundError:
            # A concurrent promote moved it between our check and our rename.
            if self._intact(dst, sha):
                return self.uri(sha)
            if dst.exists():
                raise StoreCorrupt(f"{dst} is corrupt and no pending copy is left to repair it", path=dst) from None
            raise StoreNotFound(f"no pending blob {sha} in {self.pending}", path=src) from None
        except OSError as exc:
            raise _os_error("promote", dst, exc) from exc
        try:
            _fsync_dir(fan)
            _fsync_dir(self.pending)
        except OSError as exc:
            raise _os_error("fsync after promoting", dst, exc) from exc
        return self.uri(sha)

    def discard_pending(self, sha: str) -> None:
        """Drop a pending blob (the issue lost its race). Missing → nothing to do.

        Caution for callers: pending names are content addresses, so if a loser's bytes are
        identical to the winner's (same sha256), this would remove the winner's pending
        copy. Only discard a sha that differs from the registry's winner.
        """
        path = self.pending_path(sha)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _os_error("discard", path, exc) from exc
        try:
            _fsync_dir(self.pending)
        except OSError as exc:
            raise _os_error("fsync", self.pending, exc) from exc

    def sweep_temp_files(self, older_than_seconds: float) -> int:
        """Remove `.tmp-` files left by killed writers; returns how many were removed.

        Only old ones: a young temp file may belong to a write in progress elsewhere.
        """
        limit = time.time() - older_than_seconds
        removed = 0
        for path in self.temp_files():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _os_error("remove temp file", path, exc) from exc
        return removed

    # -- reading -----------------------------------------------------------------------

    def exists(self, sha: str) -> bool:
        return self.object_path(sha).is_file()

    def get(self, sha: str) -> bytes:
        """The promoted blob's bytes, verified against its name on every read."""
        path = self.object_path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreNotFound(f"no object {sha} in {self.objects}", path=path) from None
        except OSError as exc:
            raise _os_error("read", path, exc) from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise StoreCorrupt(f"{path} is corrupt: content hashes to {actual}, not {sha}", path=path)
        return data

    def get_uri(self, uri: str) -> bytes:
        """Bytes of an object named by a URI from `uri()`. Anything outside objects/ is refused
        (URIs may arrive in task messages, so never read an arbitrary path)."""
        return self.get(self.sha_from_uri(uri))

    def sha_from_uri(self, uri: str) -> str:
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise StoreError(f"not a file URI of this store: {uri!r}")
        path = Path(unquote(parts.path))
        sha = path.parent.name + path.name
        if path.parent.parent != self.objects or not _SHA256.fullmatch(sha) or path.parent.name != sha[:2]:
            raise StoreError(f"URI {uri!r} does not name an object under {self.objects}")
        return sha

    def list_objects(self) -> list[str]:
        found = []
        for fan in sorted(self.objects.iterdir()):
            if fan.is_dir() and len(fan.name) == 2:
                found += [fan.name + p.name for p in fan.iterdir() if _SHA256.fullmatch(fan.name + p.name)]
        return sorted(found)

    def list_pending(self) -> list[str]:
        return sorted(p.name for p in self.pending.iterdir() if _SHA256.fullmatch(p.name))

    def temp_files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob(f"{_TMP_PREFIX}*") if p.is_file())

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _intact(path: Path, sha: str) -> bool:
        return LocalStore._hashes_to(path, sha) is True

    @staticmethod
    def _hashes_to(path: Path, sha: str) -> bool | None:
        """Whether the file's bytes hash to `sha`; None when there is no such file."""
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest() == sha
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _os_error("read", path, exc) from exc

    def _unlink_quietly(self, path: Path) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _os_error("remove", path, exc) from exc


def open_store(url: str) -> Store:
    """`/path`, `relative/path` or `file:///path` → LocalStore; `s3://…` is not supported yet."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        raise StoreError(f"S3 store not supported yet: {url!r} (use a local directory or file:///path)")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StoreError(f"file URL with a remote host is not supported: {url!r}")
        return LocalStore(Path(unquote(parts.path)))
    if parts.scheme == "" or len(parts.scheme) == 1:  # len 1: a Windows drive letter
        if not url:
            raise StoreError("empty store URL")
        return LocalStore(Path(url))
    raise StoreError(f"unsupported store URL scheme {parts.scheme!r} in {url!r} (expected a path or file:///path)")
