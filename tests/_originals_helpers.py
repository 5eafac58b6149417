"""Test support for service.originals: sample certificates and services whose sealing is fake.

The issuing protocol is about the store and the registry, not about PDF: `FakeServices` seals
by writing the certificate's canonical JSON plus a random nonce (two seals of one certificate
differ, as real ones do) and "verifies" by reading the environment back, so a protocol test
runs in milliseconds against a real LocalStore and a real SQLite / PostgreSQL registry.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from renderers.model import Certificate
from renderers.samples import load_sample
from service.config import load_config
from service.registry import open_registry
from service.services import Services
from service.store import LocalStore
from signer.report import Finding, FindingKind, Report, Verdict

SAMPLE = ("INTRA", "bovine-nl-be")  # the quickest sample to render and seal
FAKE_MAGIC = b"%PDF-1.7 fake original\n"
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def certificate(n: int, *, env: str = "training", version: int = 1, replaces: str | None = None) -> dict:
    data = copy.deepcopy(load_sample(*SAMPLE))
    data.update(reference=reference(n), version=version, environment=env)
    if replaces:
        data["replaces"] = replaces
    return data


def reference(n: int) -> str:
    return f"INTRA.EU.NL.2026.{n:07d}"


def fake_embedded(data: bytes) -> bytes | None:
    if not data.startswith(FAKE_MAGIC):
        return None
    return data[len(FAKE_MAGIC):].split(b"\n", 1)[0]


class FakeServices(Services):
    def __init__(self, store_root: Path, registry_url: str, *, deterministic: bool = False,
                 verdict: Verdict | None = None, stale_claim_seconds: float = 240.0) -> None:
        super().__init__(load_config(), LocalStore(store_root), open_registry(registry_url),
                         stale_claim_seconds=stale_claim_seconds)
        self.deterministic = deterministic
        self.forced_verdict = verdict
        self.seals = 0

    def seal(self, cert: Certificate, level: str | None) -> bytes:
        self.seals += 1
        nonce = b"same" if self.deterministic else uuid.uuid4().hex.encode()
        return FAKE_MAGIC + cert.source_json + b"\n" + nonce + b"\n"

    def verify(self, data: bytes) -> Report:
        sha = hashlib.sha256(data).hexdigest()
        if self.forced_verdict is not None:
            return Report(sha, (Finding(FindingKind.BROKEN_SEAL, self.forced_verdict, "forced by the test"),))
        env = json.loads(fake_embedded(data) or b"{}").get("environment")
        if env == "production":
            return Report(sha)
        return Report(sha, (Finding(FindingKind.NO_LEGAL_VALUE, Verdict.NO_LEGAL_VALUE, "training"),))

    def check_sealed(self, data: bytes) -> Report:
        return self.verify(data)  # the fake originals are not PDFs: one verdict source for both


@pytest.fixture
def fake_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    import service.originals

    monkeypatch.setattr(service.originals, "embedded_certificate", fake_embedded)


def pg_unreachable() -> str | None:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip", with the reason
        return f"PostgreSQL at {PG_URL} unreachable: {exc}".strip()
    return None


def pg_schema_url() -> Iterator[str]:
    """A libpq URL whose search_path is a fresh schema, dropped afterwards."""
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"certseal_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def assert_store_clean(root: Path, registered: dict[str, str]) -> None:
    """Every blob hashes to its name, the objects are exactly the registered originals, and
    nothing is pending or half-written. `registered`: sha256 → what it is (for messages)."""
    store = LocalStore(root)
    for sha in store.list_objects():
        assert hashlib.sha256(store.object_path(sha).read_bytes()).hexdigest() == sha
    assert set(store.list_objects()) == set(registered), "objects ≠ registered originals"
    assert store.list_pending() == [], f"left pending: {store.list_pending()}"
    assert store.temp_files() == [], f"half-written files: {store.temp_files()}"
