"""Progress of a long run of items, for a person at a terminal or for a log.

On a terminal: one line redrawn in place (bar, done / total, failed, rate, ETA); the lines of
failed items are printed above it as they happen, so they stay on screen. Not on a terminal
(a pipe, a CI log, a file): every item's line, and nothing else — carriage returns and
escape sequences would only garble a log.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TextIO

_MIN_REDRAW_SECONDS = 0.1  # thousands of quick items (e.g. skipped ones) must not flood the terminal
_CLEAR_LINE = "\r\x1b[K"
_SETTLE_SECONDS = 1.0


def format_duration(seconds: float) -> str:
    """`0:07`, `12:30`, `2:05:00`."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts items as they finish and shows it. `live`: redraw a bar (default: when `stream`
    is a terminal)."""

    def __init__(self, total: int, stream: TextIO, *, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream
        self._live = _is_terminal(stream) if live is None else live
        self._clock = clock
        self._started = clock()
        self._last_draw = float("-inf")

    @property
    def live(self) -> bool:
        return self._live

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    @property
    def rate(self) -> float:
        """Items per second since the start."""
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, line: str, *, failed: bool = False) -> None:
        """One item finished; `line` says how (always logged when not live; shown above the
        bar when live and the item failed)."""
        self.done += 1
        self.failed += failed
        if not self._live:
            self._stream.write(line + "\n")
            self._stream.flush()
            return
        if failed:
            self._stream.write(_CLEAR_LINE + line + "\n")
            self._draw()
        else:
            self.tick()

    def note(self, line: str) -> None:
        """A message that is not an item (kept above the bar when live)."""
        self._stream.write((_CLEAR_LINE if self._live else "") + line + "\n")
        if self._live:
            self._draw()
        else:
            self._stream.flush()

    def tick(self) -> None:
        """Redraw (when live) so elapsed time and ETA move even while no item finishes."""
        if self._live and self._clock() - self._last_draw >= _MIN_REDRAW_SECONDS:
            self._draw()

    def finish(self) -> None:
        """Leave the final bar on its own line (when live)."""
        if self._live:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def status(self, width: int = 80) -> str:
        """The bar line, fitted to `width` columns."""
        rate = self.rate
        # Within the first second a few instant items (refused at once) make a rate of
        # thousands per second: no estimate is better than that one.
        settled = self.elapsed >= _SETTLE_SECONDS and rate > 0
        remaining = self.total - self.done
        if remaining == 0:
            eta = f"done in {format_duration(self.elapsed)}"
        elif settled:
            eta = f"ETA {format_duration(remaining / rate)}"
        else:
            eta = "ETA --:--"
        counts = f" {self.done}/{self.total}"
        if self.failed:
            counts += f"  failed {self.failed}"
        text = f"{counts}  {f'{rate:.1f}' if settled else '-.-'}/s  {eta}"
        bar_width = min(40, width - len(text) - 3)
        if bar_width < 5:
            return text.strip()[:max(width - 1, 1)]
        filled = bar_width * self.done // self.total if self.total else bar_width
        return "[" + "#" * filled + "-" * (bar_width - filled) + "]" + text

    def _draw(self) -> None:
        width = shutil.get_terminal_size(fallback=(80, 24)).columns
        self._stream.write(_CLEAR_LINE + self.status(width))
        self._stream.flush()
        self._last_draw = self._clock()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fake stream
        return False
