"""Renders asked for in several threads at once (the HTTP API renders in its thread pool) run
one at a time, since Pango is not thread-safe, and each gives the bytes it gives alone, while
they share the process's memories (style templates, attribute declarations, line breaks,
drawn lines)."""
from __future__ import annotations

import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import renderers.pdf as pdf_module
from renderers.reload import clear_caches
from renderers.render import render_certificate
from _render_helpers import sample_certificate

_CERTIFICATES = [
    ("roses-ke-nl", "CHED-PP", None), ("roses-ke-nl", "CHED-PP", "zh"), ("roses-ke-nl", "CHED-PP", "ar"),
    ("peppers-tr-fr", "CHED-D", None), ("bovine-nl-be", "INTRA", None),
]


def test_renders_in_threads_run_one_at_a_time_and_give_the_bytes_they_give_alone(monkeypatch):
    certificates = [sample_certificate(*spec) for spec in _CERTIFICATES]
    alone = [render_certificate(cert).data for cert in certificates]
    clear_caches()  # the threads start with empty memories and fill them together

    running, most = [0], [0]
    counter = threading.Lock()
    render = pdf_module._html_to_pdf

    def counted(html, cert):
        with counter:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return render(html, cert)
        finally:
            with counter:
                running[0] -= 1

    monkeypatch.setattr(pdf_module, "_html_to_pdf", counted)
    work = [index for index in range(len(certificates)) for _ in range(3)]
    random.Random(7).shuffle(work)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns far more often than usual
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            rendered = list(pool.map(lambda index: render_certificate(certificates[index]).data, work))
    finally:
        sys.setswitchinterval(interval)
    assert most[0] == 1
    differing = [_CERTIFICATES[index] for index, data in zip(work, rendered) if data != alone[index]]
    assert not differing
