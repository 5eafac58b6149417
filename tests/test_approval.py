"""The approval signature (CHED Part III follow-up): real rendered CHED-PP originals sealed as
`certseal issue` does, a real test PKI, real PAdES levels with the loopback TSA / OCSP / CRL;
checked by certseal's verifier, by pyHanko's AdES validation and by poppler's pdfsig."""
from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import read_certification_data
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule
from pyhanko_certvalidator.registry import SimpleTrustManager

from _pki_helpers import (  # noqa: F401
    asn1_cert,
    certseal_original,
    certseal_original_at_level,
    look_alike_key,
    pkis,
    raw_sign,
    service_pki,
)
from renderers.environment import Environment
from renderers.errors import InputError
from renderers.model import load_model
from signer.approval import approve_pdf
from signer.errors import SealingError
from signer.follow_up import FollowUp, parse_follow_up
from signer.report import Verdict, render_text
from signer.verify import verify_pdf

PROD, TRAINING = Environment.PRODUCTION, Environment.TRAINING
FIELD = "CertsealFollowUp"
OFFICER = "Dr. Anna Berger"


def follow_up(**changes) -> FollowUp:
    data = {
        "officer": OFFICER, "qualification": "Amtliche Tierärztin",
        "authority": "Grenzkontrollstelle Hamburg Hafen", "decision": "compliance_confirmed",
        "notes": "Plombe bei Ankunft unversehrt.",
        "date": datetime.now(timezone(timedelta(hours=1))).isoformat(timespec="seconds"),
    }
    data.update(changes)
    return parse_follow_up({k: v for k, v in data.items() if v is not None})


def approved(env: Environment, pkis) -> bytes:
    return _approved(env, pkis.key(env), pkis.trust)


_cache: dict = {}


def _approved(env, key, trust) -> bytes:
    if env not in _cache:
        _cache[env] = approve_pdf(certseal_original("CHED-PP", env), key, follow_up(), level="B-B", trust=trust).pdf
    return _cache[env]


def sign_field(pdf: bytes, key, field: str = FIELD, *, change=None) -> bytes:
    """Sign `field` with pyHanko directly (no certseal checks), optionally changing the
    document in the same incremental update first: what a careless or hostile tool does."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    if change is not None:
        change(writer)
    meta = signers.PdfSignatureMetadata(field_name=field, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    return signers.PdfSigner(meta, signer=key.signer).sign_pdf(writer).getvalue()


def _regular(pdf: bytes):
    return PdfFileReader(BytesIO(pdf)).embedded_regular_signatures


# --- what issue reserves ------------------------------------------------------------------------

def test_model_data_names_the_follow_up_field_for_ched_only():
    for model in ("CHED-PP", "CHED-P", "CHED-A", "CHED-D"):
        spec = load_model(model).signatures
        assert (spec.approval_field, spec.approval_box, spec.approval_part) == (FIELD, "III.8", "III")
    for model in ("INTRA", "EXPORT"):
        assert load_model(model).signatures.approval_field is None


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


@pytest.mark.parametrize("signatures, message", [
    ({"approval_field": "Follow.Up", "approval_box": "I.2"}, "approval_field"),
    ({"approval_field": "FollowUp", "approval_box": "I.1"}, "not a signature box"),
    ({"approval_field": "FollowUp", "approval_box": "I.3"}, "already holds the seal"),
    ({"approval_field": "FollowUp", "approval_box": "I.2", "decision_field": "remark"}, "not the field of a choice box"),
    ({"approval": "FollowUp"}, "unknown key"),
], ids=["dotted-name", "not-signature", "seal-box", "decision-not-choice", "unknown-key"])
def test_signatures_table_mistakes_are_caught(signatures, message):
    from renderers.model import ModelDefinitionError, _build_model

    box = {"kind": "text", "compulsory": False, "part": "I", "label": "l"}
    raw = {"id": "X", "title": "t", "reference_prefix": "X", "reference_pattern": "^X$", "regulation": "r",
           "template": "t.html.j2", "parts": {"I": {"title": "p"}}, "signatures": signatures,
           "boxes": [{**box, "id": "I.1", "field": "remark"}, {**box, "id": "I.2", "field": "follow", "kind": "signature"},
                     {**box, "id": "I.3", "field": "seal", "kind": "signature", "seal": True}]}
    with pytest.raises((ValueError, ModelDefinitionError), match=re.escape(message)):
        _build_model(raw, "x")


def _page_words(pdf: bytes, page: int) -> list[tuple[str, float, float]]:
    """(word, x, y of its bottom measured from the page bottom) on a 1-based page, as
    poppler's pdftotext -bbox reads them."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), "-", "-"],
                         input=pdf, capture_output=True, check=True, timeout=30).stdout.decode()
    height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', out).group(1))
    return [(word, float(x1), height - float(y2)) for x1, _, _, y2, word in _WORD.findall(out)]


