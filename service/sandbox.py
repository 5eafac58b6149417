"""Run work on untrusted PDFs in a child process with size, time and memory limits.

pyHanko and pdfminer are careful parsers, but a hostile file can still ask for gigabytes
(decompression bombs) or minutes (xref loops, pathological content streams). Limits inside
the Python process cannot stop a C-level allocation or a tight loop, so the parse runs in a
forked child with RLIMIT_AS / RLIMIT_CPU set, and the parent waits with a wall-clock timeout.
Whatever happens to the child, the caller gets a Report, never an exception and never VALID.

The child is made with a bare os.fork() and its result comes back pickled through an
os.pipe(), not with multiprocessing: a Celery prefork pool process is a daemonic
multiprocessing.Process, and those may not start multiprocessing children, while a plain
fork works from any process. The child leads its own process group, so what it starts
(pdftotext) is killed with it.
"""
from __future__ import annotations

import errno
import faulthandler
import hashlib
import math
import os
import pickle
import resource
import select
import signal
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from renderers.environment import Environment
from signer.report import Finding, FindingKind, Report, Verdict
from signer.trust import TrustStore
from signer.verify import MAX_PATHS, verify_pdf

T = TypeVar("T")

_HEADER = struct.Struct("!Q")  # length of the pickled (ok, value) that follows
_CHUNK = 1 << 16
_FORKING = threading.Lock()


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 64 << 20
    wall_seconds: float = 30.0
    cpu_seconds: int = 20
    # On top of what the (forked) process already maps: the parent's libraries and fonts are
    # shared pages, so only new allocations should count against the budget.
    extra_memory_bytes: int = 768 << 20
    # Not a process limit: how many paths the change analysis may map per signed revision
    # (signer._reverse_xref.MAX_PATHS), so that a file built to make them explode is answered
    # at once rather than at the limits above.
    max_paths: int = MAX_PATHS


DEFAULT_LIMITS = Limits()


class LimitExceeded(Exception):
    """The child ran out of time or memory, or died; the message says which, for a person."""


def run_limited(fn: Callable[..., T], *args: Any, limits: Limits = DEFAULT_LIMITS) -> T:
    """fn(*args) in a forked child under `limits`; its result comes back pickled.

    Raises LimitExceeded (message for a person) when the child runs out of time or memory,
    raises, or dies. The child is always killed and reaped before this returns or raises."""
    with _FORKING:
        # Held until this pipe's write end is closed here: a child forked meanwhile by another
        # thread would inherit it and keep the pipe open after our child has died.
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # the child: never returns into the caller's code
            try:
                os.close(read_fd)
                _child_main(write_fd, fn, args, limits)
            except BaseException:  # noqa: BLE001 - no result written: the parent reports a death
                os._exit(70)
            os._exit(0)
        os.close(write_fd)
    _own_group(pid)
    try:
        payload = _read_result(read_fd, time.monotonic() + limits.wall_seconds, limits)
    finally:
        os.close(read_fd)
        status = _kill_and_reap(pid)
    if payload is None:
        raise LimitExceeded(_death_reason(status, limits))
    try:
        ok, value = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001 - a garbled result is a failed analysis, said in words
        raise LimitExceeded(f"the analysis result could not be read ({type(exc).__name__})") from None
    if not ok:
        raise LimitExceeded(value)
    return value


def _own_group(pid: int) -> None:
    """Put the child in a process group of its own (it does the same: whichever runs first)."""
    try:
        os.setpgid(pid, pid)
    except OSError:  # already exited (the reaper copes), or the other side did it
        pass


