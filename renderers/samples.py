"""Sample certificates shipped with each model (templates/models/<dir>/samples/*.json), for
previews, the demo and tests. Demo samples are `training` documents."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from renderers.model import MODELS_DIR, available_models, load_model
from renderers.resources import templates_dir


@dataclass(frozen=True)
class SamplePath:
    model: str  # model id, e.g. "CHED-PP"
    name: str  # file stem, e.g. "roses-ke-nl"
    path: Path


def list_samples(model: str | None = None) -> list[SamplePath]:
    found = []
    for model_id in [model] if model else available_models():
        directory = templates_dir() / MODELS_DIR / load_model(model_id).directory / "samples"
        for path in sorted(directory.glob("*.json")):
            found.append(SamplePath(model=model_id, name=path.stem, path=path))
    return found


def load_sample(model: str, name: str) -> dict:
    for sample in list_samples(model):
        if sample.name == name:
            with sample.path.open(encoding="utf-8") as fh:
                return json.load(fh)
    names = ", ".join(s.name for s in list_samples(model)) or "none"
    raise KeyError(f"no sample {name!r} for model {model} (available: {names})")