def _field_widget(pdf: bytes, name: str = FIELD):
    """(value, rect, 1-based page) of the signature field `name`."""
    reader = PdfFileReader(BytesIO(pdf))
    ((_, value, ref),) = [f for f in fields.enumerate_sig_fields(reader) if f[0] == name]
    widget = ref.get_object()
    pages = [kid.reference for kid in reader.root["/Pages"].raw_get("/Kids")]
    return value, tuple(float(v) for v in widget["/Rect"]), pages.index(widget.raw_get("/P").reference) + 1


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_ched_original_reserves_a_visible_empty_field_in_box_iii_8(pkis):
    pdf = certseal_original("CHED-PP", PROD)
    assert read_certification_data(PdfFileReader(BytesIO(pdf))).permission is fields.MDPPerm.FILL_FORMS
    value, (x1, y1, x2, y2), page = _field_widget(pdf)
    assert value is None  # empty until the follow-up
    # On the page of box III.8, below its heading, a seal-sized area inside the page.
    heading = [(x, y) for word, x, y in _page_words(pdf, page) if word == "III.8."]
    assert heading, f"box III.8 is not on page {page}"
    assert x2 - x1 > 150 and y2 - y1 > 50
    assert y2 < heading[0][1] and y1 > 36 and x1 > heading[0][0] and x2 < 595


def test_intra_original_is_single_signature_no_changes(pkis):
    reader = PdfFileReader(BytesIO(certseal_original("INTRA", PROD)))
    assert read_certification_data(reader).permission is fields.MDPPerm.NO_CHANGES
    assert [name for name, _, _ in fields.enumerate_sig_fields(reader)] == ["CertsealSeal"]


# --- approving -----------------------------------------------------------------------------------

def test_approved_production_original_is_valid_with_both_signatures(pkis):
    original = certseal_original("CHED-PP", PROD)
    pdf = approved(PROD, pkis)
    assert pdf.startswith(original)  # an incremental update: the sealed bytes are untouched
    report = verify_pdf(pdf, pkis.trust)
    assert report.verdict is Verdict.VALID, report.reasons
    seal, approval = report.signatures
    assert (seal.role, seal.field, seal.certified, seal.modifications) == ("seal", "CertsealSeal", True, "FORM_FILLING")
    assert (approval.role, approval.field, approval.part, approval.certified) == ("approval", FIELD, "III", False)
    for sig in (seal, approval):
        assert sig.intact and sig.trusted and sig.level == "B-B" and sig.signing_time is not None
    assert approval.coverage == "ENTIRE_FILE" and approval.modifications == "NONE"
    assert report.to_dict()["signatures"][1]["role"] == "approval"
    text = render_text(report)
    assert "Sealed by:" in text and "Approved (Part III): by CN=certseal production seal" in text


def test_approved_training_original_has_no_legal_value(pkis):
    report = verify_pdf(approved(TRAINING, pkis), pkis.trust)
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
    assert [s.role for s in report.signatures] == ["seal", "approval"]
    assert all(s.intact and s.trusted for s in report.signatures)
    assert report.reasons == ["issued in the training environment: it has no legal value"]


