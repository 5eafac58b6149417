"""Test support for the signing and verification tests: PKIs, unsigned certseal-like PDFs,
sealed originals and deliberately broken certificates.

Real originals: `certseal_rendered` renders a model's packaged sample with renderers/ (once
per session), `certseal_original` / `certseal_original_at_level` seal it the way `certseal
issue` does. The attack and matrix tests use those.

`make_unsigned_pdf` is a small WeasyPrint stand-in that writes what verification relies on
(Info + XMP labels, embedded certificate.json, a bilingual watermark over training/acceptance
pages) in a fraction of the time; tests about signing mechanics, not documents, still use it.

Pytest fixtures imported from here into several test modules would be re-run per module, so
the expensive objects are cached at module level and the fixtures only hand them out.
"""
from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pytest
import weasyprint
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from renderers.environment import Environment
from signer.keys import KeySpec, SealKey, load_seal_key, passphrase_from_file
from signer.pades import seal_pdf
from signer.pki import (
    PkiFiles,
    PkiMaterial,
    build_pki,
    create_pki,
    environment_name,
    generate_key,
    seal_key_usage,
)
from signer.policy import ENVIRONMENT_POLICY_OIDS
from signer.trust import TrustStore, load_trust_roots

REFERENCE = "CHEDPP.BE.2026.0001234"


def _temp_dir(prefix: str) -> Path:
    """A temporary directory removed when the test process exits (it holds private keys)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path

MODEL = "CHED-PP"
PASSPHRASE = b"test passphrase"

WATERMARKS = {
    Environment.TRAINING: ("TRAINING — NO LEGAL VALUE", "FORMATION — SANS VALEUR LÉGALE"),
    Environment.ACCEPTANCE: ("ACCEPTANCE — NO LEGAL VALUE", "RECETTE — SANS VALEUR LÉGALE"),
}


def make_unsigned_pdf(
    env: Environment,
    reference: str = REFERENCE,
    *,
    metadata_env: Environment | str | None = "same",
    watermark_env: Environment | None | str = "same",
    embedded: dict | None | str = "same",
    visible_reference: str | None = None,
    pages: int = 1,
    watermark_every_page: bool = True,
) -> bytes:
    """A certseal-like unsigned PDF. The keyword arguments exist to forge inconsistent ones."""
    meta_env = env.value if metadata_env == "same" else (metadata_env.value if isinstance(metadata_env, Environment) else metadata_env)
    mark_env = env if watermark_env == "same" else watermark_env
    payload = {"reference": reference, "environment": env.value, "model": MODEL} if embedded == "same" else embedded
    shown_reference = visible_reference or reference

    metas = f'<meta name="CertsealReference" content="{reference}"><meta name="CertsealModel" content="{MODEL}">'
    if meta_env is not None:
        metas += f'<meta name="CertsealEnvironment" content="{meta_env}">'
    mark = ""
    if mark_env is not None and mark_env in WATERMARKS:
        mark = '<div class="wm">' + "<br>".join(WATERMARKS[mark_env]) + "</div>"
    body = "".join(
        f'<section><h1>Common Health Entry Document {shown_reference}</h1>'
        f"<p>I.1 Consignor: ACME Plants BV, Rotterdam</p><p>Page {n + 1}</p></section>"
        for n in range(pages)
    )
    html = f"""<!doctype html><html><head><meta charset="utf-8"><title>{reference}</title>{metas}
<style>@page {{ size: A4; margin: 2cm }} section {{ page-break-after: always }}
.wm {{ position: {"fixed" if watermark_every_page else "absolute"}; top: 45%; left: 0; width: 100%; transform: rotate(-35deg);
       font-size: 36pt; text-align: center; color: rgba(200, 0, 0, .35); z-index: 10 }}</style>
