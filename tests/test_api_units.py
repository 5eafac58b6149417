"""The API's small parts on their own: token configuration, role rules, language choice, the
page catalog, the registry view, the verification deadline, and token-protected open endpoints."""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from renderers.environment import Environment
from service.api_certificates import status_document
from service.api_config import ApiConfig, Role, load_api_config, read_tokens_file
from service.api_page import catalog, choose_language, verify_page
from service.api_verify import Verifier, signed_revision
from service.config import ConfigError, load_config
from signer.report import FindingKind, Verdict
from signer.trust import TrustStore


def tokens_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tokens.toml"
    path.write_text(body)
    return path


def test_tokens_file_binds_each_token_to_one_role_and_environment(tmp_path: Path) -> None:
    secret = "s3cret-token-for-production"
    path = tokens_file(tmp_path, f"""
[[tokens]]
name = "prod"
role = "issuer"
environment = "production"
sha256 = "{hashlib.sha256(secret.encode()).hexdigest()}"

[[tokens]]
name = "preview"
role = "previewer"
environment = "training"
token = "a-plain-token-of-enough-length"
""")
    tokens = read_tokens_file(path)
    api = ApiConfig(tokens=tokens)
    prod = api.find_token(secret)
    assert prod is not None and (prod.name, prod.role, prod.environment) == ("prod", Role.ISSUER, Environment.PRODUCTION)
    assert api.find_token("a-plain-token-of-enough-length").role is Role.PREVIEWER
    assert api.find_token("") is None and api.find_token(secret + "x") is None
    assert prod.may(Role.ISSUER) and prod.may(Role.PREVIEWER)
    preview = api.find_token("a-plain-token-of-enough-length")
    assert preview.may(Role.PREVIEWER) and not preview.may(Role.ISSUER)
    assert secret not in repr(tokens) and "a-plain-token" not in repr(tokens)


@pytest.mark.parametrize("entry, words", [
    ('role = "admin"\nenvironment = "training"\ntoken = "0123456789abcdefXYZ"', "role"),
    ('role = "issuer"\nenvironment = "staging"\ntoken = "0123456789abcdefXYZ"', "environment"),
    ('role = "issuer"\nenvironment = "training"\ntoken = "short"', "at least 16"),
    ('role = "issuer"\nenvironment = "training"\nsha256 = "abc"', "64 hex"),
])
def test_bad_token_entries_are_refused_without_echoing_the_secret(tmp_path: Path, entry: str, words: str) -> None:
    path = tokens_file(tmp_path, f'[[tokens]]\nname = "x"\n{entry}\n')
    with pytest.raises(ConfigError, match=words) as info:
        read_tokens_file(path)
    assert "0123456789abcdef" not in str(info.value)