def test_sealed_but_not_yet_approved_ched_original_is_valid(pkis):
    report = verify_pdf(certseal_original("CHED-PP", PROD), pkis.trust)
    assert report.verdict is Verdict.VALID, report.reasons
    assert [s.role for s in report.signatures] == ["seal"]


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils pdfsig not installed")
def test_pdfsig_sees_two_valid_signatures(pkis, tmp_path):
    path = tmp_path / "approved.pdf"
    path.write_bytes(approved(PROD, pkis))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2, out
    assert f"Signature Field Name: {FIELD}" in out and "Signature Field Name: CertsealSeal" in out


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_approval_block_shows_the_follow_up_in_both_languages(pkis):
    pdf = approved(PROD, pkis)
    _, _, widget_page = _field_widget(pdf)
    text = subprocess.run(["pdftotext", "-f", str(widget_page), "-l", str(widget_page), "-", "-"],
                          input=pdf, capture_output=True, check=True, timeout=30).stdout.decode()
    flat = " ".join(text.split())
    assert f"{OFFICER} — Amtliche Tierärztin" in flat
    # the decision option, from the catalogs, in the officer's (de) and destination's (fr) language
    assert "Konformität der Sendung bestätigt / Conformité du lot confirmée" in flat
    assert "Grenzkontrollstelle Hamburg Hafen" in flat and "CN=certseal production seal" in flat


# --- refusals (nothing written) --------------------------------------------------------------------

def test_key_of_the_other_environment_is_refused(pkis):
    with pytest.raises(SealingError, match="a training key cannot approve a production original"):
        approve_pdf(certseal_original("CHED-PP", PROD), pkis.key(TRAINING), follow_up(), level="B-B", trust=pkis.trust)


def test_second_approval_is_refused(pkis):
    with pytest.raises(SealingError, match="already signed"):
        approve_pdf(approved(PROD, pkis), pkis.key(PROD), follow_up(), level="B-B", trust=pkis.trust)


def test_single_signature_model_is_refused(pkis):
    with pytest.raises(SealingError, match="INTRA certificates take no approval signature"):
        approve_pdf(certseal_original("INTRA", PROD), pkis.key(PROD), follow_up(), level="B-B", trust=pkis.trust)


def test_changed_original_is_refused(pkis):
    def annotate(writer):
        page = writer.root["/Pages"]["/Kids"][0]
        note = writer.add_object(generic.DictionaryObject({
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"), generic.pdf_name("/Subtype"): generic.pdf_name("/Text"),
            generic.pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (50, 50, 70, 70)]),
            generic.pdf_name("/Contents"): generic.TextStringObject("consignee changed"),
        }))
        page[generic.pdf_name("/Annots")] = generic.ArrayObject([*page.get("/Annots", []), note])
        writer.update_container(page)

    writer = IncrementalPdfFileWriter(BytesIO(certseal_original("CHED-PP", PROD)))
    annotate(writer)
    out = BytesIO()
    writer.write(out)
    with pytest.raises(SealingError, match="does not verify"):
        approve_pdf(out.getvalue(), pkis.key(PROD), follow_up(), level="B-B", trust=pkis.trust)


def test_unfit_approval_key_is_refused_before_anything_else(pkis):
    from _pki_helpers import material, seal_certificate, simple_signer
    from signer.keys import KeySpec, SealKey

    m = material(PROD)
    now = datetime.now(timezone.utc)
    for cert, words in ((seal_certificate(m, not_before=now - timedelta(days=9), not_after=now - timedelta(days=1)), "expired"),
                        (seal_certificate(m, non_repudiation=False), "nonRepudiation")):
        key = SealKey(simple_signer(m.seal_key, cert, (m.root_cert,)), cert, PROD, KeySpec.parse("pkcs12:/unused.p12"))
        with pytest.raises(SealingError, match=words):
            approve_pdf(certseal_original("CHED-PP", PROD), key, follow_up(), level="B-B", trust=pkis.trust)


@pytest.mark.parametrize("data, key, words", [
    ({"officer": OFFICER}, "date", "missing"),
    ({"date": "2026-03-02T10:15:00+01:00"}, "officer", "missing"),
    ({"officer": OFFICER, "date": "2026-03-02T10:15:00"}, "date", "offset"),
    ({"officer": OFFICER, "date": "2026-03-02T10:15:00Z", "signature": "x"}, "signature", "unknown property"),
    ({"officer": ["A"], "date": "2026-03-02T10:15:00Z"}, "officer", "expected a string"),
    ({"officer": OFFICER, "date": "2026-03-02T10:15:00Z", "notes": "x" * 300}, "notes", "too long"),
], ids=["no-date", "no-officer", "no-offset", "unknown-key", "not-text", "long-notes"])
def test_follow_up_errors_name_the_field(data, key, words):
    with pytest.raises(InputError, match=words) as caught:
        parse_follow_up(data)
    assert caught.value.field == key


