"""Run work on untrusted PDFs in a child process with size, time and memory limits.

pyHanko and pdfminer are careful parsers, but a hostile file can still ask for gigabytes
(decompression bombs) or minutes (xref loops, pathological content streams). Limits inside
the Python process cannot stop a C-level allocation or a tight loop, so the parse runs in a
forked child with RLIMIT_AS / RLIMIT_CPU set, and the parent waits with a wall-clock timeout.
Whatever happens to the child, the caller gets a Report, never an exception and never VALID.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from renderers.environment import Environment
from signer.report import Finding, FindingKind, Report, Verdict
from signer.trust import TrustStore
from signer.verify import verify_pdf

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 64 << 20
    wall_seconds: float = 30.0
    cpu_seconds: int = 20
    # On top of what the (forked) process already maps: the parent's libraries and fonts are
    # shared pages, so only new allocations should count against the budget.
    extra_memory_bytes: int = 768 << 20


DEFAULT_LIMITS = Limits()


class LimitExceeded(Exception):
    """The child ran out of time or memory, or died; the message says which, for a person."""


def run_limited(fn: Callable[..., T], *args: Any, limits: Limits = DEFAULT_LIMITS) -> T:
    """fn(*args) in a forked child under `limits`; its result comes back pickled."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(sender, fn, args, limits), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.wall_seconds):
            raise LimitExceeded(f"the file took longer than {limits.wall_seconds:g} s to analyse")
        try:
            ok, value = receiver.recv()
        except EOFError:
            child.join(5)
            raise LimitExceeded(_death_reason(child.exitcode, limits)) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receiver.close()
    if not ok:
        raise LimitExceeded(value)
    return value


def _child_main(sender, fn: Callable[..., Any], args: tuple, limits: Limits) -> None:
    _set_limits(limits)
    try:
        result = (True, fn(*args))
    except MemoryError:
        result = (False, f"the file needs more than {limits.extra_memory_bytes >> 20} MiB of memory to analyse")
    except BaseException as exc:  # noqa: BLE001 - the parent turns every failure into a verdict
        result = (False, f"the file could not be analysed ({type(exc).__name__}: {str(exc)[:200]})")
    try:
        sender.send(result)
    finally:
        sender.close()
        os._exit(0)


def _set_limits(limits: Limits) -> None:
    mapped = _mapped_bytes()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + limits.extra_memory_bytes,) * 2)
    used_cpu = int(sum(os.times()[:2]))
    resource.setrlimit(resource.RLIMIT_CPU, (used_cpu + limits.cpu_seconds, used_cpu + limits.cpu_seconds + 1))
    # The child never writes files.
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _mapped_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _death_reason(exitcode: int | None, limits: Limits) -> str:
    if exitcode is not None and exitcode < 0 and -exitcode in (signal.SIGXCPU, signal.SIGKILL):
        return f"the file needed more than {limits.cpu_seconds} s of processor time to analyse"
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
        return run_limited(_verify, data, trust, expect_env, at, allow_fetching, limits=limits)
    except LimitExceeded as exc:
        return Report(sha, (Finding(FindingKind.UNREADABLE, Verdict.INVALID, str(exc)),))


def oversized_report(file_sha256: str, size: int, limits: Limits = DEFAULT_LIMITS) -> Report:
    return Report(file_sha256, (Finding(
        FindingKind.UNREADABLE, Verdict.INVALID,
        f"the file is {size / (1 << 20):.0f} MiB, larger than any certificate original "
        f"({limits.max_file_bytes >> 20} MiB limit)",
    ),))


def _verify(data: bytes, trust: TrustStore, expect_env: Environment | None, at: datetime | None,
            allow_fetching: bool) -> Report:
    return verify_pdf(data, trust, expect_env=expect_env, at=at, allow_fetching=allow_fetching)
