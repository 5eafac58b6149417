"""A small PKI per environment: one root CA and one seal certificate, for development and demos.

Key type: ECDSA on P-256. Key generation is instant (an RSA-3072 key takes ~0.1–1 s, which adds
up in tests and `certseal demo`), signing is fast, signatures are 64–72 bytes so the reserved
/Contents hole stays small, and P-256 with SHA-256 is within ETSI TS 119 312 / SOG-IS for
qualified seals and is supported by pyHanko, Adobe Reader and poppler.

The seal certificate is an end-entity certificate with keyUsage digitalSignature +
nonRepudiation (contentCommitment), no extendedKeyUsage (some validators reject unfamiliar EKUs,
and the policy OID already says what the key is for), the environment's policy OID
(`signer.policy`) and the environment name in OU.

The root's private key is deliberately *not* written: a demo PKI needs no second seal, and a key
that is never stored needs no protection. Re-run `create_pki(..., overwrite=True)` instead.

Building (pure, in memory: `build_pki`) is separate from writing (`write_pki`) so tests can
create variants (expired, wrong key usage) without touching the disk.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from renderers.environment import Environment
from signer.errors import PkiExistsError
from signer.policy import ENVIRONMENT_POLICY_OIDS

ORGANIZATION = "certseal demo authority"
COUNTRY = "BE"
ROOT_VALIDITY = timedelta(days=3650)
SEAL_VALIDITY = timedelta(days=730)
# Certificates start slightly in the past so a verifier whose clock lags a little still
# accepts a freshly created PKI.
CLOCK_SKEW = timedelta(minutes=5)

ROOT_FILE = "root.pem"
SEAL_FILE = "seal.p12"
PASSPHRASE_FILE = "seal.passphrase"
PKI_FILE_NAMES = (ROOT_FILE, SEAL_FILE, PASSPHRASE_FILE)


@dataclass(frozen=True)
class PkiMaterial:
    """An environment's PKI in memory. The root key is kept only as long as this object lives."""

    environment: Environment
    root_key: ec.EllipticCurvePrivateKey
    root_cert: x509.Certificate
    seal_key: ec.EllipticCurvePrivateKey
    seal_cert: x509.Certificate


@dataclass(frozen=True)
class PkiFiles:
    """Where `write_pki` put an environment's PKI."""

    environment: Environment
    directory: Path
    root_pem: Path
    seal_p12: Path
    passphrase_file: Path

    @property
    def root_cert(self) -> Path:
        """Alias of `root_pem` (the name service.pki uses)."""
        return self.root_pem


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def environment_name(env: Environment, role: str) -> x509.Name:
    """`CN=certseal <env> <role>, OU=<env>, O=certseal demo authority, C=BE`."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, env.value),
            x509.NameAttribute(NameOID.COMMON_NAME, f"certseal {env.value} {role}"),
        ]
    )


def build_root_certificate(
    env: Environment,
    key: ec.EllipticCurvePrivateKey,
    *,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    name = environment_name(env, "root CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )


def seal_key_usage(*, non_repudiation: bool = True) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def build_seal_certificate(
    env: Environment,
    public_key: ec.EllipticCurvePublicKey,
    *,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """The environment's seal certificate, bound to `env` by policy OID and OU."""
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(environment_name(env, "seal"))
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(seal_key_usage(), critical=True)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(ENVIRONMENT_POLICY_OIDS[env], None)]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


def build_pki(env: Environment, *, now: datetime | None = None) -> PkiMaterial:
    now = now or datetime.now(timezone.utc)
    start = now - CLOCK_SKEW
    root_key = generate_key()
    root_cert = build_root_certificate(env, root_key, not_before=start, not_after=start + ROOT_VALIDITY)
    seal_key = generate_key()
    seal_cert = build_seal_certificate(
        env,
        seal_key.public_key(),
        issuer_cert=root_cert,
        issuer_key=root_key,
        not_before=start,
        not_after=start + SEAL_VALIDITY,
    )
    return PkiMaterial(env, root_key, root_cert, seal_key, seal_cert)


def pkcs12_bytes(material: PkiMaterial, passphrase: bytes) -> bytes:
    """The seal key + certificate, with the root as chain, encrypted under `passphrase`."""
    return pkcs12.serialize_key_and_certificates(
        name=f"certseal {material.environment.value} seal".encode(),
        key=material.seal_key,
        cert=material.seal_cert,
        cas=[material.root_cert],
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
    )


def new_passphrase() -> bytes:
    return secrets.token_urlsafe(32).encode("ascii")


def _write_file(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL + explicit mode: the file never exists with looser permissions, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_files_in(staging: Path, directory: Path, names: list[str], *, overwrite: bool) -> None:
    """Move staged files into a directory that holds other files too (in `names` order)."""
    placed: list[Path] = []
    try:
        for name in names:
            if overwrite:
                os.replace(staging / name, directory / name)
            else:
                # link() fails if the name appeared since the caller checked: never clobber.
                os.link(staging / name, directory / name)
                placed.append(directory / name)
                os.unlink(staging / name)
    except BaseException:
        for path in placed:  # do not leave half a PKI behind
            path.unlink(missing_ok=True)
        raise


def _files_for(env: Environment, directory: Path) -> PkiFiles:
    return PkiFiles(
        environment=env,
        directory=directory,
        root_pem=directory / ROOT_FILE,
        seal_p12=directory / SEAL_FILE,
        passphrase_file=directory / PASSPHRASE_FILE,
    )


def write_pki(material: PkiMaterial, directory: Path, *, overwrite: bool = False) -> PkiFiles:
    """Write `root.pem`, `seal.p12` and `seal.passphrase` (0600) into `directory`.

    All three are written into a temporary directory first. If `directory` does not exist or is
    empty, that temporary directory is renamed onto it: the set appears all at once or not at
    all. If `directory` already holds other files (a shared config directory), each file is
    renamed into place on its own, passphrase and key first and root last.

    Refuses (PkiExistsError) if any of the three files already exists, unless `overwrite`.
    """
    directory = Path(directory)
    existing = [n for n in PKI_FILE_NAMES if (directory / n).exists()]
    if existing and not overwrite:
        raise PkiExistsError(
            f"a PKI already exists in {directory} ({', '.join(existing)}); "
            "refusing to replace it without overwrite"
        )
    passphrase = new_passphrase()
    contents = {
        PASSPHRASE_FILE: (passphrase, 0o600),
        SEAL_FILE: (pkcs12_bytes(material, passphrase), 0o600),
        ROOT_FILE: (material.root_cert.public_bytes(serialization.Encoding.PEM), 0o644),
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    whole_dir = not directory.exists() or not any(directory.iterdir())
    staging_parent = directory.parent if whole_dir else directory
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.pki-", dir=staging_parent))
    try:
        for name, (data, mode) in contents.items():
            _write_file(staging / name, data, mode)
        _fsync_dir(staging)
        if whole_dir:
            os.chmod(staging, 0o700)
            os.replace(staging, directory)  # replaces an empty directory atomically on POSIX
            _fsync_dir(directory.parent)
        else:
            _move_files_in(staging, directory, list(contents), overwrite=overwrite)
            staging.rmdir()
            _fsync_dir(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _files_for(material.environment, directory)


def create_pki(
    env: Environment, directory: Path, *, overwrite: bool = False, now: datetime | None = None
) -> PkiFiles:
    """Create a fresh root CA + seal certificate for `env` and write them to `directory`."""
    return write_pki(build_pki(env, now=now), Path(directory), overwrite=overwrite)
