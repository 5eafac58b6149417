"""Regenerate the long sample(s) from their short ones:

    .venv/bin/python tests/make_long_samples.py

templates/models/ched_p/samples/tuna-300-lines-nl-fr.json: the CHED-P tuna sample with 300
commodity lines (a multi-page certificate: repeated table head, no split rows).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from renderers.samples import load_sample, long_consignment  # noqa: E402
from renderers.resources import templates_dir  # noqa: E402


def main() -> None:
    data = long_consignment(load_sample("CHED-P", "tuna-vn-nl"), 300)
    data.update(reference="CHEDP.NL.2026.0004712", language="nl", destination_language="fr")
    target = templates_dir() / "models" / "ched_p" / "samples" / "tuna-300-lines-nl-fr.json"
    target.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main()