def _read_result(fd: int, deadline: float, limits: Limits) -> bytes | None:
    """The child's pickled result; None if it closed the pipe without a whole one (it died).
    Raises LimitExceeded when the wall-clock deadline passes first."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    data = bytearray()
    expected: int | None = None  # header + payload, once the header is in
    while expected is None or len(data) < expected:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(math.ceil(remaining * 1000)):
            raise LimitExceeded(_too_long(limits))
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return None
        data += chunk
        if expected is None and len(data) >= _HEADER.size:
            expected = _HEADER.size + _HEADER.unpack_from(data)[0]
    return bytes(data[_HEADER.size:expected])


def _kill_and_reap(pid: int) -> int | None:
    """Kill the child's process group (the child, and anything it started) and wait for the
    child, so no zombie is left. Returns its wait status."""
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            break
        except (ProcessLookupError, PermissionError):  # no such group yet, or one member we may
            continue  # not signal (a set-uid helper): the child alone, then
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue
        except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler): nothing left behind
            return None


def _child_main(write_fd: int, fn: Callable[..., Any], args: tuple, limits: Limits) -> None:
    global _FORKING
    _FORKING = threading.Lock()  # the parent's is held (by the thread that forked us)
    _own_group(0)
    _reset_signals(limits)
    _set_limits(limits)
    try:
        result = (True, fn(*args))
    except MemoryError:
        result = (False, _too_much_memory(limits))
    except BaseException as exc:  # noqa: BLE001 - the parent turns every failure into a verdict
        result = (False, f"the file could not be analysed ({type(exc).__name__}: {str(exc)[:200]})")
    try:
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        payload = pickle.dumps((False, _too_much_memory(limits)))
    except Exception as exc:  # noqa: BLE001 - an unpicklable result is a bug, said in words
        payload = pickle.dumps((False, f"the analysis result could not be returned ({type(exc).__name__})"))
    _write_all(write_fd, _HEADER.pack(len(payload)) + payload)
    os.close(write_fd)


def _reset_signals(limits: Limits) -> None:
    """Default actions for what the parent (a Celery pool process, pytest) handled its own
    way, and an alarm as the child's own deadline in case the parent dies and never kills it."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                signal.SIGALRM, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    # In its own process group the child is a background job: a stray write to the terminal
    # must not stop it. (SIGPIPE stays ignored, as Python sets it: a broken pipe is an error.)
    for sig in (signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_IGN)
    signal.alarm(math.ceil(limits.wall_seconds) + 2)
    # A parser crash is an expected outcome, reported by the parent in words, not a traceback
    # dump on the caller's stderr (pytest and PYTHONFAULTHANDLER turn the dumps on).
    faulthandler.disable()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # the parent gave up waiting
                return
            raise
        view = view[written:]


def _set_limits(limits: Limits) -> None:
    mapped = _mapped_bytes()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + limits.extra_memory_bytes,) * 2)
    used_cpu = int(sum(os.times()[:2]))
    resource.setrlimit(resource.RLIMIT_CPU, (used_cpu + limits.cpu_seconds, used_cpu + limits.cpu_seconds + 1))
    # The child never writes files, and a crash should not leave a core dump of the parent's memory.
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _mapped_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _too_long(limits: Limits) -> str:
    return f"the file took longer than {limits.wall_seconds:g} s to analyse"


def _too_much_memory(limits: Limits) -> str:
    return f"the file needs more than {limits.extra_memory_bytes >> 20} MiB of memory to analyse"


def _death_reason(status: int | None, limits: Limits) -> str:
    exitcode = os.waitstatus_to_exitcode(status) if status is not None else None
    if exitcode is not None and exitcode < 0 and -exitcode in (signal.SIGXCPU, signal.SIGKILL):
        return f"the file needed more than {limits.cpu_seconds} s of processor time to analyse"
    if exitcode is not None and exitcode < 0 and -exitcode == signal.SIGALRM:
        return _too_long(limits)
    if exitcode is not None and exitcode < 0 and -exitcode == signal.SIGSEGV:
        return "the file crashed the PDF parser"
    return f"the analysis of the file stopped unexpectedly (exit status {exitcode})"


def verify_untrusted(
    data: bytes,
    trust: TrustStore,
    *,
    expect_env: Environment | None = None,
    at: datetime | None = None,
    allow_fetching: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Report:
    """verify_pdf under limits. Anything the limits stop is INVALID: no original needs that much."""
    sha = hashlib.sha256(data).hexdigest()
    if len(data) > limits.max_file_bytes:
        return oversized_report(sha, len(data), limits)
    try:
        return run_limited(_verify, data, trust, expect_env, at, allow_fetching, limits.max_paths, limits=limits)
    except LimitExceeded as exc:
        return Report(sha, (Finding(FindingKind.UNREADABLE, Verdict.INVALID, str(exc)),))


def oversized_report(file_sha256: str, size: int, limits: Limits = DEFAULT_LIMITS) -> Report:
    return Report(file_sha256, (Finding(
        FindingKind.UNREADABLE, Verdict.INVALID,
        f"the file is {size / (1 << 20):.0f} MiB, larger than any certificate original "
        f"({limits.max_file_bytes >> 20} MiB limit)",
    ),))


def _verify(data: bytes, trust: TrustStore, expect_env: Environment | None, at: datetime | None,
            allow_fetching: bool, max_paths: int) -> Report:
    return verify_pdf(data, trust, expect_env=expect_env, at=at, allow_fetching=allow_fetching, max_paths=max_paths)
