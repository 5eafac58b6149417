"""signer.verify against tampering, forgery and environment confusion.

Every attack here starts from a real certseal original (or a forgery signed with pyHanko
directly, bypassing the sealer's guard rails) and must never come out VALID.
"""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from _pki_helpers import (  # noqa: F401
    REFERENCE,
    look_alike_key,
    make_unsigned_pdf,
    material,
    material_trust,
    pkis,
    raw_sign,
    seal_certificate,
    sealed_pdf,
    simple_signer,
)
from renderers.environment import Environment
from signer.pades import seal_pdf
from signer.report import FindingKind, Verdict
from signer.verify import verify_pdf

# shared/ stands beside the checkout (CI clones next to it); /work/shared is the workplace copy.
CORPUS = next(
    (p for p in (Path(__file__).resolve().parents[2] / "shared/corpus/rub-shadow", Path("/work/shared/corpus/rub-shadow"))
     if p.is_dir()),
    Path("/work/shared/corpus/rub-shadow"),
)
PROD = Environment.PRODUCTION
TRAINING = Environment.TRAINING


def _invalid(report, *fragments: str) -> None:
    assert report.verdict is Verdict.INVALID, report.reasons
    text = " | ".join(report.reasons)
    for fragment in fragments:
        assert fragment in text, text


def _byte_range(data: bytes) -> list[int]:
    (sig,) = PdfFileReader(BytesIO(data)).embedded_signatures
    return list(sig.byte_range)


def _flip(data: bytes, pos: int, new: int | None = None) -> bytes:
    out = bytearray(data)
    out[pos] = new if new is not None else out[pos] ^ 0x01
    return bytes(out)


def _incremental(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


# --- the signed bytes ---------------------------------------------------------------------

def test_flipping_a_byte_inside_a_signed_stream_breaks_the_seal(pkis):
    data = sealed_pdf(PROD)
    start = data.index(b"stream\n", 200) + len(b"stream\n") + 20
    assert start < _byte_range(data)[1]
    report = verify_pdf(_flip(data, start), pkis.trust)
    _invalid(report, "no longer matches its seal")
    assert report.signatures[0].intact is False


@pytest.mark.parametrize("where", ["header", "first-range-end", "second-range"])
def test_flipping_any_signed_byte_is_invalid(pkis, where):
    data = sealed_pdf(PROD)
    _, len1, start2, len2 = _byte_range(data)
    pos = {"header": 9, "first-range-end": len1 - 3, "second-range": start2 + len2 // 2}[where]
    _invalid(verify_pdf(_flip(data, pos), pkis.trust))


def test_changing_the_signature_value_is_invalid(pkis):
    data = sealed_pdf(PROD)
    _, len1, start2, _ = _byte_range(data)
    hex_digits = data[len1 + 1:start2 - 1]
    # Change a digit inside the DER signature (not the zero padding at the end).
    pos = len1 + 1 + len(hex_digits.rstrip(b"0")) - 10
    # A different hex *value* (pyHanko writes upper case; 'A'→'a' would change nothing).
    forged = _flip(data, pos, ord(format((int(chr(data[pos]), 16) + 1) % 16, "X")))
    _invalid(verify_pdf(forged, pkis.trust))


def test_zeroed_signature_container_is_invalid(pkis):
    data = sealed_pdf(PROD)
    _, len1, start2, _ = _byte_range(data)
    forged = data[: len1 + 1] + b"0" * (start2 - len1 - 2) + data[start2 - 1:]
    assert len(forged) == len(data)
    _invalid(verify_pdf(forged, pkis.trust))


def test_data_smuggled_into_the_signature_padding_is_invalid(pkis):
    data = sealed_pdf(PROD)
    _, len1, start2, _ = _byte_range(data)
    pos = start2 - 20  # inside the zero padding that follows the CMS object
    assert data[pos:pos + 8] == b"00000000"
    smuggled = data[:pos] + b"DEADBEEF" + data[pos + 8:]
    report = verify_pdf(smuggled, pkis.trust)
    _invalid(report, "extra data after the signature")
    assert report.signatures[0].intact is True  # the signed bytes themselves are untouched


def test_rewritten_byte_range_is_invalid(pkis):
    data = sealed_pdf(PROD)
    m = re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    _, start2, len2 = (int(g) for g in m.groups())
    old = m.group(0)
    new = old.replace(str(len2).encode(), str(len2 - 100).encode().rjust(len(str(len2))), 1)
    assert len(new) == len(old) and new != old
    _invalid(verify_pdf(data.replace(old, new, 1), pkis.trust))


def test_random_damage_never_yields_valid(pkis):
    data = sealed_pdf(PROD)
    rng = random.Random(20260101)
    for _ in range(25):
        pos = rng.randrange(len(data))
        new = rng.randrange(256)
        if chr(new).lower() == chr(data[pos]).lower():
            # same byte, or a hex digit in /Contents changing case only: nothing changed
            new = (new + 1) % 256 if chr(data[pos]).isdigit() else ord("0")
        report = verify_pdf(_flip(data, pos, new), pkis.trust)
        assert report.verdict is not Verdict.VALID, (pos, report.reasons)
    for _ in range(10):
        cut = rng.randrange(1, len(data) - 1)
        report = verify_pdf(data[:cut], pkis.trust)
        assert report.verdict is Verdict.INVALID, (cut, report.reasons)


# --- changes appended after signing (incremental updates) ---------------------------------

def _cover_page(writer):
    """Paint a white box over the middle of page 1 (where the watermark is)."""
    stream = generic.StreamObject(stream_data=b"q 1 1 1 rg 0 200 595 400 re f Q")
    writer.add_stream_to_page(0, writer.add_object(stream))


def _add_annotation(writer):
    page_ref, _ = writer.find_page_for_modification(0)
    annot = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (100, 100, 400, 150)]),
        pdf_name("/Contents"): generic.TextStringObject("Consignee: someone else"),
        pdf_name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
    })
    writer.register_annotation(page_ref, writer.add_object(annot))


