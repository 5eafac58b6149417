"""PAdES B-T / B-LT / B-LTA against a real test PKI: OCSP, CRL and TSA served over HTTP on
loopback (signer.responders), no mocks. Each level must validate in pyHanko's AdES
validation, in poppler's pdfsig and in certseal's own verifier; an LTA original must still
verify years later, with the responders gone."""
from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation.ades import (
    _dss_to_local_knowledge,
    ades_basic_validation,
    ades_lta_validation,
    ades_with_time_validation,
    simulate_future_ades_lta_validation,
)
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from _pki_helpers import REFERENCE, asn1_cert, sealed_at_level, service_pki, unsigned_pdf  # noqa: F401
from renderers.environment import Environment
from signer.errors import SealingError
from signer.extend import extend_pdf
from signer.pades import seal_document, SealRequest
from signer.levels import Level
from signer.report import Verdict
from signer.verify import verify_pdf

ENV = Environment.TRAINING
LEVELS = ["B-B", "B-T", "B-LT", "B-LTA"]


@contextmanager
def responders_stopped(pki):
    pki.responders.stop()
    try:
        yield
    finally:
        pki.responders.start()


def ades_spec(pki, *, online: bool) -> PdfSignatureValidationSpec:
    # End-entity certificates (seal, TSA) must have revocation data; CA certificates only if
    # they name a service (the root is the anchor and names none).
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[asn1_cert(pki.root)]),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(
            RevocationCheckingRule.CRL_OR_OCSP_REQUIRED, RevocationCheckingRule.CHECK_IF_DECLARED)),
    )
    fetching = RevinfoOnlineFetchingRule.ALWAYS_FETCH if online else RevinfoOnlineFetchingRule.LOCAL_ONLY
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=fetching),
    ))


def _seal(pdf: bytes):
    return PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[0]


def _ades_at_level(pdf: bytes, level: str, pki):
    """The EN 319 102-1 process that matches the level: basic (§ 5.3) for B-B, with time
    (§ 5.5) for B-T / B-LT, long-term (§ 5.6.3) for B-LTA. B-B / B-T carry no revocation
    data, so pyHanko fetches it (the responders run); B-LT / B-LTA use only the DSS."""
    sig = _seal(pdf)
    online = level in ("B-B", "B-T")
    spec = ades_spec(pki, online=online)
    if level == "B-LTA":
        return asyncio.run(ades_lta_validation(sig, spec))
    sig_spec = spec.signature_validation_spec
    if level == "B-LT":
        sig_spec = dataclasses.replace(sig_spec, local_knowledge=_dss_to_local_knowledge(sig.reader))
    process = ades_basic_validation if level == "B-B" else ades_with_time_validation
    return asyncio.run(process(sig.signed_data, sig_spec, raw_digest=sig.compute_digest()))


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_passes_pyhanko_ades_validation(service_pki, level):
    pdf = sealed_at_level(level)
    result = _ades_at_level(pdf, level, service_pki)
    assert result.ades_subindic is AdESPassed.OK, result.failure_msg
    if level == "B-LTA":
        assert result.oldest_evidence_record_timestamp is not None
        assert result.signature_timestamp_status.ades_subindic is AdESPassed.OK


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_verify_offline_from_embedded_data(service_pki, level):
    pdf = sealed_at_level(level)  # sealing needs the responders (cached when another test sealed first)
    with responders_stopped(service_pki):
        report = verify_pdf(pdf, service_pki.trust)
        ades = _ades_at_level(pdf, level, service_pki)
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
    seal = report.signatures[0]
    assert (seal.level, seal.revocation, seal.trusted, seal.certified) == (level, "good", True, True)
    assert seal.modifications == "LTA_UPDATES"
    assert seal.timestamp is not None
    assert ades.ades_subindic is AdESPassed.OK, ades.failure_msg
    if level == "B-LTA":
        assert len(report.signatures) == 2 and report.signatures[1].trusted


@pytest.mark.parametrize("level", ["B-B", "B-T"])
def test_short_levels_need_the_network_when_the_certificate_names_revocation_services(service_pki, level):
    pdf = sealed_at_level(level)
    offline = verify_pdf(pdf, service_pki.trust)
    assert offline.verdict is Verdict.INDETERMINATE
    assert any("revocation status" in r for r in offline.reasons)
    assert offline.signatures[0].revocation == "unavailable"
    online = verify_pdf(pdf, service_pki.trust, allow_fetching=True)
    assert online.verdict is Verdict.NO_LEGAL_VALUE, online.reasons
    assert online.signatures[0].level == level
    assert online.signatures[0].revocation == "good"


def test_lta_original_verifies_after_the_seal_certificate_expired_with_responders_stopped(service_pki):
    pdf = sealed_at_level("B-LTA")
    seal_expiry = service_pki.key.certificate.not_valid_after_utc
    later = seal_expiry + timedelta(days=60)
    with responders_stopped(service_pki):
        report = verify_pdf(pdf, service_pki.trust, at=later)
        simulated = asyncio.run(simulate_future_ades_lta_validation(
            _seal(pdf), ades_spec(service_pki, online=False), future_validation_time=later))
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
    assert report.signatures[0].trusted and report.signatures[0].level == "B-LTA"
    assert simulated.ades_subindic is AdESPassed.OK, simulated.failure_msg


