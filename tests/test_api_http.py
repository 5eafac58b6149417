"""The HTTP API over real HTTP: `certseal serve` (uvicorn) on a free loopback port, real PDFs,
real PKIs, real tokens. Verdicts must be exactly the command line's."""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from _api_server import CERTSEAL, SECRETS, Server, World, bearer, sample_data, server_env, start_server, world
from service.api_verify import page_one_png, signed_revision

LIMIT = 2 << 20  # CERTSEAL_API_MAX_UPLOAD_BYTES of the test server


@pytest.fixture(scope="module")
def w() -> World:
    return world()


@pytest.fixture(scope="module")
def server(w: World, tmp_path_factory: pytest.TempPathFactory):
    yield from start_server(w, tmp_path_factory.mktemp("api-server"))


@pytest.fixture(scope="module")
def client(server: Server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


NAMES = ("production", "training", "tampered", "flipped")
EXPECTED = {"production": "VALID", "training": "NO_LEGAL_VALUE", "tampered": "INVALID", "flipped": "INVALID"}
EXIT = {"VALID": 0, "INVALID": 1, "INDETERMINATE": 2, "NO_LEGAL_VALUE": 3}


def upload(client: httpx.Client, path: Path, **params: str) -> httpx.Response:
    return client.post("/verify", files={"file": (path.name, path.read_bytes(), "application/pdf")}, params=params)


@pytest.fixture(scope="module")
def uploaded(server: Server, w: World) -> dict[str, httpx.Response]:
    """Each sample PDF uploaded once, all at the same time (verification is the slow part)."""
    def one(name: str) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=300) as c:
            return upload(c, getattr(w, name), thumbnail="true")

    with ThreadPoolExecutor(max_workers=len(NAMES)) as pool:
        return dict(zip(NAMES, pool.map(one, NAMES)))


@pytest.fixture(scope="module")
def cli_reports(w: World) -> dict[str, tuple[int, dict]]:
    """`certseal verify --json` on the same files, with the server's configuration."""
    def one(name: str) -> tuple[int, dict]:
        path = getattr(w, name)
        proc = subprocess.run([CERTSEAL, "verify", str(path), "--json"], capture_output=True, text=True,
                              timeout=300, env=server_env(w, path.parent))
        return proc.returncode, json.loads(proc.stdout)

    return {name: one(name) for name in NAMES}


# --- /verify: the same verdicts as the CLI -------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_verify_gives_the_cli_verdict_and_report(uploaded: dict, cli_reports: dict, w: World, name: str) -> None:
    r = uploaded[name]
    assert r.status_code == 200, r.text
    report = r.json()
    verdict = EXPECTED[name]
    assert report["verdict"] == verdict and r.headers["x-certseal-verdict"] == verdict, report["reasons"]
    code, cli = cli_reports[name]
    assert (code, cli["verdict"]) == (EXIT[verdict], verdict), cli["reasons"]
    stable = ("verdict", "reasons", "file_sha256", "reference", "environment", "signatures", "embedded_data")
    assert {k: report[k] for k in stable} == {k: cli[k] for k in stable}
    assert report["file_sha256"] == hashlib.sha256(getattr(w, name).read_bytes()).hexdigest()
    assert [f["message"] for f in report["findings"]] == report["reasons"]
    if verdict == "VALID":
        assert report["findings"] == [] and report["reasons"] == []


def test_concurrent_uploads_each_get_their_own_verdict(uploaded: dict, w: World) -> None:
    """The four uploads of `uploaded` ran at the same time on the server."""
    for name, r in uploaded.items():
        assert r.json()["verdict"] == EXPECTED[name]
        assert r.json()["file_sha256"] == hashlib.sha256(getattr(w, name).read_bytes()).hexdigest()


def test_verify_raw_pdf_body(client: httpx.Client, w: World) -> None:
    r = client.post("/verify", content=w.production.read_bytes(), headers={"Content-Type": "application/pdf"})
    assert r.status_code == 200 and r.json()["verdict"] == "VALID"
    assert r.json()["reference"] == w.production_reference


def test_thumbnail_is_page_one_of_the_signed_revision(uploaded: dict, w: World) -> None:
    """For a document edited after sealing, the thumbnail shows what the seal covers, not the edit."""
    tampered, original = uploaded["tampered"].json(), uploaded["production"].json()
    assert tampered["verdict"] == "INVALID" and original["verdict"] == "VALID"
    assert tampered["thumbnail"].startswith("data:image/png;base64,")
    assert tampered["thumbnail"] == original["thumbnail"]
    assert signed_revision(w.tampered.read_bytes()) == w.production.read_bytes()
    assert page_one_png(w.tampered.read_bytes()) != page_one_png(w.production.read_bytes()), \
        "the appended edit is visible on the full file, so the equality above is meaningful"