def _relabel_production(writer):
    info = writer.trailer["/Info"]
    for key in list(info):
        if str(key).lower() == "/certsealenvironment":
            info[key] = generic.TextStringObject("production")
    writer.update_container(info)


def _replace_attachment(writer):
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[1]
    new = generic.StreamObject(stream_data=b'{"reference": "CHEDPP.BE.2026.0009999", "environment": "training"}')
    spec["/EF"][pdf_name("/F")] = writer.add_object(new)
    writer.update_container(spec)


@pytest.mark.parametrize(
    "change, words",
    [
        (_cover_page, "changed after signing"),
        (_add_annotation, "changed after signing"),
        (_replace_attachment, "changed after signing"),
    ],
    ids=["cover-watermark", "add-annotation", "replace-embedded-data"],
)
def test_any_change_after_signing_is_invalid(pkis, change, words):
    tampered = _incremental(sealed_pdf(TRAINING), change)
    report = verify_pdf(tampered, pkis.trust)
    _invalid(report, words)
    assert report.signatures[0].coverage == "ENTIRE_REVISION"
    assert report.signatures[0].modifications not in ("NONE", "LTA_UPDATES")
    assert report.findings[0].kind is FindingKind.CHANGED_AFTER_SIGNING


def test_relabelling_the_environment_after_signing_is_invalid(pkis):
    # pyHanko's diff policy files Info/XMP rewrites under LTA maintenance; certseal labels are
    # evidence, so the verifier compares them with the signed revision itself.
    tampered = _incremental(sealed_pdf(TRAINING), _relabel_production)
    report = verify_pdf(tampered, pkis.trust)
    _invalid(report, "changed after signing: the document metadata now names environment production")
    assert report.environment.metadata is TRAINING  # the sealed revision's label is reported


def test_sneaky_second_signature_is_invalid(pkis):
    # An approval signature appended by someone else's key, e.g. to "countersign" a change.
    sneaky = raw_sign(sealed_pdf(PROD), look_alike_key(PROD).signer, certify=False, field="Approval", force=True)
    report = verify_pdf(sneaky, pkis.trust)
    _invalid(report, "changed after signing")
    assert [s.field for s in report.signatures] == ["CertsealSeal", "Approval"]


