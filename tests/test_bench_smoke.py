"""`make bench` in its smallest form: the harness runs end to end on one input and writes a
JSON file with a positive number for every stage. No time is asserted (issue #8: the
benchmark reports targets, tests do not)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STAGES = ("parse", "html", "pdf", "seal_bb", "seal_blta", "verify", "verify_sandboxed", "naive_pdf", "naive_sign")


def test_quick_bench_writes_every_stage(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--inputs", "chedpp-nl-en", "--rounds", "1", "--warmup", "0",
         "--naive-rounds", "1", "--no-curve", "--no-worker", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))

    (entry,) = data["inputs"]
    assert entry["name"] == "chedpp-nl-en" and entry["languages"] == ["nl", "en"]
    assert entry["pages"] >= 1 and entry["pages"] == entry["pages_in_pdf"]
    # The sealed B-LTA original verified as what it is (a training document), in process and sandboxed.
    assert entry["verdicts"] == {"verify": "NO_LEGAL_VALUE", "verify_sandboxed": "NO_LEGAL_VALUE"}
    for stage in STAGES:
        summary = entry["stages"][stage]
        assert summary["rounds"] == 1 and summary["median_ms"] > 0 and summary["p95_ms"] > 0, stage
        assert summary["docs_per_s"] > 0 and summary["peak_rss_mb"] > 0, stage
    for name in ("issue", "naive_issue"):
        assert entry["composites"][name]["median_ms"] > 0, name
    # One round: the end-to-end issue is exactly its four stages of that round.
    issue = entry["composites"]["issue"]["median_ms"]
    assert issue == pytest.approx(sum(entry["stages"][s]["median_ms"] for s in ("parse", "html", "pdf", "seal_bb")))
    # The pdf stage split into WeasyPrint's steps (bench.render_phases), adding up to the stage.
    phases = {name: summary["median_ms"] for name, summary in entry["pdf_phases"].items()}
    assert set(phases) == {"styles", "boxes", "layout", "drawing", "writing", "other"}
    assert all(phases[name] > 0 for name in ("styles", "boxes", "layout", "drawing", "writing")), phases
    assert sum(phases.values()) == pytest.approx(entry["stages"]["pdf"]["median_ms"])
    assert entry["composites"]["issue_less_layout"]["median_ms"] == pytest.approx(issue - phases["layout"])
    assert entry["naive_ratio"]["issue"] > 0 and entry["peak_rss_mb"] > 0
    assert {t["name"] for t in data["targets"]} >= {"chedpp-nl-en issue median", "chedpp-nl-en naive/certseal (issue)"}
    # The same numbers reach the terminal.
    assert "= issue (parse+HTML+PDF+seal B-B)" in run.stdout and "naive ÷ certseal" in run.stdout
    assert "- layout" in run.stdout and "- issue without its layout step" in run.stdout


def test_each_round_issues_a_certificate_of_its_own():
    from bench.inputs import ched_pp, intra_sps
    from renderers.model import parse_certificate

    chedpp = ched_pp("en")
    references = [parse_certificate(json.loads(chedpp.raw_for_round(i))).reference for i in range(3)]
    assert len(set(references)) == 3 and chedpp.reference not in references
    assert all(len(r) == len(chedpp.reference) and r[:-7] == chedpp.reference[:-7] for r in references)
    sps = intra_sps()
    if sps is not None:  # shared/ beside the checkout: the SPS XML renumbered everywhere it says it
        renumbered = sps.raw_for_round(0)
        assert sps.reference.encode() not in renumbered and len(renumbered) == len(sps.raw)