def test_thumbnail_is_null_for_an_unsigned_upload(client: httpx.Client) -> None:
    r = client.post("/verify", params={"thumbnail": "true"}, content=b"%PDF-1.7\nnot really",
                    headers={"Content-Type": "application/pdf"})
    assert r.status_code == 200 and r.json()["verdict"] == "INVALID" and r.json()["thumbnail"] is None


@pytest.mark.parametrize("content", [b"hello, this is not a PDF", b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
                                     b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<"])
def test_non_pdf_uploads_are_invalid_with_a_reason(client: httpx.Client, content: bytes) -> None:
    r = client.post("/verify", files={"file": ("x.pdf", content, "application/pdf")})
    assert r.status_code == 200
    assert r.json()["verdict"] == "INVALID" and r.json()["reasons"]


def test_empty_bodies(client: httpx.Client) -> None:
    empty_raw = client.post("/verify", content=b"", headers={"Content-Type": "application/pdf"})
    assert empty_raw.status_code == 200
    assert empty_raw.json()["verdict"] == "INVALID" and "empty" in empty_raw.json()["reasons"][0]
    empty_file = client.post("/verify", files={"file": ("empty.pdf", b"", "application/pdf")})
    assert empty_file.status_code == 200 and empty_file.json()["verdict"] == "INVALID"
    no_file = client.post("/verify", data={"other": "x"}, files={"notfile": ("a", b"b")})
    assert no_file.status_code == 422 and "file" in no_file.json()["detail"]
    no_body = client.post("/verify", content=b"", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert no_body.status_code in (400, 422)


def test_wrong_content_type_is_415(client: httpx.Client) -> None:
    r = client.post("/verify", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 415


def test_oversized_upload_is_refused_from_its_declared_length_without_reading_the_body(server: Server) -> None:
    """Only the headers are sent: the 413 must come back although no body byte ever arrives."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(b"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                  b"Content-Length: %d\r\n\r\n" % (LIMIT + 1))
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_oversized_chunked_upload_is_refused_as_soon_as_it_passes_the_limit(server: Server) -> None:
    """A chunked body with no declared length: the server must answer 413 once the limit is
    passed, while the body has not ended (its last chunk is never sent), i.e. without buffering it all."""
    parts = urlsplit(server.url)
    chunk = b"%PDF-1.7\n" + b"0" * (64 << 10)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(b"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(LIMIT // len(chunk) + 2):
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_oversized_multipart_is_413(client: httpx.Client) -> None:
    r = client.post("/verify", files={"file": ("big.pdf", b"%PDF-" + b"0" * LIMIT, "application/pdf")})
    assert r.status_code == 413


def test_event_loop_stays_responsive_during_verification(server: Server, w: World) -> None:
    with ThreadPoolExecutor(max_workers=5) as pool:
        slow = [pool.submit(lambda: httpx.post(server.url + "/verify", timeout=180,
                                               files={"file": ("p.pdf", w.production.read_bytes())}))
                for _ in range(4)]
        time.sleep(0.3)
        t0 = time.monotonic()
        quick = httpx.get(server.url + "/metrics", timeout=30)
        quick_seconds = time.monotonic() - t0
        assert all(f.result().status_code == 200 for f in slow)
    assert quick.status_code == 200 and quick_seconds < 2.0, quick_seconds


# --- /render and /issue: who may do what -----------------------------------------------------------

def post_cert(client: httpx.Client, path: str, data: dict, token: str | None = None, raw_token: str | None = None,
              **params: str) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers.update(bearer(token))
    if raw_token is not None:
        headers["Authorization"] = raw_token
    return client.post(path, content=json.dumps(data), headers=headers, params=params)


def counts(client: httpx.Client) -> dict[str, float]:
    text = client.get("/metrics").text
    wanted = ("certseal_render_seconds_count", "certseal_sign_seconds_count")
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line.startswith(wanted)}


@pytest.mark.parametrize("path", ["/issue", "/render"])
@pytest.mark.parametrize("auth, status", [
    (None, 401), ("Bearer", 401), ("Bearer not-a-configured-token-at-all", 401), ("Basic dXNlcjpwYXNz", 401),
])
def test_unauthenticated_is_401_and_nothing_is_rendered_or_signed(client: httpx.Client, path: str,
                                                                  auth: str | None, status: int) -> None:
    before = counts(client)
    r = post_cert(client, path, sample_data(), raw_token=auth)
    assert r.status_code == status, r.text
    assert r.headers.get("www-authenticate") == "Bearer"
    assert r.headers["content-type"].startswith("application/json")
    assert counts(client) == before


def test_training_token_asking_for_production_is_403_and_nothing_is_sealed(client: httpx.Client,
                                                                         server: Server) -> None:
    before = counts(client)
    r = post_cert(client, "/issue", sample_data(environment="production", reference="CHEDPP.BE.2026.0007100"),
                  token="issuer-training")
    assert r.status_code == 403, r.text
    assert "training" in r.json()["detail"] and "production" in r.json()["detail"]
    assert counts(client) == before
    store = server.workdir / "store"
    assert not store.exists() or not [p for p in store.rglob("*") if p.is_file()]


def test_previewer_token_may_not_issue(client: httpx.Client) -> None:
    before = counts(client)
    r = post_cert(client, "/issue", sample_data(), token="previewer-training")
    assert r.status_code == 403 and "issuer" in r.json()["detail"]
    assert counts(client) == before


def test_previewer_renders_in_its_environment_only(client: httpx.Client) -> None:
    ok = post_cert(client, "/render", sample_data(), token="previewer-training")
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/pdf"
    assert ok.content.startswith(b"%PDF-") and b"/ByteRange" not in ok.content  # a preview is never sealed
    png = post_cert(client, "/render", sample_data(), token="previewer-training", format="png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    prod = post_cert(client, "/render", sample_data(environment="production"), token="previewer-training")
    assert prod.status_code == 403


def test_render_names_the_bad_field(client: httpx.Client) -> None:
    r = post_cert(client, "/render", sample_data(language="xx"), token="previewer-training")
    assert r.status_code == 422 and r.json()["detail"]["field"] == "language"
    r = client.post("/render", content=b"{not json", headers={"Content-Type": "application/json", **bearer("previewer-training")})
    assert r.status_code == 422
    r = client.post("/render", content=b"", headers={"Content-Type": "application/json", **bearer("previewer-training")})
    assert r.status_code == 400


def test_tokens_are_never_logged(client: httpx.Client, server: Server) -> None:
    post_cert(client, "/issue", sample_data(environment="production"), token="issuer-training")
    post_cert(client, "/render", sample_data(), token="previewer-training")
    log = server.log()
    assert "POST /issue" in log  # the access log is there...
    for secret in SECRETS.values():
        assert secret not in log  # ...but no token


# --- issuing through the worker's code path (needs service/originals.py) ----------------------------

def _has_originals() -> bool:
    try:
        import service.originals  # noqa: F401
    except ImportError:
        return False
    return True


needs_originals = pytest.mark.skipif(not _has_originals(), reason="service/originals.py (worker issuing path) not there yet")


@needs_originals
def test_issue_is_idempotent_stored_registered_and_verifiable(client: httpx.Client, w: World) -> None:
    data = sample_data(environment="production", reference="CHEDPP.BE.2026.0007200")
    first = post_cert(client, "/issue", data, token="issuer-production")
    assert first.status_code == 201, first.text
    assert first.headers["x-certseal-created"] == "true"
    assert first.headers["x-certseal-sha256"] == hashlib.sha256(first.content).hexdigest()
    again = post_cert(client, "/issue", data, token="issuer-production")
    assert again.status_code == 200 and again.headers["x-certseal-created"] == "false"
    assert again.content == first.content, "a repeated call returns the same original, never a second one"
    verified = client.post("/verify", content=first.content, headers={"Content-Type": "application/pdf"}).json()
    assert verified["verdict"] == "VALID" and verified["reference"] == data["reference"]
    status = client.get(f"/certificates/{data['reference']}", params={"format": "json"})
    assert status.status_code == 200
    doc = status.json()
    assert doc["status"] == "issued" and doc["current_version"] == 1
    assert doc["versions"][0]["sha256"] == first.headers["x-certseal-sha256"]
    assert doc["versions"][0]["environment"] == "production"


@needs_originals
def test_certificate_status_page_for_the_qr_code(client: httpx.Client) -> None:
    data = sample_data(reference="CHEDPP.NL.2026.0007201")
    assert post_cert(client, "/issue", data, token="issuer-training").status_code in (200, 201)
    page = client.get(f"/certificates/{data['reference']}", headers={"Accept": "text/html", "Accept-Language": "nl"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "AFGEGEVEN" in page.text and data["reference"] in page.text and "geen rechtskracht" in page.text
    missing = client.get("/certificates/CHEDPP.BE.2026.9999999", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "NOT ISSUED" in missing.text
    as_json = client.get("/certificates/CHEDPP.BE.2026.9999999", headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.json()["found"] is False


# --- the rest ----------------------------------------------------------------------------------------

def test_openapi_is_published(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/verify", "/render", "/issue", "/certificates/{reference}", "/health", "/metrics", "/"):
        assert path in spec["paths"], path
    verify_body = spec["paths"]["/verify"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/pdf"} <= set(verify_body)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_health_reports_each_component(client: httpx.Client) -> None:
    r = client.get("/health")
    body = r.json()
    assert r.status_code in (200, 503)
    assert {"broker", "store", "registry", "key_production", "key_training", "key_acceptance"} <= set(body["checks"])
    assert body["checks"]["key_production"]["status"] == "ok"
    assert body["checks"]["key_acceptance"]["status"] == "not configured"
    assert (r.status_code == 503) == any(c["status"] == "error" for c in body["checks"].values())


def test_metrics_are_prometheus_text(client: httpx.Client, uploaded: dict) -> None:
    text = client.get("/metrics").text
    assert 'certseal_verify_verdicts_total{verdict="NO_LEGAL_VALUE"}' in text
    assert 'certseal_http_requests_total{method="POST",route="/verify",status="200"}' in text
    for histogram in ("certseal_verify_seconds", "certseal_render_seconds", "certseal_sign_seconds"):
        assert f"# TYPE {histogram} histogram" in text


@pytest.mark.parametrize("header, query, word", [
    ("de-DE,de;q=0.9,en;q=0.5", None, "Zertifikatsprüfung"),
    ("pl", None, "Weryfikacja świadectwa"),
    ("xx, it;q=0.3", None, "Verifica del certificato"),
    ("es", "fr", "Vérification de certificat"),
    (None, None, "Certificate verification"),
])
def test_page_language(client: httpx.Client, header: str | None, query: str | None, word: str) -> None:
    r = client.get("/", headers={"Accept-Language": header} if header else {}, params={"lang": query} if query else {})
    assert r.status_code == 200 and word in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_page_and_assets_fetch_nothing_from_outside(client: httpx.Client) -> None:
    page = client.get("/").text
    assets = [client.get(p) for p in ("/static/verify.js", "/static/page.css")]
    assert all(a.status_code == 200 for a in assets)
    for text in [page, *(a.text for a in assets)]:
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


@needs_originals
def test_replaced_and_cancelled_originals(client: httpx.Client, server: Server) -> None:
    """A newer version replaces the older one; a cancelled one is withdrawn. The QR page says so,
    and /verify no longer accepts the old bytes, however intact their seal."""
    from service.lifecycle import cancel_original
    from service.registry import open_registry

    ref = "CHEDPP.NL.2026.0007300"
    v1 = post_cert(client, "/issue", sample_data(reference=ref, version=1), token="issuer-training")
    v2 = post_cert(client, "/issue", sample_data(reference=ref, version=2), token="issuer-training")
    assert (v1.status_code, v2.status_code) == (201, 201)
    doc = client.get(f"/certificates/{ref}", params={"format": "json"}).json()
    assert doc["status"] == "issued" and doc["current_version"] == 2
    assert [(v["version"], v["status"]) for v in doc["versions"]] == [(1, "replaced"), (2, "issued")]
    assert doc["versions"][0]["replaced_by"] == {"reference": ref, "version": 2}
    old = client.post("/verify", content=v1.content, headers={"Content-Type": "application/pdf"}).json()
    assert old["verdict"] == "INVALID" and old["registry"]["status"] == "replaced"
    assert old["findings"][-1]["kind"] == "REPLACED" and "replaced by" in old["reasons"][-1]

    with open_registry(str(server.workdir / "registry.sqlite")) as registry:
        cancel_original(ref, 2, registry)
    page = client.get(f"/certificates/{ref}", params={"lang": "fr"}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "ANNULÉ" in page.text
    current = client.post("/verify", content=v2.content, headers={"Content-Type": "application/pdf"}).json()
    assert current["verdict"] == "INVALID" and current["registry"]["status"] == "cancelled"
