"""service.sandbox.run_limited as a process manager: results of any size come back whole, every
way the child can end is reported in words, nothing it started outlives it, no zombie is left,
and it works from a daemonic process (a Celery prefork pool process is one)."""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from service.sandbox import Limits, LimitExceeded, run_limited


def _children_of_this_process() -> dict[int, str]:
    """pid → state letter of every process whose parent is this one (zombies included)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        state, ppid = text[text.rindex(")") + 2:].split()[:2]
        if int(ppid) == os.getpid():
            found[int(stat.parent.name)] = state
    return found


@pytest.fixture
def no_child_left():
    before = set(_children_of_this_process())
    yield
    left = {pid: state for pid, state in _children_of_this_process().items() if pid not in before}
    assert not left, f"child processes left behind (pid → state): {left}"


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _raise() -> None:
    raise ValueError("no such object 12 0")


def _unpicklable():
    return lambda: None


def test_a_result_larger_than_the_pipe_buffer_comes_back_whole(no_child_left) -> None:
    blob = os.urandom(3 << 20) * 4  # 12 MiB: far beyond a 64 KiB pipe buffer
    assert run_limited(bytes, blob) == blob


@pytest.mark.parametrize(
    "fn, limits, words",
    [
        (_crash, Limits(), "crashed the PDF parser"),
        (_raise, Limits(), "could not be analysed (ValueError: no such object 12 0)"),
        (_unpicklable, Limits(), "could not be returned"),
        (time.sleep, Limits(wall_seconds=0.5), "longer than 0.5 s"),
    ],
    ids=["segfault", "exception", "unpicklable-result", "wall-time"],
)
def test_every_ending_is_a_sentence_and_leaves_no_zombie(no_child_left, fn, limits, words) -> None:
    args = (60,) if fn is time.sleep else ()
    with pytest.raises(LimitExceeded) as caught:
        run_limited(fn, *args, limits=limits)
    assert words in str(caught.value)


def _start_grandchild_then_hang(report_fd: int) -> None:
    sleeper = subprocess.Popen(["sleep", "300"])
    os.write(report_fd, f"{sleeper.pid}\n".encode())
    time.sleep(300)


def test_what_the_child_started_dies_with_it(no_child_left) -> None:
    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(LimitExceeded, match="longer than"):
            run_limited(_start_grandchild_then_hang, write_fd, limits=Limits(wall_seconds=2))
        os.close(write_fd)
        grandchild = int(os.read(read_fd, 64).decode())
    finally:
        os.close(read_fd)
    # Killed with the child's process group; init may not have reaped it yet.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"pdftotext-like grandchild {grandchild} still running after the child was stopped")


def _in_a_daemon(queue) -> None:
    try:
        queue.put(("ok", run_limited(sum, [1, 2, 3])))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def test_runs_inside_a_daemonic_process_like_a_celery_pool_process() -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    daemon = ctx.Process(target=_in_a_daemon, args=(queue,), daemon=True)
    daemon.start()
    try:
        assert queue.get(timeout=30) == ("ok", 6)
    finally:
        daemon.join(10)
    assert daemon.exitcode == 0


def test_the_report_comes_back_as_plain_data() -> None:
    # pyHanko's field names are str subclasses that keep the whole parsed PDF reachable:
    # pickled as they are, every verification would copy megabytes from child to parent.
    import pickle

    from _pki_helpers import _pki_set, sealed_pdf
    from renderers.environment import Environment
    from service.sandbox import verify_untrusted

    report = verify_untrusted(sealed_pdf(Environment.PRODUCTION), _pki_set().trust)
    assert report.verdict.value == "VALID", report.reasons
    assert type(report.signatures[0].field) is str and report.signatures[0].field == "CertsealSeal"
    assert len(pickle.dumps(report)) < 20_000
