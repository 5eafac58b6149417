"""End to end in a real browser: Debian's headless Chromium, driven by Playwright, uses the
verification page served by `certseal serve` the way a border officer would — pick a file,
read the verdict — for a genuine production original, a tampered one and a training one.

A screenshot of each result is written to tests/artifacts/ (kept out of git) so a person can
look at what the page showed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from _api_server import Server, World, start_server, world

CHROMIUM = "/usr/bin/chromium"
# Flags this machine needs: no sandbox as root, and no background traffic to the closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make install)")


@pytest.fixture(scope="module")
def w() -> World:
    return world()


@pytest.fixture(scope="module")
def server(w: World, tmp_path_factory: pytest.TempPathFactory):
    yield from start_server(w, tmp_path_factory.mktemp("web-server"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        # A persistent context gives Chromium its own new, empty --user-data-dir.
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1200, "height": 900}, locale="en-GB")
        yield context
        context.close()


@pytest.fixture
def page(browser, server: Server):
    page = browser.new_page()
    outside: list[str] = []
    # Nothing may be fetched from anywhere but the service itself (data: thumbnails aside).
    page.on("request", lambda r: None if r.url.startswith((server.url, "data:")) else outside.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.close()
    assert not outside, outside
    assert not errors, errors


def verify_in_page(page, server: Server, pdf: Path, *, lang: str | None = None) -> str:
    page.goto(server.url + "/" + (f"?lang={lang}" if lang else ""))
    page.set_input_files("#file", str(pdf))
    page.wait_for_selector("#result:not([hidden])", timeout=240_000)
    return page.inner_text("#verdict")


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")  # screenshots are for looking at, not for git
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_genuine_production_original_shows_valid(page, server: Server, w: World) -> None:
    verdict = verify_in_page(page, server, w.production)
    assert "VALID" in verdict and "NOT VALID" not in verdict
    assert page.inner_text("#reference") == w.production_reference
    assert page.inner_text("#environment") == "production (has legal value)"
    assert "Untouched original" in page.inner_text("#advice")
    assert "every check passed" in page.inner_text("#reasons")
    assert "certseal production seal" in page.inner_text("#signer")
    assert page.is_visible("#thumbnail")
    assert page.evaluate("document.getElementById('thumbnail').naturalWidth") > 100
    assert page.evaluate("document.activeElement.id") == "verdict", "focus moves to the verdict for screen readers"
    assert shot(page, "verify-production-valid").stat().st_size > 10_000


def test_tampered_original_shows_not_valid_with_the_reason(page, server: Server, w: World) -> None:
    verdict = verify_in_page(page, server, w.tampered)
    assert "NOT VALID" in verdict
    assert "changed after it was sealed" in page.inner_text("#headline")
    assert "Do not accept this document" in page.inner_text("#advice")
    assert "changed after signing" in page.inner_text("#reasons")
    assert "verdict-INVALID" in page.get_attribute("#verdict", "class")
    shot(page, "verify-tampered-invalid")


def test_training_original_shows_no_legal_value_in_german(page, server: Server, w: World) -> None:
    verdict = verify_in_page(page, server, w.training, lang="de")
    assert "OHNE RECHTSWIRKUNG" in verdict
    assert page.inner_text("#reference") == w.training_reference
    assert page.inner_text("#environment") == "Schulung (ohne Rechtswirkung)"
    assert "training environment" in page.inner_text("#reasons")  # the verifier's own words, in English
    assert page.get_attribute("html", "lang") == "de"
    shot(page, "verify-training-no-legal-value-de")


def test_keyboard_only_use(page, server: Server, w: World) -> None:
    """Tab reaches the skip link, the language links and the file picker; each has a name."""
    page.goto(server.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    names = []
    for _ in range(12):
        page.keyboard.press("Tab")
        names.append(page.evaluate("""() => { const e = document.activeElement;
            return e.id === 'file' ? 'file:' + document.querySelector('label[for=file]').textContent
                                   : e.tagName + ':' + e.textContent.trim(); }"""))
    assert "file:Choose a PDF file" in names, names
    assert "A:Polski" in names and "A:Français" in names, names
    # The file input is reached by keyboard and has a visible focus indicator on its label.
    page.focus("#file")
    outline = page.evaluate("getComputedStyle(document.querySelector('label[for=file]')).outlineStyle")
    assert outline == "solid"


def test_dropping_a_file_on_the_zone(page, server: Server, w: World) -> None:
    page.goto(server.url + "/?lang=pl")
    data = list(w.production.read_bytes())
    page.evaluate("""(bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'dropped.pdf', {type: 'application/pdf'}));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
    }""", data)
    page.wait_for_selector("#result:not([hidden])", timeout=240_000)
    assert "WAŻNY" in page.inner_text("#verdict") and "NIEWAŻNY" not in page.inner_text("#verdict")
    assert page.inner_text("#file-name") == "dropped.pdf"


def test_qr_code_landing_page_says_whether_the_reference_was_issued(page, server: Server) -> None:
    """What a phone shows after scanning the QR code: the registry's word on the reference."""
    import json

    import httpx

    from _api_server import bearer, sample_data

    pytest.importorskip("service.originals")
    data = sample_data(reference="CHEDPP.NL.2026.0007400")
    issued = httpx.post(server.url + "/issue", content=json.dumps(data), timeout=300,
                        headers={"Content-Type": "application/json", **bearer("issuer-training")})
    assert issued.status_code in (200, 201), issued.text
    page.goto(f"{server.url}/certificates/{data['reference']}?lang=es")
    assert "EXPEDIDO" in page.inner_text("h2")
    assert data["reference"] in page.inner_text("main")
    shot(page, "certificate-status-issued-es")
    page.goto(f"{server.url}/certificates/CHEDPP.NL.2026.0000000")
    assert "NOT ISSUED" in page.inner_text("h2")