def test_decision_must_be_an_option_of_the_model(pkis):
    with pytest.raises(InputError, match="compliance_confirmed") as caught:
        approve_pdf(certseal_original("CHED-PP", PROD), pkis.key(PROD), follow_up(decision="waved_through"),
                    level="B-B", trust=pkis.trust)
    assert caught.value.field == "decision"


def test_follow_up_date_in_the_future_is_refused(pkis):
    later = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat(timespec="seconds")
    with pytest.raises(InputError, match="in the future") as caught:
        approve_pdf(certseal_original("CHED-PP", PROD), pkis.key(PROD), follow_up(date=later), level="B-B",
                    trust=pkis.trust)
    assert caught.value.field == "date"


# --- what the verifier makes of signatures it did not allow ----------------------------------------

def test_trusted_signature_in_a_new_field_of_a_ched_original_is_invalid(pkis):
    # pyHanko counts a new invisible signature field as form filling, which P=2 allows.
    forged = sign_field(certseal_original("CHED-PP", PROD), pkis.key(PROD), field="Sneaky")
    report = verify_pdf(forged, pkis.trust)
    assert report.verdict is Verdict.INVALID
    assert any("'Sneaky' was added in a field the seal did not reserve" in r for r in report.reasons), report.reasons
    assert report.signatures[1].role == "signature"


def test_approval_field_added_to_a_no_changes_intra_original_is_invalid(pkis):
    forged = raw_sign(certseal_original("INTRA", PROD), pkis.key(PROD).signer, certify=False, field=FIELD, force=True)
    report = verify_pdf(forged, pkis.trust)
    assert report.verdict is Verdict.INVALID
    assert any(r.startswith("changed after signing: form fields were filled in") for r in report.reasons), report.reasons


def _replace_page_content(writer):
    page = writer.root["/Pages"]["/Kids"][0]
    stream = generic.StreamObject(stream_data=b"BT /F1 9 Tf 72 700 Td (Consignee: someone else) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))
    writer.update_container(page)


def _replace_embedded_data(writer):
    spec = writer.root["/Names"]["/EmbeddedFiles"]["/Names"][1]
    stream = generic.StreamObject(stream_data=b'{"reference": "CHEDPP.DE.2026.0009999"}')
    spec["/EF"][generic.pdf_name("/F")] = writer.add_object(stream)
    writer.update_container(spec)


@pytest.mark.parametrize("change", [_replace_page_content, _replace_embedded_data], ids=["page", "embedded-data"])
def test_approval_that_also_changes_the_document_is_invalid(pkis, change):
    forged = sign_field(certseal_original("CHED-PP", PROD), pkis.key(PROD), change=change)
    report = verify_pdf(forged, pkis.trust)
    assert report.verdict is Verdict.INVALID
    assert any(r.startswith("changed after signing") for r in report.reasons), report.reasons


def test_approval_by_a_training_key_on_a_production_original_is_environment_mismatch(pkis):
    forged = sign_field(certseal_original("CHED-PP", PROD), pkis.key(TRAINING))
    report = verify_pdf(forged, pkis.trust)
    assert report.verdict is Verdict.INVALID
    assert ("environment mismatch: sealed with the production key but approved (Part III) with the training key"
            in report.reasons)


def test_approval_by_an_untrusted_look_alike_key_is_indeterminate(pkis):
    forged = sign_field(certseal_original("CHED-PP", PROD), look_alike_key(PROD))
    report = verify_pdf(forged, pkis.trust)
    assert report.verdict is Verdict.INDETERMINATE, report.reasons
    assert "approved by an unknown or untrusted key" in report.reasons
    assert report.signatures[1].trusted is False


# --- long-term levels ------------------------------------------------------------------------------

def _ades_spec(pki) -> PdfSignatureValidationSpec:
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[asn1_cert(pki.root)]),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(
            RevocationCheckingRule.CRL_OR_OCSP_REQUIRED, RevocationCheckingRule.CHECK_IF_DECLARED)),
    )
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
    ))


