"""signer.pades: the certification seal, checked by pyHanko and by poppler's pdfsig."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    SignatureCoverageLevel,
    read_certification_data,
    validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext

from _pki_helpers import (  # noqa: F401
    REFERENCE,
    make_unsigned_pdf,
    pkis,
    sealed_pdf,
    unsigned_pdf,
)
from renderers.environment import Environment
from signer.errors import SealingError
from signer.pades import SEAL_FIELD_NAME, seal_pdf, seal_pdf_async
from _pki_helpers import asn1_cert


def _context(pkis, env):
    return ValidationContext(trust_roots=[asn1_cert(pkis.envs[env].root)], allow_fetching=False)


@pytest.mark.parametrize("env", list(Environment))
def test_seal_is_an_intact_trusted_certification(pkis, env):
    signed = sealed_pdf(env)
    unsigned = unsigned_pdf(env)
    assert signed.startswith(unsigned)  # incremental: the rendered bytes are untouched

    reader = PdfFileReader(BytesIO(signed))
    (sig,) = reader.embedded_signatures
    assert sig.field_name == SEAL_FIELD_NAME
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.md_algorithm == "sha256"
    certification = read_certification_data(reader)
    assert certification is not None and certification.permission is MDPPerm.NO_CHANGES

    status = validate_pdf_signature(sig, _context(pkis, env))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.docmdp_ok
    assert status.bottom_line
    assert status.signing_cert.subject.native["organizational_unit_name"] == env.value


def test_seal_is_not_trusted_under_another_environments_root(pkis):
    (sig,) = PdfFileReader(BytesIO(sealed_pdf(Environment.TRAINING))).embedded_signatures
    status = validate_pdf_signature(sig, _context(pkis, Environment.PRODUCTION))
    assert status.intact and status.valid
    assert not status.trusted


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils pdfsig not installed")
@pytest.mark.parametrize("env", [Environment.PRODUCTION, Environment.TRAINING])
def test_poppler_pdfsig_accepts_the_seal(tmp_path, env):
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed_pdf(env))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30).stdout
    assert "Signature is Valid" in out
    assert "Total document signed" in out
    assert "ETSI.CAdES.detached" in out
    assert f"certseal {env.value} seal" in out


@pytest.mark.parametrize(
    "key_env, doc_env",
    [
        (Environment.TRAINING, Environment.PRODUCTION),
        (Environment.PRODUCTION, Environment.TRAINING),
        (Environment.ACCEPTANCE, Environment.PRODUCTION),
    ],
)
def test_key_from_another_environment_is_refused(pkis, key_env, doc_env):
    with pytest.raises(SealingError, match=f"a {key_env.value} key cannot seal a {doc_env.value} document"):
        seal_pdf(unsigned_pdf(doc_env), pkis.key(key_env), environment=doc_env, reference=REFERENCE)


def test_document_rendered_for_another_environment_is_refused(pkis):
    # Key and requested environment agree, but the document itself says production.
    with pytest.raises(SealingError, match="rendered for production but is being sealed as training"):
        seal_pdf(
            unsigned_pdf(Environment.PRODUCTION),
            pkis.key(Environment.TRAINING),
            environment=Environment.TRAINING,
            reference=REFERENCE,
        )


def test_document_without_environment_label_is_refused(pkis):
    pdf = make_unsigned_pdf(Environment.PRODUCTION, metadata_env=None)
    with pytest.raises(SealingError, match="does not state its environment"):
        seal_pdf(pdf, pkis.key(Environment.PRODUCTION), environment=Environment.PRODUCTION, reference=REFERENCE)


def test_reference_mismatch_is_refused(pkis):
    with pytest.raises(SealingError, match="reference"):
        seal_pdf(
            unsigned_pdf(Environment.PRODUCTION),
            pkis.key(Environment.PRODUCTION),
            environment=Environment.PRODUCTION,
            reference="CHEDPP.BE.2026.9999999",
        )


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_later_levels_without_a_tsa_are_refused(pkis, level):
    with pytest.raises(SealingError, match=f"{level} needs a timestamp authority"):
        seal_pdf(
            unsigned_pdf(Environment.TRAINING), pkis.key(Environment.TRAINING),
            environment=Environment.TRAINING, reference=REFERENCE, level=level,
        )


def test_unknown_level_is_refused(pkis):
    with pytest.raises(SealingError, match="unknown PAdES level"):
        seal_pdf(
            unsigned_pdf(Environment.TRAINING), pkis.key(Environment.TRAINING),
            environment=Environment.TRAINING, reference=REFERENCE, level="B-X",
        )


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n%%EOF\n"])
def test_non_pdf_input_is_refused(pkis, data):
    with pytest.raises(SealingError, match="not a readable PDF"):
        seal_pdf(data, pkis.key(Environment.TRAINING), environment=Environment.TRAINING, reference=REFERENCE)


def test_already_sealed_document_is_refused(pkis):
    with pytest.raises(SealingError, match="already signed"):
        seal_pdf(
            sealed_pdf(Environment.TRAINING), pkis.key(Environment.TRAINING),
            environment=Environment.TRAINING, reference=REFERENCE,
        )


def test_sealing_works_inside_a_running_event_loop(pkis):
    async def inside():
        sync = seal_pdf(
            unsigned_pdf(Environment.TRAINING), pkis.key(Environment.TRAINING),
            environment=Environment.TRAINING, reference=REFERENCE,
        )
        native = await seal_pdf_async(
            unsigned_pdf(Environment.TRAINING), pkis.key(Environment.TRAINING),
            environment=Environment.TRAINING, reference=REFERENCE,
        )
        return sync, native

    for signed in asyncio.run(inside()):
        (sig,) = PdfFileReader(BytesIO(signed)).embedded_signatures
        assert validate_pdf_signature(sig, _context(pkis, Environment.TRAINING)).bottom_line
