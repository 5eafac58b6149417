"""signer.verify on genuine originals, unreadable input, and the report contract."""
from __future__ import annotations

import asyncio
import hashlib

import pytest

from _pki_helpers import REFERENCE, pkis, sealed_pdf, unsigned_pdf  # noqa: F401
from renderers.environment import Environment
from signer.report import Verdict, render_text
from signer.trust import TrustStore
from signer.verify import verify_pdf, verify_pdf_async

SIGNATURE_KEYS = {
    "field", "signer", "intact", "trusted", "coverage", "modifications",
    "certified", "level", "signing_time", "timestamp", "revocation",
    "role", "part",  # added with the approval signature: seal / approval / timestamp, and its part
}


def test_production_original_is_valid(pkis):
    data = sealed_pdf(Environment.PRODUCTION)
    report = verify_pdf(data, pkis.trust)
    assert report.verdict is Verdict.VALID, report.reasons
    assert report.exit_code == 0
    assert report.reasons == []
    d = report.to_dict()
    assert d["file_sha256"] == hashlib.sha256(data).hexdigest()
    assert d["reference"] == REFERENCE
    assert d["environment"] == {"signer": "production", "metadata": "production", "watermark": None, "consistent": True}
    (sig,) = d["signatures"]
    assert sig["field"] == "CertsealSeal"
    assert sig["signer"].startswith("CN=certseal production seal")
    assert (sig["intact"], sig["trusted"], sig["certified"]) == (True, True, True)
    assert (sig["coverage"], sig["modifications"], sig["level"]) == ("ENTIRE_FILE", "NONE", "B-B")
    assert sig["signing_time"] and sig["timestamp"] is None
    assert d["embedded_data"] == {"present": True, "matches_visible": True}


@pytest.mark.parametrize("env", [Environment.TRAINING, Environment.ACCEPTANCE])
def test_training_and_acceptance_originals_have_no_legal_value(pkis, env):
    report = verify_pdf(sealed_pdf(env), pkis.trust)
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
    assert report.exit_code == 3
    assert report.to_dict()["environment"] == {
        "signer": env.value, "metadata": env.value, "watermark": env.value, "consistent": True,
    }
    assert any("no legal value" in r for r in report.reasons)


def test_report_has_exactly_the_documented_keys(pkis):
    d = verify_pdf(sealed_pdf(Environment.TRAINING), pkis.trust).to_dict()
    assert set(d) == {"verdict", "reasons", "file_sha256", "reference", "environment", "signatures", "embedded_data"}
    assert set(d["environment"]) == {"signer", "metadata", "watermark", "consistent"}
    assert set(d["signatures"][0]) == SIGNATURE_KEYS
    assert set(d["embedded_data"]) == {"present", "matches_visible"}
    # and the same shape for a failure
    bad = verify_pdf(b"junk", pkis.trust).to_dict()
    assert set(bad) == set(d) and bad["signatures"] == []


def test_exit_codes():
    assert [v.exit_code for v in (Verdict.VALID, Verdict.INVALID, Verdict.INDETERMINATE, Verdict.NO_LEGAL_VALUE)] == [0, 1, 2, 3]


def test_text_rendering_leads_with_the_verdict_in_words(pkis):
    text = render_text(verify_pdf(sealed_pdf(Environment.TRAINING), pkis.trust))
    lines = text.splitlines()
    assert lines[0].startswith("NO LEGAL VALUE")
    assert "certseal training seal" in text and REFERENCE in text and "training" in text
    valid = render_text(verify_pdf(sealed_pdf(Environment.PRODUCTION), pkis.trust))
    assert valid.splitlines()[0].startswith("VALID")
    assert "Why:" not in valid