def test_resealing_with_a_trusted_key_after_a_change_is_still_invalid(pkis):
    # Even the authority's own key may not add a revision to a certified original.
    tampered = _incremental(sealed_pdf(TRAINING), _add_annotation)
    resealed = raw_sign(tampered, pkis.key(TRAINING).signer, certify=False, field="Again", force=True)
    _invalid(verify_pdf(resealed, pkis.trust), "changed after signing")


# --- who sealed it ---------------------------------------------------------------------------

def test_self_signed_look_alike_seal_is_indeterminate(pkis):
    fake = look_alike_key(PROD)
    assert fake.subject == pkis.key(PROD).subject  # same name, policy and OU: only trust differs
    forged = seal_pdf(make_unsigned_pdf(PROD), fake, environment=PROD, reference=REFERENCE)
    report = verify_pdf(forged, pkis.trust)
    assert report.verdict is Verdict.INDETERMINATE, report.reasons
    assert "sealed by an unknown or untrusted key" in report.reasons
    assert report.environment.signer is None
    assert report.signatures[0].intact is True and report.signatures[0].trusted is False


def test_expired_seal_certificate_without_timestamp_is_indeterminate():
    m = material(PROD)
    now = datetime.now(timezone.utc)
    cert = seal_certificate(m, not_before=now - timedelta(days=60), not_after=now - timedelta(days=1))
    signed = raw_sign(make_unsigned_pdf(PROD), simple_signer(m.seal_key, cert, (m.root_cert,)))
    report = verify_pdf(signed, material_trust(PROD))
    assert report.verdict is Verdict.INDETERMINATE, report.reasons
    assert any("expired" in r for r in report.reasons)


def test_seal_certificate_without_non_repudiation_is_not_valid():
    m = material(PROD)
    cert = seal_certificate(m, non_repudiation=False)
    signed = raw_sign(make_unsigned_pdf(PROD), simple_signer(m.seal_key, cert, (m.root_cert,)))
    report = verify_pdf(signed, material_trust(PROD))
    assert report.verdict is Verdict.INDETERMINATE, report.reasons
    assert any("requirements for sealing" in r for r in report.reasons)


@pytest.mark.parametrize("policy_envs", [(), (PROD,)], ids=["no-policy", "production-policy"])
def test_policy_must_match_the_root_environment(policy_envs):
    # Chains to the trusted *training* root, but the policy OID is missing or says production.
    m = material(TRAINING)
    cert = seal_certificate(m, policy_envs=policy_envs)
    signed = raw_sign(make_unsigned_pdf(TRAINING), simple_signer(m.seal_key, cert, (m.root_cert,)))
    report = verify_pdf(signed, material_trust(TRAINING))
    _invalid(report, "environment mismatch")


def test_approval_signature_by_a_trusted_key_is_not_an_original(pkis):
    signed = raw_sign(make_unsigned_pdf(PROD), pkis.key(PROD).signer, certify=False)
    report = verify_pdf(signed, pkis.trust)
    assert report.verdict is Verdict.INDETERMINATE, report.reasons
    assert report.signatures[0].certified is False


# --- environment signals that disagree (signed with trusted keys, bypassing the sealer) ------

