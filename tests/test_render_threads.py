"""Renders in several threads at once (the HTTP API's preview and issue endpoints run in a
thread pool) share the process's memories (style templates, attribute declarations, line
breaks, drawn lines): each still gives the bytes it gives alone."""
from __future__ import annotations

import random
import sys
from concurrent.futures import ThreadPoolExecutor

from renderers.reload import clear_caches
from renderers.render import render_certificate
from _render_helpers import sample_certificate

_CERTIFICATES = [
    ("roses-ke-nl", "CHED-PP", None), ("roses-ke-nl", "CHED-PP", "zh"), ("roses-ke-nl", "CHED-PP", "ar"),
    ("peppers-tr-fr", "CHED-D", None), ("bovine-nl-be", "INTRA", None),
]


def test_renders_in_threads_give_the_bytes_they_give_alone():
    certificates = [sample_certificate(*spec) for spec in _CERTIFICATES]
    alone = [render_certificate(cert).data for cert in certificates]
    clear_caches()  # the threads start with empty memories and fill them together
    work = [index for index in range(len(certificates)) for _ in range(3)]
    random.Random(7).shuffle(work)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns far more often than usual
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            rendered = list(pool.map(lambda index: render_certificate(certificates[index]).data, work))
    finally:
        sys.setswitchinterval(interval)
    differing = [_CERTIFICATES[index] for index, data in zip(work, rendered) if data != alone[index]]
    assert not differing