def test_expected_environment(pkis):
    training = sealed_pdf(Environment.TRAINING)
    production = sealed_pdf(Environment.PRODUCTION)
    assert verify_pdf(training, pkis.trust, expect_env=Environment.TRAINING).verdict is Verdict.NO_LEGAL_VALUE
    assert verify_pdf(production, pkis.trust, expect_env=Environment.PRODUCTION).verdict is Verdict.VALID

    r = verify_pdf(training, pkis.trust, expect_env=Environment.PRODUCTION)
    assert r.verdict is Verdict.NO_LEGAL_VALUE
    assert any("production document was expected" in x for x in r.reasons)

    r = verify_pdf(production, pkis.trust, expect_env=Environment.TRAINING)
    assert r.verdict is Verdict.INDETERMINATE
    assert any("training document was expected" in x and "production original" in x for x in r.reasons)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"this is not a PDF at all", "not a readable PDF file"),
        (b"%PDF-1.7\n" + b"\x00" * 200, "not a readable PDF file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a readable PDF file"),
    ],
)
def test_unreadable_input_is_invalid_not_an_exception(pkis, data, reason):
    report = verify_pdf(data, pkis.trust)
    assert report.verdict is Verdict.INVALID
    assert any(reason in r for r in report.reasons), report.reasons
    assert render_text(report).startswith("NOT VALID")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_original_is_invalid(pkis, fraction):
    data = sealed_pdf(Environment.PRODUCTION)
    report = verify_pdf(data[: int(len(data) * fraction)], pkis.trust)
    assert report.verdict is Verdict.INVALID, report.reasons
    assert report.reasons


def test_unsigned_document_is_invalid(pkis):
    report = verify_pdf(unsigned_pdf(Environment.PRODUCTION), pkis.trust)
    assert report.verdict is Verdict.INVALID
    assert any("not signed" in r for r in report.reasons)
    assert render_text(report).splitlines()[0] == "NOT VALID — this document carries no seal"


def test_without_configured_roots_nothing_is_trusted():
    report = verify_pdf(sealed_pdf(Environment.PRODUCTION), TrustStore({}))
    assert report.verdict is Verdict.INDETERMINATE
    assert any("unknown or untrusted key" in r for r in report.reasons)
    assert report.environment.signer is None


def test_a_missing_environment_root_makes_its_documents_untrusted(pkis):
    only_production = TrustStore({Environment.PRODUCTION: list(pkis.trust.roots[Environment.PRODUCTION])})
    report = verify_pdf(sealed_pdf(Environment.TRAINING), only_production)
    assert report.verdict is Verdict.INDETERMINATE
    assert report.to_dict()["signatures"][0]["trusted"] is False


def test_verification_works_inside_a_running_event_loop(pkis):
    async def inside():
        return (
            verify_pdf(sealed_pdf(Environment.PRODUCTION), pkis.trust),
            await verify_pdf_async(sealed_pdf(Environment.PRODUCTION), pkis.trust),
        )

    for report in asyncio.run(inside()):
        assert report.verdict is Verdict.VALID


@pytest.mark.parametrize("env", [Environment.PRODUCTION, Environment.TRAINING])
def test_real_renderer_output_seals_and_verifies(pkis, env):
    """Integration with renderers/ (skipped until its entry points exist)."""
    samples = pytest.importorskip("renderers.samples")
    model = pytest.importorskip("renderers.model")
    render = pytest.importorskip("renderers.render")
    from signer.pades import seal_pdf

    sample = samples.list_samples()[0]
    cert = model.parse_certificate(dict(samples.load_sample(sample.model, sample.name), environment=env.value))
    sealed = seal_pdf(render.render_certificate(cert).data, pkis.key(env), environment=env, reference=cert.reference)
    report = verify_pdf(sealed, pkis.trust)
    expected = Verdict.VALID if env is Environment.PRODUCTION else Verdict.NO_LEGAL_VALUE
    assert report.verdict is expected, report.reasons
    assert report.reference == cert.reference
    assert report.embedded_data.matches_visible is True
    assert report.environment.watermark is (None if env is Environment.PRODUCTION else env)