@pytest.mark.parametrize(
    "key_env, pdf_kwargs, doc_env, words",
    [
        (TRAINING, {"metadata_env": PROD, "watermark_env": None}, TRAINING,
         "sealed with the training key but the metadata says production"),
        (TRAINING, {"watermark_env": None}, TRAINING, "carries no training watermark"),
        (PROD, {"watermark_env": TRAINING}, PROD, "production document carries a training watermark"),
        (PROD, {"metadata_env": TRAINING}, PROD, "metadata says training"),
        (Environment.ACCEPTANCE, {"watermark_env": TRAINING}, Environment.ACCEPTANCE,
         "acceptance document carries a training watermark"),
        (TRAINING, {"metadata_env": None}, TRAINING, "metadata names no environment"),
    ],
    ids=["prod-label-on-training", "watermark-removed", "prod-with-training-mark",
         "training-label-on-prod", "wrong-watermark", "no-label"],
)
def test_environment_forgery_is_invalid(pkis, key_env, pdf_kwargs, doc_env, words):
    forged = raw_sign(make_unsigned_pdf(doc_env, **pdf_kwargs), pkis.key(key_env).signer)
    report = verify_pdf(forged, pkis.trust)
    _invalid(report, "environment mismatch", words)
    assert report.environment.consistent is False


def test_watermark_on_every_page_is_consistent(pkis):
    pdf = make_unsigned_pdf(TRAINING, pages=3)
    report = verify_pdf(raw_sign(pdf, pkis.key(TRAINING).signer), pkis.trust)
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons


def test_watermark_missing_on_a_page_is_invalid(pkis):
    pdf = make_unsigned_pdf(TRAINING, pages=3, watermark_every_page=False)  # page 1 only
    report = verify_pdf(raw_sign(pdf, pkis.key(TRAINING).signer), pkis.trust)
    _invalid(report, "environment mismatch", "missing on page(s) 2, 3")


# --- embedded certificate data ------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"embedded": {"reference": "CHEDPP.BE.2026.0009999", "environment": "training"}}, "names reference"),
        ({"embedded": {"reference": REFERENCE, "environment": "production"}}, "names environment"),
        ({"visible_reference": "CHEDPP.BE.2026.0007777"}, "does not appear in the visible document"),
    ],
    ids=["other-reference", "other-environment", "visible-reference-differs"],
)
def test_embedded_data_must_match_the_visible_document(pkis, kwargs, words):
    forged = raw_sign(make_unsigned_pdf(TRAINING, **kwargs), pkis.key(TRAINING).signer)
    report = verify_pdf(forged, pkis.trust)
    _invalid(report, words)
    assert report.embedded_data.present is True and report.embedded_data.matches_visible is False


def test_missing_embedded_data_is_not_an_original(pkis):
    signed = raw_sign(make_unsigned_pdf(PROD, embedded=None), pkis.key(PROD).signer)
    report = verify_pdf(signed, pkis.trust)
    assert report.verdict is Verdict.INDETERMINATE, report.reasons
    assert report.embedded_data.present is False


# --- the public shadow-attack corpus ------------------------------------------------------

ATTACKS = sorted((CORPUS / "attack").glob("*.pdf"))
BENIGN = sorted((CORPUS / "benign").glob("*.pdf"))


@pytest.mark.skipif(not ATTACKS, reason="attack corpus not present")
@pytest.mark.parametrize("path", ATTACKS, ids=lambda p: p.name)
def test_shadow_attacks_are_invalid(pkis, path):
    report = verify_pdf(path.read_bytes(), pkis.trust)
    assert report.verdict is Verdict.INVALID, report.reasons
    assert any(f.kind is FindingKind.CHANGED_AFTER_SIGNING for f in report.findings), report.reasons


@pytest.mark.skipif(not BENIGN, reason="benign corpus not present")
@pytest.mark.parametrize("path", BENIGN, ids=lambda p: p.name)
def test_shadow_benign_originals_are_untrusted_not_valid(pkis, path):
    report = verify_pdf(path.read_bytes(), pkis.trust)
    assert report.verdict is Verdict.INDETERMINATE, report.reasons
    assert "sealed by an unknown or untrusted key" in report.reasons
    assert report.signatures[0].intact and report.signatures[0].coverage == "ENTIRE_FILE"


def test_text_report_of_a_changed_document_says_so_first(pkis):
    from signer.report import render_text

    tampered = _incremental(sealed_pdf(PROD), _add_annotation)
    text = render_text(verify_pdf(tampered, pkis.trust))
    assert text.splitlines()[0] == "NOT VALID — this document was changed after it was sealed"
    assert "certseal production seal" in text and REFERENCE in text
