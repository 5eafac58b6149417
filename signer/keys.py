"""Seal keys: where they come from (`KeySpec`) and loading one that is fit to seal (`SealKey`).

Key specs are strings so they fit in config files and on the command line:

    pkcs12:/etc/certseal/training/seal.p12      PKCS#12 file (development, demos)
    pkcs11:token=certseal;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so
                                                PKCS#11 token (HSM; SoftHSM2 in tests), see signer.pkcs11

A loaded `SealKey` is only returned for a certificate that could legally seal *now*: inside its
validity period, with nonRepudiation (contentCommitment) key usage, bound to exactly one
environment by its policy OID (`signer.policy`). The environment travels with the key so the
sealing step can refuse a key from the wrong environment.

Passphrases are bytes that are passed on, never formatted into a message or a log line.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from renderers.environment import Environment
from signer.errors import SealingError
from signer.policy import PolicyError, certificate_environment


class KeyScheme(StrEnum):
    PKCS12 = "pkcs12"
    PKCS11 = "pkcs11"


@dataclass(frozen=True)
class KeySpec:
    scheme: KeyScheme
    location: str  # a file path for pkcs12, the rest of the RFC 7512 URI for pkcs11

    @classmethod
    def parse(cls, text: str) -> "KeySpec":
        scheme, sep, rest = str(text).partition(":")
        if not sep or not rest:
            raise SealingError(
                f"key spec {text!r} is not of the form 'pkcs12:PATH' or 'pkcs11:URI'"
            )
        try:
            key_scheme = KeyScheme(scheme.strip().lower())
        except ValueError:
            raise SealingError(
                f"unknown key scheme {scheme!r} in key spec (expected 'pkcs12' or 'pkcs11')"
            ) from None
        return cls(key_scheme, rest)

    @property
    def path(self) -> Path:
        if self.scheme is not KeyScheme.PKCS12:
            raise SealingError(f"a {self.scheme.value} key spec has no file path")
        return Path(self.location).expanduser()

    def __str__(self) -> str:
        return f"{self.scheme.value}:{self.location}"


def passphrase_from_file(path: Path) -> bytes:
    """The passphrase stored in `path`, without its trailing line break."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise SealingError(f"cannot read passphrase file {path}: {e.strerror or e}") from None
    return data.rstrip(b"\r\n")


def passphrase_from_env_value(value: str | None) -> bytes | None:
    """The passphrase given as an environment variable's value (None or empty: no passphrase)."""
    return value.encode("utf-8") if value else None


@dataclass(frozen=True)
class SealKey:
    """A seal key ready to use: pyHanko signer, its certificate, the environment it may seal for."""

    signer: SimpleSigner  # or pyHanko's PKCS11Signer
    certificate: x509.Certificate
    environment: Environment
    spec: KeySpec
    closer: object | None = None  # PKCS#11: the open session's owner

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def label(self) -> str:
        """How the audit trail names the key: the PKCS#12 file or the token + object label."""
        if self.spec.scheme is KeyScheme.PKCS11:
            from signer.pkcs11 import Pkcs11Uri

            try:
                return Pkcs11Uri.parse(self.spec.location, environ={"CERTSEAL_PKCS11_MODULE": "-"}).label
            except SealingError:
                return "pkcs11"
        return str(self.spec)

    def close(self) -> None:
        if self.closer is not None:
            self.closer.close()


def check_seal_certificate(cert: x509.Certificate, *, at: datetime | None = None) -> Environment:
    """Return the environment `cert` is bound to, or raise SealingError saying why it can't seal."""
    at = at or datetime.now(timezone.utc)
    subject = cert.subject.rfc4514_string()
    if at < cert.not_valid_before_utc:
        raise SealingError(
            f"seal certificate {subject} is not valid yet (valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC)"
        )
    if at > cert.not_valid_after_utc:
        raise SealingError(
            f"seal certificate {subject} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.content_commitment:
        # A seal asserts the authority's commitment to the content; without nonRepudiation
        # (contentCommitment) validators such as pyHanko reject the signature anyway.
        raise SealingError(
            f"seal certificate {subject} lacks the nonRepudiation (contentCommitment) key usage"
        )
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if basic.ca:
            raise SealingError(f"certificate {subject} is a CA certificate, not a seal certificate")
    except x509.ExtensionNotFound:
        pass
    try:
        return certificate_environment(cert)
    except PolicyError as e:
        raise SealingError(f"seal certificate {subject}: {e}") from None


def load_seal_key(
    spec: KeySpec, passphrase: bytes | None, *, at: datetime | None = None
) -> SealKey:
    """Load and check the key named by `spec`. Raises SealingError (never with the passphrase)."""
    if spec.scheme is KeyScheme.PKCS11:
        return _load_pkcs11(spec, passphrase, at=at)
    path = spec.path
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SealingError(f"cannot read key file {path}: {e.strerror or e}") from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError:
        # cryptography says "Invalid password or PKCS12 data"; we cannot tell which.
        raise SealingError(
            f"cannot open {path}: wrong passphrase or not a PKCS#12 file"
        ) from None
    if key is None or cert is None:
        raise SealingError(f"{path} does not contain both a private key and its certificate")
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise SealingError(f"{path}: the private key does not belong to the certificate")
    environment = check_seal_certificate(cert, at=at)
    return SealKey(
        signer=_simple_signer(key, cert, extra),
        certificate=cert,
        environment=environment,
        spec=spec,
    )


def _load_pkcs11(spec: KeySpec, pin: bytes | None, *, at: datetime | None) -> SealKey:
    from signer.pkcs11 import Pkcs11Uri, open_pkcs11_key

    uri = Pkcs11Uri.parse(spec.location)
    opened = open_pkcs11_key(uri, pin)
    try:
        # Same rules as a file key, checked before anything is signed.
        environment = check_seal_certificate(opened.certificate, at=at)
    except SealingError:
        opened.close()
        raise
    return SealKey(signer=opened.signer, certificate=opened.certificate, environment=environment,
                   spec=spec, closer=opened)


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _simple_signer(key, cert: x509.Certificate, chain: list[x509.Certificate]) -> SimpleSigner:
    # Built directly instead of SimpleSigner.load_pkcs12_data, which would decrypt the
    # PKCS#12 a second time (its key derivation is deliberately slow).
    store = SimpleCertificateStore()
    store.register_multiple([_to_asn1(c) for c in chain])
    return SimpleSigner(
        signing_cert=_to_asn1(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=store,
    )
