"""signer.keys: key specs, passphrases, and refusing certificates that must not seal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.x509.oid import NameOID

from _pki_helpers import PASSPHRASE, material, pkis, seal_certificate, write_p12  # noqa: F401
from renderers.environment import Environment
from signer.errors import SealingError
from signer.keys import (
    KeyScheme,
    KeySpec,
    load_seal_key,
    passphrase_from_env_value,
    passphrase_from_file,
)


def test_key_spec_parsing():
    spec = KeySpec.parse("pkcs12:/etc/certseal/training/seal.p12")
    assert spec.scheme is KeyScheme.PKCS12
    assert str(spec.path) == "/etc/certseal/training/seal.p12"
    assert str(spec) == "pkcs12:/etc/certseal/training/seal.p12"
    assert KeySpec.parse("PKCS11:token=certseal;object=seal").scheme is KeyScheme.PKCS11
    for bad in ("", "seal.p12", "pkcs12:", "pem:/x/key.pem"):
        with pytest.raises(SealingError):
            KeySpec.parse(bad)


def test_pkcs11_without_a_module_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("CERTSEAL_PKCS11_MODULE", raising=False)
    with pytest.raises(SealingError, match="no PKCS#11 module"):
        load_seal_key(KeySpec.parse("pkcs11:token=certseal;object=seal"), b"1234")


def test_pkcs11_uri_with_a_pin_is_refused_without_echoing_it():
    with pytest.raises(SealingError, match="PIN in the PKCS#11 URI is refused") as info:
        load_seal_key(KeySpec.parse("pkcs11:token=t;object=o?pin-value=987654&module-path=/x.so"), None)
    assert "987654" not in str(info.value)


def test_passphrase_sources(tmp_path):
    path = tmp_path / "pass"
    path.write_bytes(b"s3cret\n")
    assert passphrase_from_file(path) == b"s3cret"
    assert passphrase_from_env_value("s3cret") == b"s3cret"
    assert passphrase_from_env_value("") is None
    with pytest.raises(SealingError, match="cannot read passphrase file"):
        passphrase_from_file(tmp_path / "missing")


@pytest.mark.parametrize("env", list(Environment))
def test_loaded_key_knows_its_environment(pkis, env):
    key = pkis.key(env)
    assert key.environment is env
    assert key.subject.startswith(f"CN=certseal {env.value} seal")
    assert key.signer.signing_cert.subject.native["common_name"] == f"certseal {env.value} seal"


def test_wrong_passphrase_is_refused_without_echoing_it(pkis):
    files = pkis.envs[Environment.TRAINING].files
    secret = b"wrong-but-distinctive-passphrase"
    with pytest.raises(SealingError) as info:
        load_seal_key(KeySpec.parse(f"pkcs12:{files.seal_p12}"), secret)
    assert "wrong passphrase" in str(info.value)
    real = passphrase_from_file(files.passphrase_file).decode()
    assert secret.decode() not in str(info.value) and real not in str(info.value)


def test_missing_key_file(tmp_path):
    with pytest.raises(SealingError, match="cannot read key file"):
        load_seal_key(KeySpec.parse(f"pkcs12:{tmp_path / 'nope.p12'}"), None)


def _load_variant(tmp_path, name, **overrides):
    m = material(Environment.TRAINING)
    cert = seal_certificate(m, **overrides)
    path = write_p12(tmp_path, name, m.seal_key, cert, [m.root_cert])
    return load_seal_key(KeySpec.parse(f"pkcs12:{path}"), PASSPHRASE)


def test_a_fit_variant_loads(tmp_path):
    # Guards the tests below: each differs from this one in exactly one property.
    assert _load_variant(tmp_path, "ok").environment is Environment.TRAINING


def test_expired_certificate_is_refused(tmp_path):
    now = datetime.now(timezone.utc)
    with pytest.raises(SealingError, match="expired"):
        _load_variant(tmp_path, "expired", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))


def test_not_yet_valid_certificate_is_refused(tmp_path):
    now = datetime.now(timezone.utc)
    with pytest.raises(SealingError, match="not valid yet"):
        _load_variant(tmp_path, "future", not_before=now + timedelta(days=1), not_after=now + timedelta(days=30))


def test_certificate_without_non_repudiation_is_refused(tmp_path):
    with pytest.raises(SealingError, match="nonRepudiation"):
        _load_variant(tmp_path, "nonr", non_repudiation=False)


def test_certificate_without_environment_policy_is_refused(tmp_path):
    with pytest.raises(SealingError, match="no certseal environment policy"):
        _load_variant(tmp_path, "nopolicy", policy_envs=())


def test_certificate_for_two_environments_is_refused(tmp_path):
    with pytest.raises(SealingError, match="several environments"):
        _load_variant(tmp_path, "two", policy_envs=(Environment.TRAINING, Environment.PRODUCTION))


def test_ou_contradicting_the_policy_is_refused(tmp_path):
    # OU says training (from the subject), policy says production.
    with pytest.raises(SealingError, match="policy says production but its OU says training"):
        _load_variant(tmp_path, "ou", policy_envs=(Environment.PRODUCTION,))


def test_subject_of_test_material_follows_the_naming_scheme():
    cert = material(Environment.ACCEPTANCE).seal_cert
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "acceptance"
