"""Run a coroutine from synchronous code, whether or not an event loop is already running.

pyHanko's synchronous wrappers call `asyncio.run`, which fails inside a running loop (an async
web handler, some Celery pools). Our sync entry points use this instead: no loop → run here;
a loop is running → run on a short-lived worker thread with its own loop.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _result_aside(coro: Coroutine[Any, Any, T], box: list[T]) -> None:
    box.append(await coro)


def _run(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # The result does not become the main task's: on the main thread asyncio.run looks up its
    # SIGINT handler twice on the way out, and each lookup (signal.getsignal, through an enum)
    # formats the repr of that handler and so of the finished task, result included: a whole
    # sealed PDF or verification report, ~5 % of a seal's CPU.
    box: list[T] = []
    asyncio.run(_result_aside(make_coro(), box))
    return box[0]


def run_sync(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Decide first, run outside the except block: otherwise every exception logged during the
    # run carries a misleading "no running event loop" context in its traceback.
    if not _loop_running():
        return _run(make_coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_run, make_coro).result()
