"""Where the layout + PDF stage goes: WeasyPrint's steps, timed inside the measuring process.

    styles    the cascade: weasyprint.css.get_all_computed_styles (certseal's shared styles)
    boxes     the box tree: build_formatting_structure
    layout    pages, tables and lines: layout_document, margin boxes included
    drawing   each page's content stream: Page.paint
    writing   the rest of Document.write_pdf: fonts, structure tree, serialising, deflating
    other     what html_to_pdf does around them: parsing the HTML, finding the seal box, the
              garbage collection after the render

The times come from wrapping the names `weasyprint.document` calls, for the duration of
`timed()` only, in the bench's own process: certseal never installs these. A WeasyPrint
release that renames one leaves that step out of the split, and its time goes to "other".
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from weasyprint import document as _document

PHASES = ("styles", "boxes", "layout", "drawing", "writing", "other")
_WRAPPED = (  # (owner, attribute, phase)
    (_document, "get_all_computed_styles", "styles"),
    (_document, "build_formatting_structure", "boxes"),
    (_document, "layout_document", "layout"),
    (_document.Page, "paint", "drawing"),
    (_document.Document, "write_pdf", "pdf"),
)


def _timed_call(fn: Callable[..., Any], phase: str, totals: dict[str, float]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[phase] = totals.get(phase, 0.0) + (time.perf_counter() - start) * 1000

    return call


def _timed_generator(fn: Callable[..., Iterator[Any]], phase: str, totals: dict[str, float]) -> Callable[..., Any]:
    """layout_document is a generator: its work is done as the render takes each page."""

    def call(*args: Any, **kwargs: Any) -> Iterator[Any]:
        pages = fn(*args, **kwargs)
        while True:
            start = time.perf_counter()
            try:
                page = next(pages)
            except StopIteration:
                return
            finally:
                totals[phase] = totals.get(phase, 0.0) + (time.perf_counter() - start) * 1000
            yield page

    return call


@contextmanager
def timed(total_ms: Callable[[], float | None]) -> Iterator[dict[str, float]]:
    """Time WeasyPrint's steps while the block runs; afterwards the dict maps each of PHASES
    to milliseconds. `total_ms` gives the whole stage's time once the block has run (the
    stage's own measurement), from which "other" is what the steps do not account for."""
    totals: dict[str, float] = {}
    saved = []
    for owner, name, phase in _WRAPPED:
        fn = getattr(owner, name, None)
        if fn is None:
            continue
        saved.append((owner, name, fn, phase))
        wrap = _timed_generator if phase == "layout" else _timed_call
        setattr(owner, name, wrap(fn, phase, totals))
    phases: dict[str, float] = {}
    try:
        yield phases
    finally:
        for owner, name, fn, _ in saved:
            setattr(owner, name, fn)
    wrapped = {phase for *_, phase in saved}
    for phase in ("styles", "boxes", "layout", "drawing"):
        if phase in wrapped:
            phases[phase] = totals.get(phase, 0.0)
    if "pdf" in wrapped:
        phases["writing"] = max(totals.get("pdf", 0.0) - phases.get("drawing", 0.0), 0.0)
    total = total_ms()
    if total is not None:
        phases["other"] = max(total - sum(phases.values()), 0.0)
