"""A seal reserves the space pyHanko estimated for the signer and level's first seal
(signer.reserved_space) instead of estimating it again by a dry-run signature, and asks the
TSA for the estimate's dummy token once per process."""
from __future__ import annotations

import weakref

import pytest
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps import HTTPTimeStamper

from _pki_helpers import REFERENCE, service_pki, unsigned_pdf  # noqa: F401
from renderers.environment import Environment
from signer import reserved_space
from signer.levels import Level
from signer.pades import SealRequest, SealServices, seal_document
from signer.report import Verdict
from signer.verify import verify_pdf

ENV = Environment.TRAINING
_ESTIMATE = PdfSigningSession.estimate_signature_container_size
_TIMESTAMP = HTTPTimeStamper.async_timestamp


@pytest.fixture
def estimates(monkeypatch) -> list[int]:
    """The sizes pyHanko estimated by a dry run, one per estimate; nothing remembered yet."""
    monkeypatch.setattr(reserved_space, "_known", weakref.WeakKeyDictionary())
    sizes: list[int] = []

    async def counting(self, *args, **kwargs):
        size = await _ESTIMATE(self, *args, **kwargs)
        sizes.append(size)
        return size

    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", counting)
    return sizes


def _seal(pki, level: Level) -> bytes:
    request = SealRequest(ENV, REFERENCE, level)
    return seal_document(unsigned_pdf(ENV), pki.key, request, pki.services).pdf


@pytest.mark.parametrize("level", [Level.B_B, Level.B_LTA])
def test_the_next_seal_reserves_what_pyhanko_estimated_for_the_first(service_pki, estimates, level):
    unsigned_length = len(unsigned_pdf(ENV))
    first = _seal(service_pki, level)
    assert len(estimates) == 1
    assert reserved_space.reserved_in(first, unsigned_length) == estimates[0]

    second = _seal(service_pki, level)
    assert len(estimates) == 1  # no dry run
    assert reserved_space.reserved_in(second, unsigned_length) == estimates[0]
    for pdf in (first, second):
        report = verify_pdf(pdf, service_pki.trust, allow_fetching=True)
        assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons

    # What a third seal reserves when it estimates again: the same give or take the few bytes
    # an ECDSA signature's length varies by (the dry run signs too).
    reserved_space.forget(service_pki.key.signer, ("sha256", level, service_pki.services.tsa_url))
    third = _seal(service_pki, level)
    assert len(estimates) == 2 and abs(estimates[1] - estimates[0]) <= 12
    assert reserved_space.reserved_in(third, unsigned_length) == estimates[1]


def test_a_signature_that_does_not_fit_is_sealed_again_with_pyhankos_estimate(service_pki, estimates):
    settings = ("sha256", Level.B_B, service_pki.services.tsa_url)
    _seal(service_pki, Level.B_B)
    reserved_space._known[service_pki.key.signer][settings] = 1000  # far too small for a CMS
    pdf = _seal(service_pki, Level.B_B)
    assert len(estimates) == 2  # the seal was made again, with a dry run
    assert reserved_space.reserved_in(pdf, len(unsigned_pdf(ENV))) == estimates[1]
    assert reserved_space.known(service_pki.key.signer, settings) == estimates[1]
    assert verify_pdf(pdf, service_pki.trust, allow_fetching=True).verdict is Verdict.NO_LEGAL_VALUE


def test_the_tsa_is_asked_once_per_seal_after_the_first(service_pki, monkeypatch):
    services = service_pki.services
    assert services.timestamper() is SealServices(tsa_url=services.tsa_url).timestamper()
    _seal(service_pki, Level.B_T)  # the dummy token for the estimate, if not asked before
    digests: list[bytes] = []

    async def counting(self, message_digest, md_algorithm):
        digests.append(message_digest)
        return await _TIMESTAMP(self, message_digest, md_algorithm)

    monkeypatch.setattr(HTTPTimeStamper, "async_timestamp", counting)
    _seal(service_pki, Level.B_T)
    assert len(digests) == 1  # the signature's own timestamp
