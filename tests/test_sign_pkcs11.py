"""Sealing through a real PKCS#11 token: SoftHSM2, initialised by the fixture in a private
SOFTHSM2_CONF and token directory under tmp (the machine's own tokens are never touched)."""
from __future__ import annotations

import os
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from _pki_helpers import REFERENCE, material, sealed_at_level, service_pki, unsigned_pdf  # noqa: F401
from renderers.environment import Environment
from signer.errors import SealingError
from signer.keys import KeySpec, load_seal_key
from signer.pades import seal_pdf
from signer.report import Verdict
from signer.verify import verify_pdf

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "certseal-test"
PIN = "48151623"
SO_PIN = "12345678"

pytestmark = pytest.mark.skipif(
    shutil.which("softhsm2-util") is None or not Path(MODULE).is_file(), reason="SoftHSM2 is not installed"
)


def _import_key(env_dir: Path, label: str, key, cert) -> None:
    """Private key via softhsm2-util (PKCS#8 PEM), certificate via python-pkcs11."""
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    pem = env_dir / f"{label}.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    subprocess.run(["softhsm2-util", "--import", str(pem), "--token", TOKEN, "--label", label,
                    "--id", label.encode().hex(), "--pin", PIN], check=True, capture_output=True)
    pem.unlink()
    token = pkcs11.lib(MODULE).get_token(token_label=TOKEN)
    with token.open(rw=True, user_pin=PIN) as session:
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.ID: label.encode(),
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
        })


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory, service_pki):
    """A fresh token holding the service PKI's training seal key and a production seal key."""
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the library at C_Initialize
    try:
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN,
                        "--pin", PIN, "--so-pin", SO_PIN], check=True, capture_output=True)
        from cryptography.hazmat.primitives.serialization import pkcs12

        passphrase = service_pki.files.passphrase_file.read_bytes().strip()
        key, cert, _ = pkcs12.load_key_and_certificates(service_pki.files.seal_p12.read_bytes(), passphrase)
        _import_key(base, "training-seal", key, cert)
        prod = material(Environment.PRODUCTION)
        _import_key(base, "production-seal", prod.seal_key, prod.seal_cert)
        pin_file = base / "pin"
        pin_file.write_text(PIN + "\n")
        yield pin_file
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old


def _spec(label: str) -> KeySpec:
    return KeySpec.parse(f"pkcs11:token={TOKEN};object={label}?module-path={MODULE}")


def test_seal_with_a_softhsm_key_at_every_level(softhsm, service_pki):
    key = load_seal_key(_spec("training-seal"), softhsm.read_bytes().strip())
    try:
        assert key.environment is Environment.TRAINING
        assert key.label == f"pkcs11:token={TOKEN};object=training-seal"
        for level in ("B-B", "B-LTA"):
            signed = seal_pdf(unsigned_pdf(Environment.TRAINING), key, environment=Environment.TRAINING,
                              reference=REFERENCE, level=level, services=service_pki.services)
            report = verify_pdf(signed, service_pki.trust, allow_fetching=level == "B-B")
            assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
            assert report.signatures[0].level == level
            (sig, *_) = PdfFileReader(BytesIO(signed)).embedded_signatures
            assert sig.signer_cert.serial_number == key.certificate.serial_number
    finally:
        key.close()


def test_token_key_of_another_environment_is_refused(softhsm):
    key = load_seal_key(_spec("production-seal"), softhsm.read_bytes().strip())
    try:
        assert key.environment is Environment.PRODUCTION
        with pytest.raises(SealingError, match="a production key cannot seal a training document"):
            seal_pdf(unsigned_pdf(Environment.TRAINING), key, environment=Environment.TRAINING, reference=REFERENCE)
    finally:
        key.close()


def test_wrong_pin_is_refused_and_never_echoed(softhsm):
    with pytest.raises(SealingError) as info:
        load_seal_key(_spec("training-seal"), b"99999999")
    assert "99999999" not in str(info.value)
    assert "PIN" in str(info.value)


def test_missing_object_and_token_are_clear_errors(softhsm):
    with pytest.raises(SealingError, match="no certificate labelled"):
        load_seal_key(_spec("nope"), softhsm.read_bytes().strip())
    with pytest.raises(SealingError, match="cannot open the token"):
        load_seal_key(KeySpec.parse(f"pkcs11:token=other;object=x?module-path={MODULE}"), softhsm.read_bytes().strip())
