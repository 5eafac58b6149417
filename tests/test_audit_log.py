"""The hash-chained audit log: every seal appends one line; any edit, removal or reordering
is detected; concurrent writers never fork the chain; secrets never reach it."""
from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest

from _pki_helpers import REFERENCE, pkis, unsigned_pdf  # noqa: F401
from renderers.environment import Environment
from service.config import EnvironmentConfig
from service.issuing import seal_and_record
from signer.audit import AuditEntry, AuditLogError, append_entry, verify_log
from signer.errors import SealingError


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        operation="seal", reference=f"CHEDPP.BE.2026.{n:07d}", version=1, environment="training",
        key_label="pkcs12:/keys/seal.p12", signer_serial="1f", signer_issuer="CN=root", unsigned_sha256="a" * 64,
        signed_sha256="b" * 64, level="B-LTA", tsa_time="2026-01-01T00:00:00+00:00", outcome="sealed",
    )


def _log(tmp_path: Path, n: int = 5) -> Path:
    path = tmp_path / "audit.log"
    for i in range(n):
        append_entry(path, _entry(i))
    return path


def test_an_untouched_log_verifies(tmp_path):
    path = _log(tmp_path)
    check = verify_log(path)
    assert check.ok and check.lines == 5 and check.head_seq == 5
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev"] == "0" * 64
    assert all(b["prev"] == a["hash"] for a, b in zip(records, records[1:]))
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_edited_line_is_detected(tmp_path):
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"sealed"', '"refused: nothing"')
    path.write_text("\n".join(lines) + "\n")
    check = verify_log(path)
    assert not check.ok
    assert any("line 3" in p and "edited" in p for p in check.problems)


def test_an_edited_line_with_a_recomputed_hash_still_breaks_the_chain(tmp_path):
    import hashlib

    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["signed_sha256"] = "c" * 64
    body = {k: v for k, v in record.items() if k != "hash"}
    record["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    check = verify_log(path)
    assert not check.ok
    assert any("line 3" in p and "does not follow" in p for p in check.problems)


def test_a_removed_line_is_detected(tmp_path):
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    check = verify_log(path)
    assert not check.ok and any("removed" in p for p in check.problems)


def test_reordered_lines_are_detected(tmp_path):
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("\n".join(lines) + "\n")
    assert not verify_log(path).ok


def test_a_removed_tail_is_detected_against_a_recorded_head(tmp_path):
    path = _log(tmp_path)
    head = verify_log(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    assert verify_log(path).ok  # a chain alone cannot know it lost its end…
    check = verify_log(path, expect_head=f"{head.head_seq}:{head.head_hash}")
    assert not check.ok and any("removed from the end" in p for p in check.problems)


def test_a_truncated_last_line_is_detected(tmp_path):
    path = _log(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    assert not verify_log(path).ok


def _append_many(args):
    path, start = args
    for i in range(start, start + 25):
        append_entry(Path(path), _entry(i))


def test_concurrent_writers_keep_one_chain(tmp_path):
    path = tmp_path / "audit.log"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_append_many, [(str(path), k * 100) for k in range(4)])
    check = verify_log(path)
    assert check.ok, check.problems
    assert check.lines == 100


def test_appending_to_a_damaged_log_is_refused(tmp_path):
    path = _log(tmp_path, 2)
    with path.open("a") as fh:
        fh.write("not json\n")
    with pytest.raises(AuditLogError, match="damaged"):
        append_entry(path, _entry(9))


def _env_cfg(pkis, tmp_path) -> EnvironmentConfig:
    return EnvironmentConfig(environment=Environment.TRAINING, trust_roots=(pkis.envs[Environment.TRAINING].files.root_pem,),
                             audit_log=tmp_path / "audit.log")


def test_every_seal_and_every_refusal_is_recorded(pkis, tmp_path):
    env_cfg = _env_cfg(pkis, tmp_path)
    key = pkis.key(Environment.TRAINING)
    pdf = unsigned_pdf(Environment.TRAINING)
    result = seal_and_record(pdf, key, env_cfg, reference=REFERENCE, version=3)
    with pytest.raises(SealingError):
        seal_and_record(pdf, key, env_cfg, reference=REFERENCE, level="B-LTA")  # no TSA configured
    records = [json.loads(line) for line in env_cfg.audit_log.read_text().splitlines()]
    assert len(records) == 2 and verify_log(env_cfg.audit_log).ok
    ok, refused = records
    import hashlib

    assert ok["outcome"] == "sealed" and ok["level"] == "B-B" and ok["version"] == 3
    assert ok["reference"] == REFERENCE and ok["environment"] == "training"
    assert ok["unsigned_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert ok["signed_sha256"] == hashlib.sha256(result.pdf).hexdigest()
    assert ok["signer_serial"] == format(key.certificate.serial_number, "x")
    assert ok["signer_issuer"] == key.certificate.issuer.rfc4514_string()
    assert ok["key_label"].startswith("pkcs12:") and ok["tsa_time"] is None
    assert refused["outcome"].startswith("refused: ") and refused["signed_sha256"] is None


def test_no_passphrase_reaches_the_log(pkis, tmp_path):
    env_cfg = replace(_env_cfg(pkis, tmp_path), key_passphrase=b"super-secret-passphrase")
    seal_and_record(unsigned_pdf(Environment.TRAINING), pkis.key(Environment.TRAINING), env_cfg, reference=REFERENCE)
    secret = pkis.envs[Environment.TRAINING].files.passphrase_file.read_text().strip()
    text = env_cfg.audit_log.read_text()
    assert secret not in text and "super-secret-passphrase" not in text
