"""The command line end to end, as a user runs it: the installed `certseal` script in a subprocess,
real files, a real PKI, poppler's `pdfsig` as an independent validator."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from renderers.samples import list_samples

CERTSEAL = str(Path(sys.executable).parent / "certseal")
CHED_PP_SAMPLE = next(s.path for s in list_samples() if s.model == "CHED-PP")


def run(*args: str, home: Path, check: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    environ.update(CERTSEAL_HOME=str(home), **env)
    proc = subprocess.run([CERTSEAL, *args], capture_output=True, text=True, env=environ, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"certseal {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def sample_with(tmp_path: Path, name: str = "cert.json", **changes: object) -> Path:
    data = json.loads(CHED_PP_SAMPLE.read_text())
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config home with a training and a production PKI registered by `certseal pki init`."""
    home = tmp_path_factory.mktemp("home")
    run("pki", "init", "--env", "training", home=home, check=True)
    run("pki", "init", "--env", "production", home=home, check=True)
    return home


@pytest.fixture(scope="module")
def training_original(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("issued") / "training.pdf"
    run("issue", str(CHED_PP_SAMPLE), "-o", str(out), home=home, check=True)
    return out


@pytest.fixture(scope="module")
def production_original(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("issued-prod")
    src = sample_with(tmp, environment="production")
    out = tmp / "production.pdf"
    run("issue", str(src), "-o", str(out), home=home, check=True)
    return out


def verify_json(path: Path, home: Path, *extra: str) -> tuple[int, dict]:
    proc = run("verify", str(path), "--json", *extra, home=home)
    assert proc.stderr == "", proc.stderr
    return proc.returncode, json.loads(proc.stdout)


# --- help and schema ----------------------------------------------------------------------

@pytest.mark.parametrize("command", [[], ["demo"], ["render"], ["issue"], ["sign"], ["verify"], ["pki"],
                                     ["pki", "init"], ["schema"], ["i18n", "check"]])
def test_every_command_explains_itself(command: list[str], tmp_path: Path) -> None:
    proc = run(*command, "--help", home=tmp_path)
    assert proc.returncode == 0
    assert "usage: certseal" in proc.stdout and len(proc.stdout.splitlines()) >= 3


def test_usage_errors_exit_64(tmp_path: Path) -> None:
    assert run("verify", home=tmp_path).returncode == 64
    assert run("frobnicate", home=tmp_path).returncode == 64
    assert run("verify", str(tmp_path / "does-not-exist.pdf"), home=tmp_path).returncode == 64


def test_schema_is_json_schema_of_the_input(tmp_path: Path) -> None:
    proc = run("schema", home=tmp_path, check=True)
    schema = json.loads(proc.stdout)
    assert schema["type"] == "object"
    for key in ("model", "reference", "environment", "language", "destination_language", "fields"):
        assert key in schema["properties"], key
    assert {"model", "reference", "environment", "language", "destination_language"} <= set(schema["required"])


# --- render -------------------------------------------------------------------------------

def pdftotext(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def test_render_bilingual_pdf_with_reference_and_page_numbers_on_every_page(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    run("render", str(CHED_PP_SAMPLE), "-o", str(out), "--lang", "nl", "--dest-lang", "en", home=tmp_path, check=True)
    reference = json.loads(CHED_PP_SAMPLE.read_text())["reference"]
    pages = pdftotext(out)
    assert pages
    for n, page in enumerate(pages, start=1):
        assert reference in page, f"reference missing on page {n}"
        assert f"{n} / {len(pages)}" in page, f"'{n} / {len(pages)}' missing on page {n}"
    whole = "\n".join(pages)
    assert "Consignor/Exporter" in whole.replace(" / ", "/") or "Consignor / Exporter" in whole  # en label
    assert "Afzender/exporteur" in whole.replace(" / ", "/") or "Afzender / exporteur" in whole  # nl label
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts), "every font must be embedded"


@pytest.mark.parametrize("change, field", [
    ({"model": "CHED-XX"}, "model"),
    ({"reference": "CHEDPP-BE-2026-1234"}, "reference"),
    ({"language": "xx"}, "language"),
    ({"destination_language": "klingon"}, "destination_language"),
    ({"environment": "staging"}, "environment"),
])
def test_bad_input_names_the_field_exits_2_and_writes_nothing(tmp_path: Path, change: dict, field: str) -> None:
    src = sample_with(tmp_path, **change)
    out = tmp_path / "out.pdf"
    proc = run("render", str(src), "-o", str(out), home=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert field in proc.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src], "no temporary or partial file may be left behind"


def test_missing_compulsory_box_names_box_and_field(tmp_path: Path) -> None:
    data = json.loads(CHED_PP_SAMPLE.read_text())
    del data["fields"]["consignor"]
    src = tmp_path / "c.json"
    src.write_text(json.dumps(data))
    proc = run("issue", str(src), "-o", str(tmp_path / "o.pdf"), home=tmp_path)
    assert proc.returncode == 2
    assert "consignor" in proc.stderr and "I.1" in proc.stderr
    assert not (tmp_path / "o.pdf").exists()


# --- issue, pdfsig, verify ----------------------------------------------------------------

def test_issued_original_is_a_valid_certification_signature_for_pdfsig(training_original: Path) -> None:
    out = subprocess.run(["pdfsig", str(training_original)], capture_output=True, text=True).stdout
    seal = out.split("Signature #2")[0]  # the seal; #2 is the B-LTA document timestamp
    assert "Signature is Valid" in seal, out
    assert "ETSI.CAdES.detached" in seal, out


def test_training_original_has_no_legal_value_with_no_flags(training_original: Path, home: Path) -> None:
    code, report = verify_json(training_original, home)
    assert code == 3 and report["verdict"] == "NO_LEGAL_VALUE", report
    assert report["reference"] == json.loads(CHED_PP_SAMPLE.read_text())["reference"]
    assert report["environment"] == {"signer": "training", "metadata": "training", "watermark": "training",
                                     "consistent": True}
    # The training PKI of `pki init` has a TSA, so the default level is B-LTA: the seal, then
    # the DSS and a document timestamp (LTA updates, which the certification allows).
    sig, doc_ts = report["signatures"]
    assert sig["intact"] and sig["trusted"] and sig["certified"]
    assert sig["level"] == "B-LTA" and sig["modifications"] == "LTA_UPDATES" and sig["revocation"] == "good"
    assert doc_ts["trusted"] and doc_ts["timestamp"] is not None
    assert report["embedded_data"] == {"present": True, "matches_visible": True}
    assert len(report["file_sha256"]) == 64


def test_production_original_is_valid(production_original: Path, home: Path) -> None:
    code, report = verify_json(production_original, home)
    assert (code, report["verdict"], report["reasons"]) == (0, "VALID", [])
    assert report["environment"]["signer"] == "production" and report["environment"]["watermark"] is None
    human = run("verify", str(production_original), home=home)
    assert human.returncode == 0 and human.stdout.splitlines()[0].startswith("VALID")


def test_byte_flipped_inside_signed_range_is_invalid(training_original: Path, home: Path, tmp_path: Path) -> None:
    data = bytearray(training_original.read_bytes())
    pos = data.index(b"/Type /Page") if b"/Type /Page" in data else len(data) // 3
    data[pos + 1] ^= 0x01
    bad = tmp_path / "flipped.pdf"
    bad.write_bytes(bytes(data))
    code, report = verify_json(bad, home)
    assert (code, report["verdict"]) == (1, "INVALID")
    assert report["reasons"]


def test_incremental_update_after_sealing_is_invalid(training_original: Path, home: Path, tmp_path: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    with training_original.open("rb") as fh:
        writer = IncrementalPdfFileWriter(fh)
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (FORGED) Tj ET")
        contents = page["/Contents"]
        kids = list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
        page["/Contents"] = generic.ArrayObject([*kids, writer.add_object(stream)])
        writer.update_container(page)
        bad = tmp_path / "updated.pdf"
        with bad.open("wb") as out:
            writer.write(out)
    code, report = verify_json(bad, home)
    assert (code, report["verdict"]) == (1, "INVALID")
    assert any("changed after" in r.lower() or "modif" in r.lower() for r in report["reasons"]), report["reasons"]


@pytest.mark.parametrize("content", [b"", b"hello, this is not a PDF", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<"])
def test_garbage_is_invalid_with_a_reason_not_a_crash(content: bytes, home: Path, tmp_path: Path) -> None:
    f = tmp_path / "f.pdf"
    f.write_bytes(content)
    code, report = verify_json(f, home)
    assert (code, report["verdict"]) == (1, "INVALID")
    assert report["reasons"] and all(isinstance(r, str) and r for r in report["reasons"])


def test_truncated_original_is_invalid(training_original: Path, home: Path, tmp_path: Path) -> None:
    f = tmp_path / "truncated.pdf"
    f.write_bytes(training_original.read_bytes()[: training_original.stat().st_size * 2 // 3])
    code, report = verify_json(f, home)
    assert (code, report["verdict"]) == (1, "INVALID")


def test_look_alike_self_signed_seal_is_indeterminate(home: Path, tmp_path: Path) -> None:
    """Someone builds their own 'training' PKI with the same names: it chains to no configured root."""
    other = tmp_path / "other-home"
    run("pki", "init", "--env", "training", home=other, check=True)
    forged = tmp_path / "lookalike.pdf"
    run("issue", str(CHED_PP_SAMPLE), "-o", str(forged), home=other, check=True)
    code, report = verify_json(forged, home)
    assert (code, report["verdict"]) == (2, "INDETERMINATE"), report
    assert report["signatures"][0]["trusted"] is False


def test_training_key_cannot_seal_a_production_document(home: Path, tmp_path: Path) -> None:
    src = sample_with(tmp_path, environment="production")
    out = tmp_path / "o.pdf"
    key = home / "pki" / "training" / "seal.p12"
    proc = run("issue", str(src), "-o", str(out), "--key", f"pkcs12:{key}", home=home,
               CERTSEAL_PRODUCTION_KEY_PASSPHRASE_FILE=str(home / "pki" / "training" / "seal.passphrase"))
    assert proc.returncode == 1
    assert "training" in proc.stderr and "production" in proc.stderr
    assert not out.exists()


def test_sign_seals_a_rendered_pdf_for_the_environment_in_its_metadata(home: Path, tmp_path: Path) -> None:
    unsigned = tmp_path / "u.pdf"
    run("render", str(CHED_PP_SAMPLE), "-o", str(unsigned), home=home, check=True)
    signed = tmp_path / "s.pdf"
    run("sign", str(unsigned), "-o", str(signed), home=home, check=True)
    code, report = verify_json(signed, home)
    assert (code, report["verdict"]) == (3, "NO_LEGAL_VALUE"), report


# --- demo and packaging -------------------------------------------------------------------

def test_demo_on_an_empty_home_makes_a_pki_and_verifies_every_sample(tmp_path: Path) -> None:
    home, out = tmp_path / "fresh-home", tmp_path / "originals"
    proc = run("demo", "--out", str(out), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == len(list_samples()) >= 2
    for pdf in pdfs:
        assert str(pdf) in proc.stdout
    assert proc.stdout.count("NO_LEGAL_VALUE") >= len(pdfs)
    # Afterwards a plain verify with no flags knows the training root.
    code, report = verify_json(pdfs[0], home)
    assert (code, report["verdict"]) == (3, "NO_LEGAL_VALUE")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_wheel_ships_templates_and_locales_and_renders_outside_the_checkout(tmp_path: Path) -> None:
    import sysconfig
    import zipfile

    repo = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(repo)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("certseal-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("templates/models/ched_pp/") and n.endswith("model.toml") for n in names)
    assert any(n.startswith("locales/nl/LC_MESSAGES/") and n.endswith(".po") for n in names)
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    # -S: no site hooks, so the checkout's editable install cannot leak in; only the wheel and
    # the third-party libraries are importable, and the working directory is elsewhere.
    env = {"PATH": os.environ["PATH"], "CERTSEAL_HOME": str(tmp_path / "h"),
           "PYTHONPATH": os.pathsep.join([str(unpacked), sysconfig.get_paths()["purelib"]])}
    out = tmp_path / "x.pdf"
    proc = subprocess.run([sys.executable, "-S", "-c", "import sys; from service.cli import main; sys.exit(main())",
                           "render", str(CHED_PP_SAMPLE), "-o", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(unpacked) in subprocess.run(
        [sys.executable, "-S", "-c", "import templates; print(list(templates.__path__))"],
        cwd=tmp_path, env=env, capture_output=True, text=True).stdout
    assert json.loads(CHED_PP_SAMPLE.read_text())["reference"] in pdftotext(out)[0]
