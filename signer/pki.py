"""A small PKI per environment: one root CA and one seal certificate, for development and demos.

Key type: ECDSA on P-256. Key generation is instant (an RSA-3072 key takes ~0.1–1 s, which adds
up in tests and `certseal demo`), signing is fast, signatures are 64–72 bytes so the reserved
/Contents hole stays small, and P-256 with SHA-256 is within ETSI TS 119 312 / SOG-IS for
qualified seals and is supported by pyHanko, Adobe Reader and poppler.

The seal certificate is an end-entity certificate with keyUsage digitalSignature +
nonRepudiation (contentCommitment), no extendedKeyUsage (some validators reject unfamiliar EKUs,
and the policy OID already says what the key is for), the environment's policy OID
(`signer.policy`) and the environment name in OU.

A PKI comes in two shapes:
- *plain* (`services=None`): root + seal only. The root's private key is deliberately *not*
  written: nothing needs it later, and a key that is never stored needs no protection. Its
  certificates name no revocation service, so B-B originals verify offline as they are.
  This is the production-like setup where the authority's real PKI and TSA come later.
- *with services* (`services=ResponderUrls(port)`): the CA also runs OCSP, CRL and an RFC 3161
  TSA on loopback at a port fixed now (`signer.responders`), so it can issue B-T / B-LT /
  B-LTA originals. The seal and TSA certificates carry AIA (OCSP) and CRL distribution point
  URLs on that port; the CA key and the TSA key are stored encrypted under their own
  passphrase file (`authority.passphrase`, 0600), because OCSP responses and CRLs must be
  signed for as long as the PKI is used. The TSA certificate has the critical
  id-kp-timeStamping EKU RFC 3161 requires.

Building (pure, in memory: `build_pki`) is separate from writing (`write_pki`) so tests can
create variants (expired, wrong key usage) without touching the disk.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from renderers.environment import Environment
from signer.errors import PkiExistsError, SealingError
from signer.policy import ENVIRONMENT_POLICY_OIDS
from signer.responders import ResponderUrls

if TYPE_CHECKING:
    from signer.authority import CertificateAuthority, TimestampAuthority

ORGANIZATION = "certseal demo authority"
COUNTRY = "BE"
ROOT_VALIDITY = timedelta(days=3650)
SEAL_VALIDITY = timedelta(days=730)
# Certificates start slightly in the past so a verifier whose clock lags a little still
# accepts a freshly created PKI.
CLOCK_SKEW = timedelta(minutes=5)

TSA_VALIDITY = timedelta(days=3650)

ROOT_FILE = "root.pem"
SEAL_FILE = "seal.p12"
PASSPHRASE_FILE = "seal.passphrase"
PKI_FILE_NAMES = (ROOT_FILE, SEAL_FILE, PASSPHRASE_FILE)
# Written only for a PKI with services (the local CA and TSA).
CA_KEY_FILE = "ca-key.pem"
SEAL_CERT_FILE = "seal.pem"
TSA_FILE = "tsa.p12"
OCSP_FILE = "ocsp.p12"
AUTHORITY_PASSPHRASE_FILE = "authority.passphrase"
AUTHORITY_FILE_NAMES = (CA_KEY_FILE, SEAL_CERT_FILE, TSA_FILE, OCSP_FILE, AUTHORITY_PASSPHRASE_FILE)


@dataclass(frozen=True)
class PkiMaterial:
    """An environment's PKI in memory. The root key is kept only as long as this object lives."""

    environment: Environment
    root_key: ec.EllipticCurvePrivateKey
    root_cert: x509.Certificate
    seal_key: ec.EllipticCurvePrivateKey
    seal_cert: x509.Certificate
    services: ResponderUrls | None = None
    tsa_key: ec.EllipticCurvePrivateKey | None = None
    tsa_cert: x509.Certificate | None = None
    ocsp_key: ec.EllipticCurvePrivateKey | None = None
    ocsp_cert: x509.Certificate | None = None


@dataclass(frozen=True)
class PkiFiles:
    """Where `write_pki` put an environment's PKI."""

    environment: Environment
    directory: Path
    root_pem: Path
    seal_p12: Path
    passphrase_file: Path
    services: ResponderUrls | None = None

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


def _service_extensions(builder: x509.CertificateBuilder, services: ResponderUrls | None) -> x509.CertificateBuilder:
    """AIA (OCSP) and CRL distribution point on the local responders, when there are any."""
    if services is None:
        return builder
    return builder.add_extension(
        x509.AuthorityInformationAccess([
            x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(services.ocsp)),
        ]),
        critical=False,
    ).add_extension(
        x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(services.crl)], None, None, None),
        ]),
        critical=False,
    )