@pytest.fixture(scope="module")
def approved_lta(service_pki) -> bytes:
    original = certseal_original_at_level("B-LTA", "CHED-PP", TRAINING)
    return approve_pdf(original, service_pki.key, follow_up(), level="B-LTA", trust=service_pki.trust,
                       services=service_pki.services).pdf


def test_b_lta_approval_verifies_offline_with_both_signatures_long_term(service_pki, approved_lta):
    service_pki.responders.stop()  # embedded data only: the CA services are gone
    try:
        report = verify_pdf(approved_lta, service_pki.trust)
    finally:
        service_pki.responders.start()
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons
    seal, approval = [s for s in report.signatures if s.role in ("seal", "approval")]
    for sig in (seal, approval):
        assert (sig.level, sig.revocation, sig.trusted, sig.intact) == ("B-LTA", "good", True, True)
        assert sig.timestamp is not None
    assert len([s for s in report.signatures if s.role == "timestamp"]) == 2  # one per signature


def test_b_lta_approval_passes_pyhanko_ades_lta_validation_for_both_signatures(service_pki, approved_lta):
    spec = _ades_spec(service_pki)
    seal, approval = _regular(approved_lta)
    assert (seal.field_name, approval.field_name) == ("CertsealSeal", FIELD)
    for sig in (seal, approval):
        result = asyncio.run(ades_lta_validation(sig, spec))
        assert result.ades_subindic is AdESPassed.OK, (sig.field_name, result.failure_msg)


def test_b_t_approval_needs_a_tsa(service_pki):
    original = certseal_original_at_level("B-LTA", "CHED-PP", TRAINING)
    with pytest.raises(SealingError, match="needs a timestamp authority"):
        approve_pdf(original, service_pki.key, follow_up(), level="B-T", trust=service_pki.trust, services=None)


# --- the command line -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> Path:
    from test_cli_end_to_end import run

    home = tmp_path_factory.mktemp("approve-home")
    run("pki", "init", "--env", "training", home=home, check=True)
    return home


