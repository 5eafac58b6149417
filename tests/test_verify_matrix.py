"""Every certificate model × every PAdES level × both environments, verified as border staff
verify them: through the sandbox the command line uses (service.sandbox.verify_untrusted).

Each (model, environment) is rendered once from the model's packaged normal-size sample and
sealed at the four levels with the test PKI whose TSA / OCSP / CRL run on loopback
(`_pki_helpers.certseal_original_at_level`). A production original must come out VALID
(exit 0), a training one NO_LEGAL_VALUE (exit 3); either way with its own reference, the three
environment signals agreeing, and the level it was sealed at. B-LT and B-LTA carry their
validation data and are verified offline; B-B and B-T name revocation services they do not
embed, so they are verified with fetching allowed (`certseal verify --online`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from _pki_helpers import (
    _service_pki,
    certseal_certificate,
    certseal_original_at_level,
    certseal_rendered,
    environment_config,
    seal_rendered,
)
from renderers.environment import Environment
from renderers.model import available_models
from service.sandbox import verify_untrusted
from signer.levels import Level
from signer.report import Report, Verdict
from signer.trust import TrustStore

CERTSEAL = str(Path(sys.executable).with_name("certseal"))
MODELS = available_models()
LEVELS = [level.value for level in Level]
ENVS = [Environment.PRODUCTION, Environment.TRAINING]
EXPECTED = {Environment.PRODUCTION: Verdict.VALID, Environment.TRAINING: Verdict.NO_LEGAL_VALUE}
ONLINE = {"B-B", "B-T"}  # no embedded revocation data: verified with fetching allowed


def trust() -> TrustStore:
    """Both environments' roots, as a configured verifier has them."""
    return TrustStore({env: [_service_pki(env).root] for env in ENVS})


def test_the_matrix_covers_every_model_and_level():
    assert {"CHED-PP", "CHED-P", "CHED-A", "CHED-D", "INTRA", "EXPORT"} <= set(MODELS)
    assert LEVELS == ["B-B", "B-T", "B-LT", "B-LTA"]


@pytest.fixture(scope="module")
def reports() -> dict[tuple[str, Environment, str], Report]:
    """Every case's report. Sealing runs here in turn (each rendering once, then its four
    levels); the verifications, each a forked child, run two at a time, as the HTTP API's
    thread pool runs them."""
    cases = [(model, env, level) for model in MODELS for env in ENVS for level in LEVELS]
    originals = {case: certseal_original_at_level(case[2], case[0], case[1]) for case in cases}
    roots = trust()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case: pool.submit(verify_untrusted, originals[case], roots, allow_fetching=case[2] in ONLINE)
                   for case in cases}
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("env", ENVS, ids=lambda e: e.value)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_level_and_environment_gets_the_right_verdict(reports, model, env, level):
    cert = certseal_certificate(model, env)
    report = reports[(model, env, level)]

    expected = EXPECTED[env]
    assert report.verdict is expected, report.reasons
    assert report.verdict.exit_code == (0 if env is Environment.PRODUCTION else 3)
    if env is Environment.PRODUCTION:
        assert report.reasons == []
    else:
        assert report.reasons == ["issued in the training environment: it has no legal value"]
    assert report.reference == cert.reference

    signals = report.environment
    assert (signals.signer, signals.metadata) == (env, env)
    assert signals.watermark is (None if env is Environment.PRODUCTION else env)
    assert signals.consistent is True

    seal = report.signatures[0]
    assert seal.field == "CertsealSeal" and seal.level == level
    assert seal.intact and seal.trusted and seal.certified
    assert seal.revocation == "good"
    assert env.value in seal.signer and "seal" in seal.signer
    assert (seal.timestamp is None) is (level == "B-B")
    if level == "B-LTA":
        assert report.signatures[-1].trusted and report.signatures[-1].timestamp is not None
    assert report.embedded_data.present and report.embedded_data.matches_visible


def _cli_verify(pdf: bytes, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    path = tmp_path / "original.pdf"
    path.write_bytes(pdf)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    env["CERTSEAL_HOME"] = str(tmp_path / "home")  # no configured roots: only --trust counts
    roots = [f"--trust={e.value}={_service_pki(e).files.root_pem}" for e in ENVS]
    proc = subprocess.run([CERTSEAL, "verify", str(path), "--json", *roots, *extra],
                          capture_output=True, text=True, env=env, timeout=180)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize(
    "model, env, level, code",
    [("CHED-PP", Environment.PRODUCTION, "B-LTA", 0), ("INTRA", Environment.TRAINING, "B-B", 3)],
    ids=["production-exit-0", "training-exit-3"],
)
def test_certseal_verify_json_exit_codes(tmp_path, model, env, level, code):
    pdf = certseal_original_at_level(level, model, env)
    returncode, report = _cli_verify(pdf, tmp_path, *(["--online"] if level in ONLINE else []))
    assert returncode == code, report
    assert report["verdict"] == EXPECTED[env].value
    assert report["reference"] == certseal_certificate(model, env).reference
    assert report["environment"] == {"signer": env.value, "metadata": env.value,
                                     "watermark": None if env is Environment.PRODUCTION else env.value,
                                     "consistent": True}
    assert report["signatures"][0]["level"] == level


def _form(pdf: bytes) -> tuple[int, list[tuple[str, tuple[float, ...] | None]], int | None]:
    """Page count, signature fields (name, widget rectangle) and the DocMDP permission."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(pdf))
    fields = []
    for ref in reader.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        rect = tuple(round(float(v), 1) for v in field["/Rect"]) if "/Rect" in field else None
        fields.append((str(field["/T"]), rect))
    docmdp = reader.root["/Perms"]["/DocMDP"]
    permission = next((int(ref["/TransformParams"]["/P"]) for ref in docmdp["/Reference"]), None)
    return int(reader.root["/Pages"]["/Count"]), sorted(fields), permission


def test_the_originals_here_are_the_ones_certseal_issue_makes():
    """The matrix seals one rendering at four levels (seal_rendered); `certseal issue`
    renders and seals in one call (service.issuing.issue). Both must give the same original:
    same pages, same signature fields in the same places, same certification permission.
    CHED-PP: a model whose seal reserves an approval field, where the two could drift apart."""
    from service.issuing import issue

    model, env = "CHED-PP", Environment.PRODUCTION
    pki = _service_pki(env)
    cfg = environment_config(env, pki.files.root_pem)
    issued = issue(certseal_certificate(model, env), pki.key, cfg, level="B-B").pdf
    here = seal_rendered(certseal_rendered(model, env), pki.key, cfg, "B-B")
    assert _form(here) == _form(issued)


# pyHanko used to replace the rendered XMP packet on every incremental write (see
# signer/_keep_metadata.py): the sealed original lost its PDF/A-3b identification and labels.
@pytest.mark.parametrize("level", ["B-B", "B-LTA"])
def test_the_sealed_original_keeps_its_xmp_metadata(level):
    import re
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    env = Environment.PRODUCTION
    rendered = certseal_rendered("CHED-PP", env).data
    sealed = certseal_original_at_level(level, "CHED-PP", env)

    def xmp(pdf: bytes) -> bytes:
        return PdfFileReader(BytesIO(pdf)).root.raw_get("/Metadata").get_object().data

    assert re.search(rb'pdfaid:part="3"', xmp(rendered))  # the renderer writes it…
    assert re.search(rb'pdfaid:part="3"', xmp(sealed))  # …the seal must keep it
    assert b"<certseal:environment>production</certseal:environment>" in xmp(sealed)
    assert xmp(sealed) == xmp(rendered)  # the packet itself, untouched by every revision