</head><body>{mark}{body}</body></html>"""
    document = weasyprint.HTML(string=html).render()
    xmp_props = "".join(
        f"<certseal:{k}>{v}</certseal:{k}>"
        for k, v in (("environment", meta_env), ("reference", reference), ("model", MODEL))
        if v is not None
    )
    document.metadata.xmp_metadata.append(
        (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:certseal="https://certseal.example/ns/1.0/">'
            f"{xmp_props}</rdf:Description></rdf:RDF>"
        ).encode()
    )
    attachments = []
    if payload is not None:
        attachments.append(
            weasyprint.Attachment(string=json.dumps(payload), name="certificate.json", relationship="Source")
        )
    return document.write_pdf(custom_metadata=True, pdf_variant="pdf/a-3b", attachments=attachments)


@dataclass(frozen=True)
class EnvPki:
    files: PkiFiles
    key: SealKey
    root: x509.Certificate


@dataclass(frozen=True)
class PkiSet:
    directory: Path
    envs: dict[Environment, EnvPki]
    trust: TrustStore

    def key(self, env: Environment) -> SealKey:
        return self.envs[env].key


@cache
def _pki_set() -> PkiSet:
    directory = _temp_dir("certseal-test-pki-")
    envs: dict[Environment, EnvPki] = {}
    for env in Environment:
        files = create_pki(env, directory / env.value)
        key = load_seal_key(KeySpec.parse(f"pkcs12:{files.seal_p12}"), passphrase_from_file(files.passphrase_file))
        envs[env] = EnvPki(files, key, load_trust_roots([files.root_pem])[0])
    trust = TrustStore({env: [p.root] for env, p in envs.items()})
    return PkiSet(directory, envs, trust)


@cache
def unsigned_pdf(env: Environment) -> bytes:
    return make_unsigned_pdf(env)


@cache
def sealed_pdf(env: Environment) -> bytes:
    return seal_pdf(unsigned_pdf(env), _pki_set().key(env), environment=env, reference=REFERENCE)


@pytest.fixture(scope="session")
def pkis() -> PkiSet:
    return _pki_set()


# --- deliberately unfit certificates -------------------------------------------------------

def seal_certificate(
    material: PkiMaterial,
    *,
    public_key: ec.EllipticCurvePublicKey | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    issuer_name: x509.Name | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    non_repudiation: bool = True,
    policy_envs: tuple[Environment, ...] | None = None,
) -> x509.Certificate:
    """A seal-like certificate with any one property wrong. Defaults mirror signer.pki."""
    env = material.environment
    now = datetime.now(timezone.utc)
    public_key = public_key or material.seal_key.public_key()
    policies = policy_envs if policy_envs is not None else (env,)
    builder = (
        x509.CertificateBuilder()
        .subject_name(environment_name(env, "seal"))
        .issuer_name(issuer_name or material.root_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(seal_key_usage(non_repudiation=non_repudiation), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if policies:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(ENVIRONMENT_POLICY_OIDS[e], None) for e in policies]),
            critical=False,
        )
    return builder.sign(issuer_key or material.root_key, hashes.SHA256())


def write_p12(directory: Path, name: str, key, cert: x509.Certificate, chain: list[x509.Certificate]) -> Path:
    from cryptography.hazmat.primitives.serialization import pkcs12

    path = directory / f"{name}.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name=name.encode(), key=key, cert=cert, cas=chain or None,
            encryption_algorithm=serialization.BestAvailableEncryption(PASSPHRASE),
        )
    )
    return path


def look_alike_key(env: Environment) -> SealKey:
    """A self-signed key whose certificate copies the real seal's subject and policy OID.

    Loads through the normal path (it passes every local check), so only the trust decision
    at verification time can tell it apart.
    """
    key = generate_key()
    name = environment_name(env, "seal")
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(seal_key_usage(), critical=True)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(ENVIRONMENT_POLICY_OIDS[env], None)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = _temp_dir("certseal-lookalike-")
    path = write_p12(directory, "lookalike", key, cert, [])
    return load_seal_key(KeySpec.parse(f"pkcs12:{path}"), PASSPHRASE)


# --- signing outside seal_pdf's guard rails (to build forgeries the sealer would refuse) -----

def simple_signer(key, cert: x509.Certificate, chain: tuple[x509.Certificate, ...] = ()) -> "SimpleSigner":
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def der(c: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))

    store = SimpleCertificateStore()
    store.register_multiple([der(c) for c in chain])
    return SimpleSigner(
        signing_cert=der(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
        cert_registry=store,
    )


def raw_sign(
    pdf: bytes, signer, *, certify: bool = True, field: str = "CertsealSeal", force: bool = False
) -> bytes:
    """Sign with pyHanko directly: no environment, label or key checks.

    `force` also skips pyHanko's own refusal to sign after a NO_CHANGES certification, as an
    attacker's tool would.
    """
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    class _Reckless(signers.PdfSigner):
        def _enforce_certification_constraints(self, reader):
            pass

    cls = _Reckless if force else signers.PdfSigner
    out = cls(meta, signer=signer).sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=False))
    return out.getvalue()


@cache
def material(env: Environment) -> PkiMaterial:
    """An in-memory PKI whose root key is kept, for certificates signed by a trusted root."""
    return build_pki(env)


def material_trust(env: Environment) -> TrustStore:
    return TrustStore({env: [material(env).root_cert]})


def asn1_cert(cert: x509.Certificate):
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


# --- a PKI with its CA services (OCSP, CRL, TSA) running on loopback ------------------------

@dataclass
class ServicePki:
    """A training PKI whose OCSP / CRL / TSA run over HTTP on 127.0.0.1 for the whole session.

    A test that stops the responders (to prove offline verification) must restart them."""

    files: PkiFiles
    key: SealKey
    root: x509.Certificate
    authority: "LocalAuthority"
    responders: "LocalResponders"
    trust: TrustStore

    @property
    def services(self) -> "SealServices":
        from signer.pades import SealServices

        return SealServices(tsa_url=self.responders_urls.tsa, trust_roots=(self.root,))

    @property
    def responders_urls(self):
        return self.files.services


@cache
def _service_pki(env: Environment) -> ServicePki:
    from signer.pki import load_local_authority
    from signer.responders import LocalResponders, ResponderUrls, free_loopback_port

    directory = _temp_dir("certseal-test-services-")
    urls = ResponderUrls(free_loopback_port())
    files = create_pki(env, directory / env.value, services=urls)
    key = load_seal_key(KeySpec.parse(f"pkcs12:{files.seal_p12}"), passphrase_from_file(files.passphrase_file))
    authority = load_local_authority(files.directory)
    responders = LocalResponders(authority.ca, authority.tsa, port=urls.port).start()
    atexit.register(responders.stop)
    root = load_trust_roots([files.root_pem])[0]
    return ServicePki(files, key, root, authority, responders, TrustStore({env: [root]}))


@pytest.fixture(scope="session")
def service_pki() -> ServicePki:
    return _service_pki(Environment.TRAINING)


@cache
def sealed_at_level(level: str, env: Environment = Environment.TRAINING) -> bytes:
    from signer.pades import seal_pdf

    pki = _service_pki(env)
    return seal_pdf(unsigned_pdf(env), pki.key, environment=env, reference=REFERENCE, level=level, services=pki.services)


# --- real certseal originals: a packaged sample, rendered and sealed as `certseal issue` does --

def default_sample(model: str) -> str:
    """The model's normal-size sample (not the long pagination ones, e.g. tuna-300-lines)."""
    from renderers.samples import list_samples

    names = [s.name for s in list_samples(model) if "-lines-" not in s.name]
    if not names:
        raise LookupError(f"model {model} ships no normal-size sample")
    return names[0]