def test_cli_approve_end_to_end(cli_home, tmp_path):
    from test_cli_end_to_end import CHED_PP_SAMPLE, run

    original, out = tmp_path / "original.pdf", tmp_path / "approved.pdf"
    run("issue", str(CHED_PP_SAMPLE), "-o", str(original), "--level", "B-B", home=cli_home, check=True)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (tmp_path / "follow-up.json").write_text(json.dumps({"officer": OFFICER, "decision": "arrival_confirmed", "date": now}))

    help_text = run("approve", "--help", home=cli_home)
    assert help_text.returncode == 0 and "FOLLOWUP.json" in help_text.stdout

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"officer": "Dr. Anna Berger"}))
    proc = run("approve", str(original), "-o", str(out), "--input", str(bad), home=cli_home)
    assert proc.returncode == 2 and "date: missing" in proc.stderr and not out.exists()

    # The level defaults to the configured one: B-LTA, since `pki init` made a TSA.
    proc = run("approve", str(original), "-o", str(out), "--input", str(tmp_path / "follow-up.json"), home=cli_home)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert f"approved (training, field {FIELD}, PAdES B-LTA)" in proc.stdout

    verify = run("verify", str(out), "--json", home=cli_home)
    report = json.loads(verify.stdout)
    assert verify.returncode == 3, report["reasons"]
    assert [(s["role"], s["level"]) for s in report["signatures"]] == [
        ("seal", "B-LT"), ("approval", "B-LTA"), ("timestamp", None)]  # the B-B seal gained the DSS
    assert "Approved (Part III): by CN=certseal training seal" in run("verify", str(out), home=cli_home).stdout

    again = tmp_path / "again.pdf"
    proc = run("approve", str(out), "-o", str(again), "--input", str(tmp_path / "follow-up.json"), home=cli_home)
    assert proc.returncode == 1 and "already signed" in proc.stderr and not again.exists()

    records = [json.loads(line) for line in (cli_home / "audit.log").read_text().splitlines()]
    approvals = [r for r in records if r["operation"] == "approve"]
    assert [r["outcome"] for r in approvals][0] == "approved"
    assert approvals[0]["reference"] == json.loads(CHED_PP_SAMPLE.read_text())["reference"]
    assert approvals[0]["signed_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert approvals[-1]["outcome"].startswith("refused: ") and "already signed" in approvals[-1]["outcome"]
    assert run("audit", "verify", home=cli_home).returncode == 0


def test_cli_sign_seals_a_rendered_ched_as_issue_does(cli_home, tmp_path):
    """`certseal render` then `certseal sign` gives the same original as `certseal issue`: the
    visible seal in its box, DocMDP P=2 and the empty approval field in the same place, so the
    Part III follow-up can be signed on it."""
    from test_cli_end_to_end import CHED_PP_SAMPLE, run

    unsigned, signed, issued = tmp_path / "u.pdf", tmp_path / "s.pdf", tmp_path / "i.pdf"
    run("render", str(CHED_PP_SAMPLE), "-o", str(unsigned), home=cli_home, check=True)
    proc = run("sign", str(unsigned), "-o", str(signed), "--level", "B-B", home=cli_home)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    run("issue", str(CHED_PP_SAMPLE), "-o", str(issued), "--level", "B-B", home=cli_home, check=True)

    def shape(pdf: bytes):
        reader = PdfFileReader(BytesIO(pdf))
        seal = [ref.get_object() for name, _, ref in fields.enumerate_sig_fields(reader) if name == "CertsealSeal"]
        _, approval_rect, approval_page = _field_widget(pdf)
        # Rounded: the seal box read back from the PDF's Info has 2 decimals (0.005 pt apart).
        return (read_certification_data(reader).permission,
                [name for name, _, _ in fields.enumerate_sig_fields(reader)],
                tuple(round(float(v), 1) for v in seal[0]["/Rect"]),
                tuple(round(v, 1) for v in approval_rect), approval_page)

    assert shape(signed.read_bytes()) == shape(issued.read_bytes())
    assert shape(signed.read_bytes())[0] is fields.MDPPerm.FILL_FORMS

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (tmp_path / "follow-up.json").write_text(json.dumps({"officer": OFFICER, "decision": "arrival_confirmed", "date": now}))
    approved = tmp_path / "a.pdf"
    proc = run("approve", str(signed), "-o", str(approved), "--input", str(tmp_path / "follow-up.json"),
               home=cli_home)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(run("verify", str(approved), "--json", home=cli_home).stdout)
    assert report["verdict"] == "NO_LEGAL_VALUE", report["reasons"]
    assert [s["role"] for s in report["signatures"]] == ["seal", "approval", "timestamp"]  # B-LTA approval


def test_cli_sign_of_a_rendering_without_its_data_seals_it_invisibly_and_says_why(cli_home, tmp_path):
    """A certseal-labelled PDF that lacks the embedded certificate (made without the renderer's
    attachments, say) is still sealed, invisibly and without an approval field, and the
    command says why."""
    from weasyprint import HTML

    from renderers import metadata
    from renderers.html import render_html
    from renderers.model import parse_certificate
    from test_cli_end_to_end import CHED_PP_SAMPLE, run

    cert = parse_certificate(json.loads(CHED_PP_SAMPLE.read_text()))
    unsigned, signed = tmp_path / "u.pdf", tmp_path / "s.pdf"
    unsigned.write_bytes(HTML(string=render_html(cert)).render().write_pdf(
        pdf_variant="pdf/a-3b", finisher=metadata.finisher(cert)))
    proc = run("sign", str(unsigned), "-o", str(signed), "--level", "B-B", home=cli_home)
    assert proc.returncode == 0, proc.stderr
    assert "sealed without a visible seal or approval field: it embeds no certificate.json" in proc.stderr
    reader = PdfFileReader(BytesIO(signed.read_bytes()))
    assert [name for name, _, _ in fields.enumerate_sig_fields(reader)] == ["CertsealSeal"]
    assert read_certification_data(reader).permission is fields.MDPPerm.NO_CHANGES