def test_b_b_original_does_not_survive_its_certificate(service_pki):
    later = service_pki.key.certificate.not_valid_after_utc + timedelta(days=1)
    report = verify_pdf(sealed_at_level("B-B"), service_pki.trust, at=later, allow_fetching=True)
    assert report.verdict is Verdict.INDETERMINATE


def test_newest_timestamp_must_still_be_valid(service_pki):
    tsa_expiry = service_pki.authority.tsa.certificate.not_valid_after_utc
    report = verify_pdf(sealed_at_level("B-LTA"), service_pki.trust, at=tsa_expiry + timedelta(days=1))
    assert report.verdict is Verdict.INDETERMINATE
    assert any("certseal extend" in r for r in report.reasons)


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils pdfsig not installed")
@pytest.mark.parametrize("level", LEVELS)
def test_pdfsig_accepts_every_level(tmp_path, service_pki, level):
    path = tmp_path / f"{level}.pdf"
    path.write_bytes(sealed_at_level(level))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30).stdout
    first = out.split("Signature #2")[0]
    assert "Signature Field Name: CertsealSeal" in first
    assert "Signature is Valid" in first
    assert "ETSI.CAdES.detached" in first
    if level == "B-LTA":  # the document timestamp: poppler lists it but cannot check it
        assert "Signature #2" in out and "Signer Certificate Common Name: certseal training timestamp authority" in out


def test_levels_report_the_tsa_time(service_pki):
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    result = seal_document(
        unsigned_pdf(ENV), service_pki.key, SealRequest(ENV, REFERENCE, Level.B_T), service_pki.services)
    assert result.level is Level.B_T
    assert before <= result.timestamp <= datetime.now(timezone.utc) + timedelta(seconds=5)


def test_unreachable_tsa_is_a_clear_refusal(service_pki):
    with responders_stopped(service_pki):
        with pytest.raises(SealingError, match="timestamp|signing failed"):
            seal_document(unsigned_pdf(ENV), service_pki.key, SealRequest(ENV, REFERENCE, Level.B_T), service_pki.services)


def test_revoked_seal_certificate_is_refused_at_b_lt(service_pki):
    ca = service_pki.authority.ca
    ca.revoke(service_pki.key.certificate)
    try:
        with pytest.raises(SealingError):
            seal_document(unsigned_pdf(ENV), service_pki.key, SealRequest(ENV, REFERENCE, Level.B_LT), service_pki.services)
        report = verify_pdf(sealed_at_level("B-B"), service_pki.trust, allow_fetching=True)
        assert report.verdict is Verdict.INVALID
        assert report.signatures[0].revocation == "revoked"
    finally:
        ca.revoked.clear()


@pytest.mark.parametrize("level", ["B-B", "B-LT", "B-LTA"])
def test_extend_adds_an_archive_timestamp_without_breaking_the_seal(service_pki, level):
    original = sealed_at_level(level)
    extended = extend_pdf(original, service_pki.services, service_pki.trust)
    assert extended.pdf.startswith(original)  # incremental: the original bytes are untouched
    assert extended.reference == REFERENCE and extended.timestamp is not None
    again = extend_pdf(extended.pdf, service_pki.services, service_pki.trust)
    # A B-B original has no signature timestamp: its first document timestamp is its time
    # proof (B-LT), the second one archives it (B-LTA).
    expected = ("B-LT" if level == "B-B" else "B-LTA", "B-LTA")
    with responders_stopped(service_pki):
        for pdf, want in zip((extended.pdf, again.pdf), expected):
            report = verify_pdf(pdf, service_pki.trust)
            assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
            assert report.signatures[0].level == want
            assert report.signatures[0].modifications == "LTA_UPDATES"
    reader = PdfFileReader(BytesIO(again.pdf))
    assert len(reader.embedded_timestamp_signatures) == len(PdfFileReader(BytesIO(original)).embedded_timestamp_signatures) + 2


def test_extend_refuses_a_tampered_document(service_pki):
    original = bytearray(sealed_at_level("B-LT"))
    i = original.index(b"stream", 1000) + 40  # inside the signed range: an early content stream
    original[i] ^= 0x01
    with pytest.raises(SealingError, match="refusing to extend"):
        extend_pdf(bytes(original), service_pki.services, service_pki.trust)


def test_extend_refuses_an_unsigned_document(service_pki):
    with pytest.raises(SealingError, match="refusing to extend"):
        extend_pdf(unsigned_pdf(ENV), service_pki.services, service_pki.trust)


def test_what_verifying_a_b_lta_original_parsed_is_freed_when_it_returns(service_pki):
    # Parsed PDF objects point back to their reader, so left alone they would wait for the
    # cyclic collector: thousands of them for a certseal B-LTA original, whose change
    # analysis reads every object of two revisions. Verify lets go of them itself.
    import gc

    from pyhanko.pdf_utils.generic import Reference

    from _pki_helpers import certseal_original_at_level
    from signer.verify import verify_pdf_async

    def references_alive() -> int:
        return sum(isinstance(o, Reference) for o in gc.get_objects())

    data = certseal_original_at_level("B-LTA", env=Environment.TRAINING)
    verify_pdf(data, service_pki.trust)  # imports and caches first
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        before = references_alive()
        report = asyncio.run(verify_pdf_async(data, service_pki.trust))
        left = references_alive() - before
    finally:
        if was_enabled:
            gc.enable()
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
    # Left alone: about 4,100. What remains (about 500) sits in the path table pyHanko's change
    # analysis builds inside a recursive closure, a cycle of its own.
    assert left < 1000, f"{left} parsed references still alive after verify"
