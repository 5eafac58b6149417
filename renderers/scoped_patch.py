"""What certseal's replacements of WeasyPrint internals share: each applies only to the
WeasyPrint source it was checked against, and only inside certseal's own renders.

- `source_sha256(function)`: the checksum a replacement records for the method it replaces;
  a WeasyPrint release that changes the method keeps its own, and a test says so
  (`sources_sha256(*functions)` for one that relies on several).
- `Scope`: a switch that is on inside `with scope.on():`, in that context only (threads and
  tasks each have their own), so the bench's naive baseline and any other WeasyPrint document
  in the process run WeasyPrint unchanged.
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


def source_sha256(function: Callable) -> str:
    """sha256 of the function's source text; "" when the source is not shipped."""
    try:
        return hashlib.sha256(inspect.getsource(function).encode("utf-8")).hexdigest()
    except (OSError, TypeError):
        return ""


def sources_sha256(*functions: Callable) -> str:
    """One checksum over several functions' sources, for a replacement that relies on them all."""
    digests = "".join(source_sha256(function) for function in functions)
    return hashlib.sha256(digests.encode("ascii")).hexdigest()


class Scope:
    def __init__(self, name: str, *, when_left: Callable[[], None] | None = None) -> None:
        self._on: ContextVar[bool] = ContextVar(name, default=False)
        # Called as the outermost `on()` block of a context ends (a render's end).
        self._when_left = when_left
        # Is the switch on here? Bound to ContextVar.get: replacements ask it on every call
        # (the computed-style path some 40,000 times a render).
        self.active: Callable[[], bool] = self._on.get

    @contextmanager
    def on(self) -> Iterator[None]:
        token = self._on.set(True)
        try:
            yield
        finally:
            self._on.reset(token)
            if self._when_left is not None and not self._on.get():
                self._when_left()