@cache
def certseal_certificate(model: str = MODEL, env: Environment = Environment.PRODUCTION):
    """The model's packaged sample as a parsed Certificate of environment `env`."""
    import copy

    from renderers.model import parse_certificate
    from renderers.samples import load_sample

    data = copy.deepcopy(load_sample(model, default_sample(model)))
    data["environment"] = env.value
    return parse_certificate(data)


@cache
def certseal_rendered(model: str = MODEL, env: Environment = Environment.PRODUCTION):
    """The unsigned PDF certseal renders for that sample (renderers.render); ~1 s, so cached
    for the whole test session and shared by every module that asks."""
    from renderers.environment import DEFAULT_VERIFICATION_BASE
    from renderers.render import render_certificate

    return render_certificate(certseal_certificate(model, env), verification_base=DEFAULT_VERIFICATION_BASE[env])


def seal_rendered(rendered, key: SealKey, env_cfg, level: str = "B-B") -> bytes:
    """Seal a rendered certificate exactly as service.issuing.issue does after rendering it:
    issue() renders on every call, and tests that seal one rendering at several levels use this."""
    from service.issuing import seal_rendered as seal

    return seal(rendered, key, env_cfg, level=level).pdf


def environment_config(env: Environment, root_pem: Path, tsa_url: str | None = None):
    """A configuration entry for `env` with these trust roots and TSA (no key, no audit log)."""
    from renderers.environment import DEFAULT_VERIFICATION_BASE
    from service.config import EnvironmentConfig

    return EnvironmentConfig(environment=env, trust_roots=(root_pem,), tsa_url=tsa_url,
                             verification_url=DEFAULT_VERIFICATION_BASE[env])


@cache
def certseal_original(model: str = MODEL, env: Environment = Environment.PRODUCTION) -> bytes:
    """A B-B original sealed with the plain test PKI (`pkis`): its certificates name no
    revocation services, so it verifies offline as VALID / NO_LEGAL_VALUE with `pkis.trust`."""
    pki = _pki_set().envs[env]
    return seal_rendered(certseal_rendered(model, env), pki.key, environment_config(env, pki.files.root_pem))


@cache
def certseal_original_at_level(level: str, model: str = MODEL, env: Environment = Environment.PRODUCTION) -> bytes:
    """An original at any PAdES level, sealed with the PKI whose TSA / OCSP / CRL run on
    loopback (`_service_pki(env)`, trust: its `.trust`)."""
    pki = _service_pki(env)
    cfg = environment_config(env, pki.files.root_pem, pki.responders_urls.tsa)
    return seal_rendered(certseal_rendered(model, env), pki.key, cfg, level)
