"""Verifying uploads off the event loop, and the page-1 thumbnail of what the seal covers.

Verification is CPU-bound and parses hostile input, so each one runs in the sandbox's limited
child process (service.sandbox), started from a small thread pool (one thread per core is all
the machine can use anyway) with a deadline; past the deadline the
caller gets an INDETERMINATE report instead of waiting, and nothing ever becomes a 500.

The thumbnail is drawn from the bytes the seal's /ByteRange covers (the signed revision), not
from the whole file: a border officer sees the document as it was sealed, whatever was
appended after. poppler's pdftoppm draws it in a subprocess under a time and memory limit.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from signer.report import Finding, FindingKind, Report, Verdict, short_error
from signer.trust import TrustStore
from service.sandbox import DEFAULT_LIMITS, Limits, verify_untrusted

THUMBNAIL_TIMEOUT_S = 15
THUMBNAIL_WIDTH_PX = 480
THUMBNAIL_MEMORY_BYTES = 1 << 30


@dataclass(frozen=True)
class Verification:
    report: Report
    thumbnail_png: bytes | None
    seconds: float


class Verifier:
    def __init__(self, trust: Callable[[], TrustStore], *, timeout_seconds: float, workers: int | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self._trust = trust  # asked per upload: trust roots registered after start-up count too
        self._timeout = timeout_seconds
        self.limits = limits  # the sandbox's ([verify] / CERTSEAL_VERIFY_*, read at start)
        self._pool = ThreadPoolExecutor(max_workers=workers or max(1, min(4, os.cpu_count() or 1)),
                                        thread_name_prefix="certseal-verify")

    async def verify(self, data: bytes, *, thumbnail: bool = False) -> Verification:
        loop = asyncio.get_running_loop()
        started = loop.time()
        began: asyncio.Future[None] = loop.create_future()

        def job() -> tuple[Report, bytes | None]:
            # The deadline runs from here, not from submission: waiting behind other uploads
            # in a busy queue must not turn into an INDETERMINATE verdict.
            loop.call_soon_threadsafe(lambda: began.done() or began.set_result(None))
            return self._work(data, thumbnail)

        work = loop.run_in_executor(self._pool, job)
        try:
            await asyncio.wait({began, work}, return_when=asyncio.FIRST_COMPLETED)
            report, png = await asyncio.wait_for(asyncio.shield(work), self._timeout)
        except asyncio.TimeoutError:
            # A thread cannot be stopped; its result is dropped when it finishes.
            report, png = _finding_report(data, Verdict.INDETERMINATE,
                                          f"verification did not finish within {self._timeout:g} s; try again "
                                          "or verify the file with the certseal command line"), None
        except Exception as exc:  # verify_untrusted never raises; this only catches a broken pool
            report, png = _finding_report(data, Verdict.INVALID, f"verification failed: {short_error(exc)}"), None
        return Verification(report, png, loop.time() - started)

    def _work(self, data: bytes, thumbnail: bool) -> tuple[Report, bytes | None]:
        report = verify_untrusted(data, self._trust(), limits=self.limits)
        png = page_one_png(signed_revision(data)) if thumbnail and report.signatures else None
        return report, png

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _finding_report(data: bytes, verdict: Verdict, message: str) -> Report:
    kind = FindingKind.UNREADABLE
    return Report(hashlib.sha256(data).hexdigest(), (Finding(kind, verdict, message),))


def signed_revision(data: bytes) -> bytes | None:
    """The prefix of `data` that the first (sealing) signature covers, or None."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        seal = next(s for s in reader.embedded_signatures if s.sig_object_type == "/Sig")
        start, first_len, second_start, second_len = (int(x) for x in seal.byte_range)
    except Exception:  # no seal, or a ByteRange that is not four integers: nothing to show
        return None
    end = second_start + second_len
    if start != 0 or not 0 < first_len <= second_start <= end <= len(data):
        return None
    return data[:end]


def page_one_png(pdf: bytes | None) -> bytes | None:
    """Page 1 as a PNG thumbnail, or None if poppler cannot draw it in time."""
    exe = shutil.which("pdftoppm")
    if pdf is None or exe is None:
        return None
    # prlimit caps the address space of pdftoppm alone (a preexec_fn is unsafe in a threaded server).
    limiter = shutil.which("prlimit")
    prefix = [limiter, f"--as={THUMBNAIL_MEMORY_BYTES}", "--"] if limiter else []
    with tempfile.TemporaryDirectory(prefix="certseal-thumb-") as tmp:
        src, out = Path(tmp) / "in.pdf", Path(tmp) / "page"
        src.write_bytes(pdf)
        try:
            subprocess.run([*prefix, exe, "-png", "-f", "1", "-l", "1", "-singlefile",
                            "-scale-to", str(THUMBNAIL_WIDTH_PX), str(src), str(out)],
                           check=True, capture_output=True, timeout=THUMBNAIL_TIMEOUT_S)
            return out.with_suffix(".png").read_bytes()
        except (OSError, subprocess.SubprocessError):
            return None
