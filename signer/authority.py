"""The online services of an environment's CA, as pure functions of (request bytes, time):
OCSP responses, CRLs and RFC 3161 timestamp tokens.

`signer.responders` serves them over HTTP on loopback (tests, `certseal demo`); nothing here
opens a socket. A real deployment points its certificates at the authority's own services
instead and never runs these.

- OCSP: signed by a delegated responder certificate (id-kp-OCSPSigning + ocsp-nocheck) when
  the PKI has one, else by the CA itself (RFC 6960 § 2.6). A serial the CA did not issue is
  answered `unknown`, never `good`.
- CRL: a fresh full CRL on every request, valid for `CRL_VALIDITY`; numbered by time so two
  CRLs of one authority never share a number.
- TSA: pyHanko's token builder (`DummyTimeStamper`, RSA-only) with the signature step
  generalised to the EC keys certseal uses.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from asn1crypto import algos, cms, core, keys as asn1_keys, tsp, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509 import ocsp
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

# How long a CRL or OCSP response is fresh. Short enough that a revocation shows within a
# day, long enough that a document sealed now can be re-validated from its DSS for a while.
CRL_VALIDITY = timedelta(days=7)
OCSP_VALIDITY = timedelta(days=7)
# The policy under which the demo TSA issues tokens (under the documentation arc 2.999).
TSA_POLICY_OID = "2.999.7243.2.1"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class CertificateAuthority:
    """A CA that answers for the certificates it issued. `revoked` maps serial → time."""

    certificate: x509.Certificate
    key: PrivateKey
    responder_cert: x509.Certificate | None = None
    responder_key: PrivateKey | None = None
    issued: dict[int, x509.Certificate] = field(default_factory=dict)
    revoked: dict[int, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def register(self, *certs: x509.Certificate) -> None:
        with self._lock:
            for cert in certs:
                self.issued[cert.serial_number] = cert

    def revoke(self, cert: x509.Certificate, at: datetime | None = None) -> None:
        with self._lock:
            self.revoked[cert.serial_number] = at or _now()

    def crl(self, now: datetime | None = None) -> bytes:
        now = (now or _now()).replace(microsecond=0)
        with self._lock:
            revoked = dict(self.revoked)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + CRL_VALIDITY)
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
            .add_extension(self._aki(), critical=False)
        )
        for serial, when in revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_response(self, request_der: bytes, now: datetime | None = None) -> bytes:
        now = (now or _now()).replace(microsecond=0)
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            ).public_bytes(serialization.Encoding.DER)
        if not self._is_issuer_of(request):
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(serialization.Encoding.DER)
        serial = request.serial_number
        with self._lock:
            known = serial in self.issued
            revoked_at = self.revoked.get(serial)
        if revoked_at is not None:
            status = ocsp.OCSPCertStatus.REVOKED
        elif known:
            status = ocsp.OCSPCertStatus.GOOD
        else:
            status = ocsp.OCSPCertStatus.UNKNOWN
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=serial,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + OCSP_VALIDITY,
            revocation_time=revoked_at,
            revocation_reason=None,
        )
        signer_cert, signer_key = self.certificate, self.key
        if self.responder_cert is not None and self.responder_key is not None:
            signer_cert, signer_key = self.responder_cert, self.responder_key
            builder = builder.certificates([self.responder_cert])
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce)
            builder = builder.add_extension(nonce.value, critical=False)
        except x509.ExtensionNotFound:
            pass
        return builder.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def _is_issuer_of(self, request: ocsp.OCSPRequest) -> bool:
        algorithm = request.hash_algorithm
        name_hash = hashes.Hash(algorithm)
        name_hash.update(self.certificate.subject.public_bytes())
        spki = asn1_keys.PublicKeyInfo.load(
            self.certificate.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        key_hash = hashes.Hash(algorithm)
        key_hash.update(spki["public_key"].contents[1:])  # BIT STRING without its unused-bits byte
        return (
            name_hash.finalize() == request.issuer_name_hash
            and key_hash.finalize() == request.issuer_key_hash
        )

    def _aki(self) -> x509.AuthorityKeyIdentifier:
        ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _TokenBuilder(DummyTimeStamper):
    """pyHanko's in-process token builder, taught to sign with EC keys as well as RSA."""

    def __init__(self, tsa_cert: x509.Certificate, tsa_key: PrivateKey, chain: list[x509.Certificate]):
        der_key = tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        super().__init__(
            tsa_cert=_asn1_cert(tsa_cert),
            tsa_key=asn1_keys.PrivateKeyInfo.load(der_key),
            certs_to_embed=[_asn1_cert(c) for c in chain],
        )
        self._key = tsa_key

    def _build_tst_info(self, message_imprint, dt, req):
        info = super()._build_tst_info(message_imprint, dt, req)
        info["policy"] = tsp.ObjectIdentifier(TSA_POLICY_OID)
        return info

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate_v2", general.as_signing_certificate_v2(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        hash_algorithm = get_pyca_cryptography_hash(md_algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hash_algorithm))
        else:
            signature = self._key.sign(signed_attrs.dump(), PKCS1v15(), hash_algorithm)
        return signature, signed_attrs

    def _build_signed_data(self, tst_info_data, md_algorithm, signature, signed_attrs):
        data = super()._build_signed_data(tst_info_data, md_algorithm, signature, signed_attrs)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            info = data["signer_infos"][0]
            info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": f"{md_algorithm}_ecdsa"})
        return data


@dataclass
class TimestampAuthority:
    """An RFC 3161 TSA: `respond` turns a DER TimeStampReq into a DER TimeStampResp."""

    certificate: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._builder = _TokenBuilder(self.certificate, self.key, self.chain)

    def respond(self, request_der: bytes) -> bytes:
        try:
            request = tsp.TimeStampReq.load(request_der)
            request.native  # parse fully now: a malformed request must not fail half-way
        except (ValueError, TypeError):
            return tsp.TimeStampResp({
                "status": tsp.PKIStatusInfo({
                    "status": tsp.PKIStatus("rejection"),
                    "fail_info": tsp.PKIFailureInfo({"bad_data_format"}),
                })
            }).dump()
        return self._builder.request_tsa_response(request).dump()
