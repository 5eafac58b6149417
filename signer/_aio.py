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


def run_sync(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Decide first, run outside the except block: otherwise every exception logged during the
    # run carries a misleading "no running event loop" context in its traceback.
    if not _loop_running():
        return asyncio.run(make_coro())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()
