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


def long_consignment(data: dict, lines: int) -> dict:
    """A copy of sample `data` whose commodity list has `lines` lines (the sample's lines
    repeated, numbered apart by batch / description), with totals to match. For pagination
    tests and the long CHED-P sample (see tests/make_long_samples.py)."""
    import copy
    from decimal import Decimal

    result = copy.deepcopy(data)
    fields = result["fields"]
    base = fields["commodities"]
    rows = []
    for i in range(lines):
        row = dict(base[i % len(base)])
        row["net_weight_kg"] = float(Decimal(str(row["net_weight_kg"])) / 50 + i % 7)
        if "packages" in row:
            row["packages"] = 5 + i % 11
        tag = f"line {i + 1:03d}"
        if "batch" in row:
            row["batch"] = f"{row['batch']}-{i + 1:03d}"
        row["description"] = f"{row.get('description', '')} – {tag}".strip(" –")
        rows.append(row)
    fields["commodities"] = rows
    net = sum(Decimal(str(r["net_weight_kg"])) for r in rows)
    fields["total_weight"] = {"net_kg": float(net), "gross_kg": float(net * Decimal("1.07"))}
    if "total_packages" in fields:
        fields["total_packages"] = sum(r.get("packages", 0) for r in rows)
        fields["total_quantity"] = f"{fields['total_packages']} cartons"
    return result
