"""signer._asn1_dump: the same DER as asn1crypto's own dump, without re-encoding a changed
value's contents several times per call."""
from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from io import BytesIO

import pytest
from asn1crypto import algos, cms, core, tsp, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers.pdf_cms import format_signed_attributes

from _pki_helpers import certseal_original, pkis  # noqa: F401 - fixture
from signer import _asn1_dump
from renderers.environment import Environment


def _with_original_dump(build: Callable[[], core.Asn1Value]) -> bytes:
    _asn1_dump.uninstall()
    try:
        return build().dump()
    finally:
        _asn1_dump.install()


def _cms():
    reader = PdfFileReader(BytesIO(certseal_original(env=Environment.TRAINING)))
    return reader.embedded_signatures[0].signed_data


def _signing_certificate():
    return _cms()["certificates"][0].chosen


def _signed_attributes():
    return asyncio.run(format_signed_attributes(hashlib.sha256(b"certificate").digest(), []))


def _signer_info():
    cert = _signing_certificate()
    attrs = _signed_attributes()
    return cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        "signature": b"\x01" * 256,
    })


def _mutated_certificate():
    cert = x509.Certificate.load(_signing_certificate().dump())
    cert["tbs_certificate"]["serial_number"] = 4242
    cert["tbs_certificate"]["subject"] = x509.Name.build({"common_name": "Ελληνικά seal", "country_name": "GR"})
    return cert


def _mutated_cms():
    reader = PdfFileReader(BytesIO(certseal_original(env=Environment.TRAINING)))
    content_info = cms.ContentInfo.load(reader.embedded_signatures[0].pkcs7_content)
    content_info["content"]["signer_infos"][0]["signature"] = b"\x02" * 256
    return content_info


def _explicitly_tagged():
    return tsp.SigningCertificateV2({"certs": [as_signing_certificate_v2(_signing_certificate())["certs"][0]]})


SHA256_OID = b"\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01"


def _indefinite_length():
    # BER: AlgorithmIdentifier SEQUENCE (indefinite length) { sha256, NULL }
    return algos.DigestAlgorithm.load(b"\x30\x80" + SHA256_OID + b"\x05\x00\x00\x00")


BUILDERS = {
    "signing_certificate_v2": lambda: as_signing_certificate_v2(_signing_certificate()),
    "signed_attributes": _signed_attributes,
    "signer_info": _signer_info,
    "mutated_certificate": _mutated_certificate,
    "mutated_cms": _mutated_cms,
    "explicitly_tagged": _explicitly_tagged,
    "indefinite_length": _indefinite_length,
    "parsed_cms": _cms,
}


def test_active_on_the_pinned_asn1crypto():
    assert _asn1_dump.ACTIVE, "asn1crypto's Asn1Value.dump changed: review signer/_asn1_dump.py against it"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_same_der_as_asn1crypto(name):
    build = BUILDERS[name]
    ours = build().dump()
    assert ours == _with_original_dump(build)
    again = build()
    assert again.dump() == again.dump() == ours  # dumping twice changes nothing


def test_force_re_encodes_ber_as_der_like_asn1crypto():
    ours = _indefinite_length().dump(force=True)
    assert ours == b"\x30\x0d" + SHA256_OID + b"\x05\x00"
    _asn1_dump.uninstall()
    try:
        assert _indefinite_length().dump(force=True) == ours
    finally:
        _asn1_dump.install()


def _encodings(monkeypatch, build: Callable[[], core.Asn1Value]) -> int:
    """How many times dumping a freshly built value encodes a structure's contents."""
    value = build()
    encoded = Counter()
    original = core.Sequence._set_contents

    def counting(self, force=False):
        encoded[type(self).__name__] += 1
        return original(self, force)

    with monkeypatch.context() as patch:
        patch.setattr(core.Sequence, "_set_contents", counting)
        value.dump()
    return sum(encoded.values())


def test_a_built_value_is_encoded_about_once_per_node(monkeypatch):
    def build():
        return as_signing_certificate_v2(_signing_certificate())

    ours = _encodings(monkeypatch, build)
    _asn1_dump.uninstall()
    try:
        theirs = _encodings(monkeypatch, build)
    finally:
        _asn1_dump.install()
    # 5 structures (SigningCertificateV2 > ESSCertIDv2 > DigestAlgorithm, IssuerSerial):
    # asn1crypto's own dump encoded them 58 times (hundreds, nested in a seal's SignerInfo),
    # each read of a changed value's contents re-encoding its whole subtree.
    assert ours <= 10 and theirs > 10 * ours, (ours, theirs)
