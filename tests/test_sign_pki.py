"""signer.pki: the per-environment demo PKI and how it binds the environment."""
from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtensionOID, NameOID

from renderers.environment import Environment
from signer.errors import PkiExistsError
from signer.keys import passphrase_from_file
from signer.pki import PKI_FILE_NAMES, create_pki
from signer.policy import ENVIRONMENT_POLICY_OIDS, POLICY_ARC, certificate_environment


def _load(files):
    key, cert, chain = pkcs12.load_key_and_certificates(
        files.seal_p12.read_bytes(), passphrase_from_file(files.passphrase_file)
    )
    root = x509.load_pem_x509_certificate(files.root_pem.read_bytes())
    return key, cert, chain, root


def test_policy_oids_are_distinct_and_under_the_example_arc():
    oids = [oid.dotted_string for oid in ENVIRONMENT_POLICY_OIDS.values()]
    assert len(set(oids)) == len(Environment) == 3
    assert all(o.startswith(POLICY_ARC + ".") and o.startswith("2.999.") for o in oids)


@pytest.mark.parametrize("env", list(Environment))
def test_create_pki_writes_a_loadable_bound_pki(tmp_path, env):
    files = create_pki(env, tmp_path / env.value)
    assert sorted(p.name for p in files.directory.iterdir()) == sorted(PKI_FILE_NAMES)
    assert stat.S_IMODE(files.passphrase_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.seal_p12.stat().st_mode) == 0o600

    key, cert, chain, root = _load(files)
    assert isinstance(key.curve, ec.SECP256R1)
    assert [c.fingerprint(c.signature_hash_algorithm) for c in chain] == [root.fingerprint(root.signature_hash_algorithm)]

    # root: self-signed CA that may only sign certificates and CRLs
    root.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    root_usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert root_usage.key_cert_sign and root_usage.crl_sign and not root_usage.content_commitment

    # seal: end entity issued by that root, fit for sealing, bound to env twice
    cert.verify_directly_issued_by(root)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE)
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [ENVIRONMENT_POLICY_OIDS[env]]
    assert certificate_environment(cert) is env
    subject = {a.oid: a.value for a in cert.subject}
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == env.value
    assert subject[NameOID.COMMON_NAME] == f"certseal {env.value} seal"
    assert subject[NameOID.ORGANIZATION_NAME] == "certseal demo authority"
    assert subject[NameOID.COUNTRY_NAME] == "BE"
    assert cert.not_valid_after_utc <= root.not_valid_after_utc


def test_passphrase_is_random_per_pki(tmp_path):
    a = create_pki(Environment.TRAINING, tmp_path / "a")
    b = create_pki(Environment.TRAINING, tmp_path / "b")
    pa, pb = passphrase_from_file(a.passphrase_file), passphrase_from_file(b.passphrase_file)
    assert pa != pb and len(pa) >= 32
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(a.seal_p12.read_bytes(), pb)


def test_existing_pki_is_never_overwritten_unless_asked(tmp_path):
    target = tmp_path / "training"
    first = create_pki(Environment.TRAINING, target)
    before = {n: (target / n).read_bytes() for n in PKI_FILE_NAMES}
    with pytest.raises(PkiExistsError, match="already exists"):
        create_pki(Environment.TRAINING, target)
    assert {n: (target / n).read_bytes() for n in PKI_FILE_NAMES} == before

    second = create_pki(Environment.TRAINING, target, overwrite=True)
    assert second.root_pem == first.root_pem
    assert (target / "root.pem").read_bytes() != before["root.pem"]
    _, cert, _, root = _load(second)
    cert.verify_directly_issued_by(root)  # the replaced set is consistent
    assert sorted(p.name for p in target.iterdir()) == sorted(PKI_FILE_NAMES)  # no temp leftovers


def test_empty_directory_is_filled_and_other_files_are_kept(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    create_pki(Environment.ACCEPTANCE, empty)
    assert sorted(p.name for p in empty.iterdir()) == sorted(PKI_FILE_NAMES)

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "config.toml").write_text("x = 1\n")
    files = create_pki(Environment.PRODUCTION, shared)
    assert sorted(p.name for p in shared.iterdir()) == sorted([*PKI_FILE_NAMES, "config.toml"])
    _, cert, _, root = _load(files)
    cert.verify_directly_issued_by(root)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # staging dirs removed


def test_partial_pki_counts_as_existing(tmp_path):
    target = tmp_path / "p"
    target.mkdir()
    (target / "seal.p12").write_bytes(b"old")
    with pytest.raises(PkiExistsError, match="seal.p12"):
        create_pki(Environment.PRODUCTION, target)
    assert (target / "seal.p12").read_bytes() == b"old"
