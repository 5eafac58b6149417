"""The sealing commands end to end, as a user runs them: `pki init` (with CA services) →
`issue` (default B-LTA) → `verify` offline → `extend` → `audit verify`, and the B-B note for a
production PKI without a TSA."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_cli_end_to_end import CHED_PP_SAMPLE, run, sample_with


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("seal-home")
    run("pki", "init", "--env", "training", home=home, check=True)
    return home


@pytest.fixture(scope="module")
def original(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seal-out") / "training.pdf"
    proc = run("issue", str(CHED_PP_SAMPLE), "-o", str(out), home=home, check=True)
    assert "PAdES B-LTA" in proc.stdout
    return out


def test_pki_init_records_the_local_ca_services(home):
    config = (home / "config.toml").read_text()
    assert 'tsa_url = "http://127.0.0.1:' in config and "responder_port = " in config
    assert "local_ca = " in config


def test_issued_original_is_b_lta_and_verifies_offline(home, original):
    proc = run("verify", str(original), "--json", home=home)
    report = json.loads(proc.stdout)
    assert proc.returncode == 3, report["reasons"]
    seal = report["signatures"][0]
    assert (seal["level"], seal["revocation"], seal["trusted"]) == ("B-LTA", "good", True)
    assert seal["timestamp"] is not None


def test_verify_years_later(home, original):
    proc = run("verify", str(original), "--json", "--at", "2031-06-01T00:00:00+00:00", home=home)
    assert proc.returncode == 3, proc.stdout
    assert json.loads(proc.stdout)["signatures"][0]["trusted"] is True


def test_extend_then_audit(home, original, tmp_path):
    out = tmp_path / "extended.pdf"
    run("extend", str(original), "-o", str(out), home=home, check=True)
    assert out.read_bytes().startswith(original.read_bytes())
    proc = run("verify", str(out), "--json", home=home)
    assert proc.returncode == 3 and json.loads(proc.stdout)["signatures"][0]["level"] == "B-LTA"
    audit = run("audit", "verify", home=home)
    assert audit.returncode == 0, audit.stderr
    assert "chain intact" in audit.stdout
    records = [json.loads(line) for line in (home / "audit.log").read_text().splitlines()]
    assert [r["outcome"] for r in records][-2:] == ["sealed", "extended"]


def test_audit_verify_fails_on_a_tampered_log(home, original, tmp_path):
    log = tmp_path / "audit.log"
    lines = (home / "audit.log").read_text().splitlines()
    log.write_text("\n".join(reversed(lines)) + "\n" if len(lines) > 1 else lines[0].replace("sealed", "forged") + "\n")
    proc = run("audit", "verify", str(log), home=home)
    assert proc.returncode == 1 and "BROKEN" in proc.stdout


def test_production_without_tsa_defaults_to_b_b_with_a_note(tmp_path):
    home = tmp_path / "prod-home"
    proc = run("pki", "init", "--env", "production", home=home, check=True)
    assert "default to PAdES B-B" in proc.stdout
    src = sample_with(tmp_path, environment="production")
    out = tmp_path / "prod.pdf"
    issued = run("issue", str(src), "-o", str(out), home=home, check=True)
    assert "PAdES B-B" in issued.stdout
    refused = run("issue", str(src), "-o", str(tmp_path / "x.pdf"), "--level", "B-T", home=home)
    assert refused.returncode == 1 and "timestamp authority" in refused.stderr
    assert not (tmp_path / "x.pdf").exists()