def test_api_table_and_variables(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[api]\ntokens_file = "t.toml"\nmax_upload_bytes = 1000\n')
    tokens_file(tmp_path, "")
    (tmp_path / "t.toml").write_text('[[tokens]]\nrole = "issuer"\nenvironment = "training"\ntoken = "0123456789abcdefXYZ"\n')
    config = load_config(environ={}, home=tmp_path)
    api = load_api_config(config, environ={})
    assert api.max_upload_bytes == 1000 and len(api.tokens) == 1 and not api.verify_requires_token
    api = load_api_config(config, environ={"CERTSEAL_API_MAX_UPLOAD_BYTES": "5", "CERTSEAL_API_VERIFY_REQUIRES_TOKEN": "yes"})
    assert api.max_upload_bytes == 5 and api.verify_requires_token
    with pytest.raises(ConfigError, match="max_upload_bytes"):
        load_api_config(config, environ={"CERTSEAL_API_MAX_UPLOAD_BYTES": "-1"})
    with pytest.raises(ConfigError, match="no API tokens"):
        load_api_config(load_config(environ={}, home=tmp_path / "empty"), environ={"CERTSEAL_API_VERIFY_REQUIRES_TOKEN": "1"})


@pytest.mark.parametrize("query, header, expected", [
    (None, "fr-CH, fr;q=0.9, en;q=0.8", "fr"),
    (None, "en;q=0.1, nl;q=0.8", "nl"),
    (None, "ja, pt-BR", "en"),
    (None, "de;q=0, es", "es"),
    (None, "garbage;;;q=x, it", "it"),
    ("pl", "de", "pl"),
    ("xx", "de", "de"),
    (None, None, "en"),
])
def test_language_choice(query: str | None, header: str | None, expected: str) -> None:
    assert choose_language(query, header) == expected


def test_page_catalog_is_complete_in_every_language() -> None:
    labels = catalog()
    assert {"en", "fr", "de", "nl", "es", "it", "pl"} <= set(labels)
    keys = set(labels["en"])
    for lang, table in labels.items():
        assert set(table) == keys, (lang, keys ^ set(table))
        assert all(isinstance(v, str) and v.strip() for v in table.values()), lang
    for verdict in Verdict:
        assert f"verdict_{verdict.value}" in keys and f"advice_{verdict.value}" in keys
    for kind in FindingKind:
        assert f"kind_{kind.name}" in keys, kind
    assert {"kind_REPLACED", "kind_CANCELLED"} <= keys


def test_labels_json_cannot_break_out_of_its_script_block() -> None:
    html = verify_page("en", token_required=False, max_upload_bytes=1)
    block = html.split('<script type="application/json" id="labels">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block
    assert json.loads(block)["title"] == "Certificate verification"


def test_status_document_hides_claims_and_names_the_current_version() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)

    def entry(version: int, status: str, replaced_by: tuple[str, int] | None = None) -> SimpleNamespace:
        return SimpleNamespace(version=version, status=SimpleNamespace(value=status), environment="production",
                               model="CHED-PP", sha256="ab" * 32, created_at=now, updated_at=now,
                               replaced_by=replaced_by, claim_token="secret-claim")

    doc = status_document("R", [entry(2, "issued"), entry(1, "replaced", ("R", 2)), entry(3, "claimed")])
    assert doc["status"] == "issued" and doc["current_version"] == 2
    assert [v["version"] for v in doc["versions"]] == [1, 2]
    assert "secret-claim" not in json.dumps(doc)
    assert status_document("R", [entry(1, "cancelled")])["status"] == "cancelled"
    assert status_document("R", [])["found"] is False


def test_a_verification_past_its_deadline_is_indeterminate_not_an_error() -> None:
    def slow_trust() -> TrustStore:
        time.sleep(1.5)
        return TrustStore({})

    verifier = Verifier(slow_trust, timeout_seconds=0.3, workers=1)
    try:
        done = asyncio.run(verifier.verify(b"%PDF-1.7\n"))
    finally:
        verifier.close()
    assert done.report.verdict is Verdict.INDETERMINATE
    assert "did not finish" in done.report.reasons[0]


def test_queued_uploads_are_not_charged_for_waiting() -> None:
    """With one worker and a deadline shorter than the queue, every upload still gets its verdict."""
    verifier = Verifier(lambda: TrustStore({}), timeout_seconds=5, workers=1)

    async def many() -> list:
        return await asyncio.gather(*(verifier.verify(b"not a pdf") for _ in range(6)))

    try:
        results = asyncio.run(many())
    finally:
        verifier.close()
    assert all(r.report.verdict is Verdict.INVALID for r in results)


def test_signed_revision_of_garbage_is_none() -> None:
    assert signed_revision(b"") is None
    assert signed_revision(b"%PDF-1.7\n/ByteRange [0 1 2 3]") is None


def test_open_endpoints_can_require_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.api import create_app

    (tmp_path / "t.toml").write_text('[[tokens]]\nname = "border"\nrole = "verifier"\nenvironment = "production"\n'
                                     'token = "border-staff-token-123456"\n')
    environ = {"CERTSEAL_API_TOKENS_FILE": str(tmp_path / "t.toml"), "CERTSEAL_API_VERIFY_REQUIRES_TOKEN": "1",
               "CERTSEAL_STORE": str(tmp_path / "store"), "CERTSEAL_REGISTRY": str(tmp_path / "r.sqlite")}
    app = create_app(load_config(environ=environ, home=tmp_path), environ=environ)
    with TestClient(app) as client:
        body = {"content": b"%PDF-1.7", "headers": {"Content-Type": "application/pdf"}}
        assert client.post("/verify", **body).status_code == 401
        assert client.get("/certificates/X").status_code == 401
        ok = client.post("/verify", content=b"%PDF-1.7", headers={"Content-Type": "application/pdf",
                                                                  "Authorization": "Bearer border-staff-token-123456"})
        assert ok.status_code == 200 and ok.json()["verdict"] == "INVALID"
        page = client.get("/")
        assert page.status_code == 200 and 'id="token"' in page.text  # the page asks for the token
        # A verifier token opens verification only: it cannot render.
        render = client.post("/render", json={}, headers={"Authorization": "Bearer border-staff-token-123456"})
        assert render.status_code == 403


def test_the_configured_sandbox_limits_reach_api_verification(tmp_path: Path) -> None:
    from service.api import create_app

    environ = {"CERTSEAL_STORE": str(tmp_path / "store"), "CERTSEAL_REGISTRY": str(tmp_path / "r.sqlite"),
               "CERTSEAL_VERIFY_MAX_FILE_MIB": "1"}
    app = create_app(load_config(environ=environ, home=tmp_path), environ=environ)
    with TestClient(app) as client:
        body = b"%PDF-1.7\n" + b"%" * (2 << 20)
        answer = client.post("/verify", content=body, headers={"Content-Type": "application/pdf"})
    assert answer.status_code == 200 and answer.json()["verdict"] == "INVALID"
    assert answer.json()["reasons"] == ["the file is 2 MiB, larger than any certificate original (1 MiB limit)"]


def test_a_bad_sandbox_limit_stops_the_api_at_start(tmp_path: Path) -> None:
    from service.api import create_app

    environ = {"CERTSEAL_VERIFY_CPU_SECONDS": "0"}
    with pytest.raises(ConfigError, match="CERTSEAL_VERIFY_CPU_SECONDS: must be positive"):
        create_app(load_config(environ=environ, home=tmp_path), environ=environ)
