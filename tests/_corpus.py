"""Where the public attack corpus (shared/corpus) is: beside the checkout, as CI clones it, or
the workplace copy; None where neither is on the machine."""
from __future__ import annotations

from pathlib import Path

_CANDIDATES = (Path(__file__).resolve().parents[2] / "shared" / "corpus", Path("/work/shared/corpus"))


def shared_corpus(sub: str = "") -> Path | None:
    return next((p / sub for p in _CANDIDATES if (p / sub).is_dir()), None)