def _end_entity(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_cert: x509.Certificate,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    """What every end-entity certificate of an environment shares: issued by its root, not a
    CA, key identifiers linking it to the root. Callers add usage, policies and service URLs."""
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
    )


def build_seal_certificate(
    env: Environment,
    public_key: ec.EllipticCurvePublicKey,
    *,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
    services: ResponderUrls | None = None,
    non_repudiation: bool = True,
) -> x509.Certificate:
    """The environment's seal certificate, bound to `env` by policy OID and OU."""
    builder = (
        _end_entity(environment_name(env, "seal"), public_key, issuer_cert, not_before, not_after)
        .add_extension(seal_key_usage(non_repudiation=non_repudiation), critical=True)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(ENVIRONMENT_POLICY_OIDS[env], None)]),
            critical=False,
        )
    )
    return _service_extensions(builder, services).sign(issuer_key, hashes.SHA256())


def build_tsa_certificate(
    env: Environment,
    public_key: ec.EllipticCurvePublicKey,
    *,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
    services: ResponderUrls | None = None,
) -> x509.Certificate:
    """A time-stamping unit certificate: RFC 3161 § 2.3 wants exactly one, critical EKU
    id-kp-timeStamping. No certseal policy OID: a TSA certificate must never pass as a seal."""
    builder = (
        _end_entity(environment_name(env, "timestamp authority"), public_key, issuer_cert, not_before, not_after)
        .add_extension(seal_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    )
    return _service_extensions(builder, services).sign(issuer_key, hashes.SHA256())


def build_ocsp_certificate(
    env: Environment,
    public_key: ec.EllipticCurvePublicKey,
    *,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A delegated OCSP signer (RFC 6960 § 4.2.2.2) with id-pkix-ocsp-nocheck: its own status
    is never asked, so a validator's revocation walk ends there (with a root signing OCSP
    itself, EN 319 102-1 past validation would ask for the root's revocation status)."""
    return (
        _end_entity(environment_name(env, "OCSP responder"), public_key, issuer_cert, not_before, not_after)
        .add_extension(seal_key_usage(non_repudiation=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def build_pki(
    env: Environment,
    *,
    now: datetime | None = None,
    services: ResponderUrls | None = None,
    seal_validity: timedelta = SEAL_VALIDITY,
) -> PkiMaterial:
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
        not_after=start + seal_validity,
        services=services,
    )
    tsa_key = tsa_cert = ocsp_key = ocsp_cert = None
    if services is not None:
        tsa_key = generate_key()
        tsa_cert = build_tsa_certificate(
            env, tsa_key.public_key(), issuer_cert=root_cert, issuer_key=root_key,
            not_before=start, not_after=start + TSA_VALIDITY, services=services,
        )
        ocsp_key = generate_key()
        ocsp_cert = build_ocsp_certificate(
            env, ocsp_key.public_key(), issuer_cert=root_cert, issuer_key=root_key,
            not_before=start, not_after=start + TSA_VALIDITY,
        )
    return PkiMaterial(env, root_key, root_cert, seal_key, seal_cert, services, tsa_key, tsa_cert,
                       ocsp_key, ocsp_cert)


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


def _files_for(env: Environment, directory: Path, services: ResponderUrls | None = None) -> PkiFiles:
    return PkiFiles(
        environment=env,
        directory=directory,
        root_pem=directory / ROOT_FILE,
        seal_p12=directory / SEAL_FILE,
        passphrase_file=directory / PASSPHRASE_FILE,
        services=services,
    )


def _authority_contents(material: PkiMaterial) -> dict[str, tuple[bytes, int]]:
    """The CA key, the TSA key + certificate and the seal certificate (public, so the OCSP
    responder knows what it issued without opening the seal's PKCS#12), for a PKI with services."""
    if material.services is None or material.tsa_key is None or material.tsa_cert is None:
        return {}
    passphrase = new_passphrase()
    encryption = serialization.BestAvailableEncryption(passphrase)
    return {
        AUTHORITY_PASSPHRASE_FILE: (passphrase, 0o600),
        CA_KEY_FILE: (material.root_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption), 0o600),
        TSA_FILE: (pkcs12.serialize_key_and_certificates(
            name=f"certseal {material.environment.value} tsa".encode(), key=material.tsa_key,
            cert=material.tsa_cert, cas=[material.root_cert], encryption_algorithm=encryption), 0o600),
        OCSP_FILE: (pkcs12.serialize_key_and_certificates(
            name=f"certseal {material.environment.value} ocsp".encode(), key=material.ocsp_key,
            cert=material.ocsp_cert, cas=[material.root_cert], encryption_algorithm=encryption), 0o600),
        SEAL_CERT_FILE: (material.seal_cert.public_bytes(serialization.Encoding.PEM), 0o644),
    }


def write_pki(material: PkiMaterial, directory: Path, *, overwrite: bool = False) -> PkiFiles:
    """Write `root.pem`, `seal.p12` and `seal.passphrase` (0600) into `directory`.

    All three are written into a temporary directory first. If `directory` does not exist or is
    empty, that temporary directory is renamed onto it: the set appears all at once or not at
    all. If `directory` already holds other files (a shared config directory), each file is
    renamed into place on its own, passphrase and key first and root last.

    Refuses (PkiExistsError) if any of the three files already exists, unless `overwrite`.
    """
    directory = Path(directory)
    existing = [n for n in (*PKI_FILE_NAMES, *AUTHORITY_FILE_NAMES) if (directory / n).exists()]
    if existing and not overwrite:
        raise PkiExistsError(
            f"a PKI already exists in {directory} ({', '.join(existing)}); "
            "refusing to replace it without overwrite"
        )
    passphrase = new_passphrase()
    contents = {
        PASSPHRASE_FILE: (passphrase, 0o600),
        SEAL_FILE: (pkcs12_bytes(material, passphrase), 0o600),
        **_authority_contents(material),
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
    return _files_for(material.environment, directory, material.services)


def create_pki(
    env: Environment,
    directory: Path,
    *,
    overwrite: bool = False,
    now: datetime | None = None,
    services: ResponderUrls | bool | None = None,
) -> PkiFiles:
    """Create a fresh root CA + seal certificate (+ TSA and CA services when `services`) for
    `env` and write them to `directory`. `services=True` picks a free loopback port;
    False / None make a plain PKI."""
    if services is True:
        from signer.responders import free_loopback_port

        services = ResponderUrls(free_loopback_port())
    elif services is False:
        services = None
    return write_pki(build_pki(env, now=now, services=services), Path(directory), overwrite=overwrite)


@dataclass(frozen=True)
class LocalAuthority:
    """A PKI's CA and TSA loaded back from disk, ready to be served by `LocalResponders`."""

    ca: "CertificateAuthority"
    tsa: "TimestampAuthority"


def load_local_authority(directory: Path) -> LocalAuthority:
    """The CA and TSA of a PKI written with services. Raises SealingError (never with the
    passphrase) when the directory holds no such PKI or a file cannot be opened."""
    from signer.authority import CertificateAuthority, TimestampAuthority

    directory = Path(directory)
    try:
        passphrase = (directory / AUTHORITY_PASSPHRASE_FILE).read_bytes().rstrip(b"\r\n")
        root = x509.load_pem_x509_certificate((directory / ROOT_FILE).read_bytes())
        ca_key = serialization.load_pem_private_key((directory / CA_KEY_FILE).read_bytes(), passphrase)
        seal_cert = x509.load_pem_x509_certificate((directory / SEAL_CERT_FILE).read_bytes())
        tsa_key, tsa_cert, _ = pkcs12.load_key_and_certificates((directory / TSA_FILE).read_bytes(), passphrase)
        ocsp_key, ocsp_cert, _ = pkcs12.load_key_and_certificates((directory / OCSP_FILE).read_bytes(), passphrase)
    except FileNotFoundError as e:
        raise SealingError(f"{directory} holds no local CA services ({Path(e.filename).name} is missing)") from None
    except OSError as e:
        raise SealingError(f"cannot read the local CA in {directory}: {e.strerror or e}") from None
    except ValueError:
        raise SealingError(f"cannot open the local CA keys in {directory}: wrong passphrase or damaged file") from None
    if tsa_key is None or tsa_cert is None:
        raise SealingError(f"{directory / TSA_FILE} lacks the TSA key or certificate")
    if ocsp_key is None or ocsp_cert is None:
        raise SealingError(f"{directory / OCSP_FILE} lacks the OCSP responder key or certificate")
    ca = CertificateAuthority(root, ca_key, responder_cert=ocsp_cert, responder_key=ocsp_key)
    ca.register(seal_cert, tsa_cert)
    return LocalAuthority(ca=ca, tsa=TimestampAuthority(tsa_cert, tsa_key, [root]))
