"""UN/CEFACT SPS XML input: the two TRACES samples, a SOAP-wrapped CHED-P, malformed and hostile
XML. The importer yields the same typed Certificate as the JSON path, and the PDF embeds the XML
as a second attachment."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from decimal import Decimal

from renderers.errors import InputError
from renderers.kinds import Clauses, Party, Signature, Transport
from renderers.model import parse_certificate
from renderers.pdf import ATTACHMENT_NAME, XML_ATTACHMENT_NAME
from renderers.render import render_certificate
from renderers.sps import parse_sps, read_sps_tree, sps_to_input
from service.inputs import read_certificate_file
from _render_helpers import attachments, flat, page_texts
from conftest import SHARED

SAMPLES = SHARED / "samples" / "sps"
DATA = Path(__file__).parent / "data" / "sps"
CHEDPP = SAMPLES / "CHEDPP.DE.2018.0000015.xml"
INTRA = SAMPLES / "INTRA.EU.NL.2021.0000001.xml"
SOAP = DATA / "CHEDP.NL.2026.0004711-soap.xml"

needs_samples = pytest.mark.skipif(not CHEDPP.exists(), reason="shared/samples not beside the checkout")


@needs_samples
def test_chedpp_fragment_with_undeclared_prefixes():
    cert = parse_sps(CHEDPP.read_bytes())
    assert cert.model.id == "CHED-PP" and cert.reference == "CHEDPP.DE.2018.0000015"
    assert cert.source == "sps" and cert.source_xml == CHEDPP.read_bytes()
    assert (cert.language, cert.destination_language) == ("de", "en")  # issuing country DE; English beside it
    assert cert.environment.value == "training"  # the XML does not say: never production by default
    f = cert.fields
    assert f["consignor"] == Party("COOPERATIVEAF26 Ent", "Avenue Pierre Saul 13\n00202 Nairobi", "KE")
    assert f["border_control_post_code"] == "DEFRA4"
    assert f["means_of_transport"] == Transport("road_vehicle", "lkw")
    assert [r["species"] for r in f["commodities"]] == ["Rosa canina", "Rosa arkansana"]
    assert [r["eppo_code"] for r in f["commodities"]] == ["ROSCN", "ROSAK"]
    assert str(f["total_weight"].net_kg) == "111" and f["total_packages"] == 5
    assert f["accompanying_documents"][0]["reference"] == "PSC 123"
    assert f["internal_market"] is True and f["acceptable_internal_market"] is True
    assert f["documentary_check"] == "satisfactory"
    assert f["declaration"] == Signature("BCP DE ONE", cert.issued_at)


@needs_samples
def test_intra_response_with_health_clauses():
    cert = parse_sps(INTRA.read_bytes())
    assert cert.model.id == "INTRA" and cert.reference == "INTRA.EU.NL.2021.0000001"
    assert (cert.language, cert.destination_language) == ("nl", "fr")  # NL → BE (nl, fr: the other one)
    f = cert.fields
    assert isinstance(f["health_attestation"], Clauses) and set(f["health_attestation"].texts) == {"en"}
    checks = f["health_attestation"].texts["en"].checks
    assert any(c.checked for c in checks) and any(not c.checked for c in checks)
    assert f["certificate_model"] == "64/432 (2016/2008) F1 Bovine"
    assert f["certified_as"] == "relaying" and f["transport_conditions"] == "ambient"
    assert f["consignor"].name == "B&S GTC Customs B.V."  # entity decoded once, printed escaped
    assert f["country_of_destination"] == "BE"
    assert f["certifying_officer"].name == "Eduardo Diego"


def test_soap_wrapped_ched_p_with_declared_namespaces():
    cert = parse_sps(SOAP.read_bytes())
    assert cert.model.id == "CHED-P"
    f = cert.fields
    assert f["total_weight"].net_kg == Decimal("21000.5")  # tonnes converted to kg
    assert f["transport_after_bcp"].identification == "BV-712-K"
    assert f["means_of_transport"] == Transport("vessel", "MAERSK KENSINGTON", "MAEU 261104558")
    assert f["certified_as"] == "human_consumption" and f["physical_check"] == "not_done"
    assert f["border_control_post"] == "Rotterdam haven"  # the nl text for an nl document
    assert f["commodities"][0]["description"] == "Frozen fillets of yellowfin tuna <skinless>"
    assert f["commodities"][1]["description"] == "Frozen fillets of tuna"  # from the CN class name
    assert f["place_of_destination"].approval_number == "NL-4231-EG"


def test_same_certificate_as_the_json_path():
    mapped, _ = sps_to_input(SOAP.read_bytes())
    via_json = parse_certificate(json.loads(json.dumps(mapped)))
    via_xml = parse_sps(SOAP.read_bytes())
    assert via_json.fields == via_xml.fields and via_json.source_json == via_xml.source_json
    assert via_json.source_xml is None and via_xml.source_xml is not None


def test_command_line_overrides_and_file_reading(tmp_path):
    target = tmp_path / "in.xml"
    target.write_bytes(SOAP.read_bytes())
    cert = read_certificate_file(target, language="fr", destination_language="zh", environment="acceptance")
    assert (cert.language, cert.destination_language, cert.environment.value) == ("fr", "zh", "acceptance")
    other = tmp_path / "no-suffix"
    other.write_bytes(SOAP.read_bytes())
    assert read_certificate_file(other).model.id == "CHED-P"  # recognised by content


@pytest.mark.parametrize("mutate, where", [
    (lambda x: x.replace(b"<ns4:ID>CHEDP.NL.2026.0004711</ns4:ID>", b"<ns4:ID></ns4:ID>"),
     "SPSCertificate/SPSExchangedDocument/ID: missing"),
    (lambda x: re.sub(rb"<ns4:IssueDateTime>.*?</ns4:IssueDateTime>", b"", x, count=1),
     "SPSCertificate/SPSExchangedDocument/IssueDateTime: missing"),
    (lambda x: re.sub(rb"<ns6:SPSConsignment>.*</ns6:SPSConsignment>", b"", x, flags=re.S),
     "SPSCertificate/SPSConsignment: missing"),
    (lambda x: x.replace(b"CHEDP.NL.2026.0004711", b"XYZ.NL.2026.0004711").replace(b">P</ns4:ContentCode>", b">Q</ns4:ContentCode>"),
     "SPSCertificate/SPSExchangedDocument/ID: no certificate model"),
    (lambda x: x.replace(b"<ns4:CountryID>VN</ns4:CountryID>", b"<ns4:CountryID>QQ</ns4:CountryID>"),
     "SPSCertificate/SPSConsignment/ConsignorSPSParty (fields.consignor.country)"),
    (lambda x: x.replace(b"<ns6:SPSCertificate>", b"<ns6:SPSCertificat>").replace(b"</ns6:SPSCertificate>", b"</ns6:SPSCertificat>"),
     "SPSCertificate: missing"),
    (lambda x: x.replace(b"</ns4:Name>", b"</ns4:Nam>", 1), "$xml: not well-formed XML"),
])
def test_unmappable_xml_names_the_element(mutate, where):
    with pytest.raises(InputError) as info:
        parse_sps(mutate(SOAP.read_bytes()))
    assert str(info.value).startswith(where), str(info.value)


def test_malformed_fixture():
    with pytest.raises(InputError, match=re.escape("SPSCertificate/SPSExchangedDocument/ID: missing")):
        parse_sps((DATA / "malformed-no-id.xml").read_bytes())


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><SPSCertificate>&b;</SPSCertificate>',
    b'<!DOCTYPE SPSCertificate SYSTEM "file:///etc/passwd"><SPSCertificate/>',
    b'<SPSCertificate><!ENTITY x SYSTEM "http://127.0.0.1:9/">x</SPSCertificate>',
])
def test_no_dtd_no_entities(payload):
    with pytest.raises(InputError, match="DOCTYPE and entity declarations are not allowed"):
        read_sps_tree(payload)


def test_prefixes_in_text_and_comments_are_left_alone():
    xml = (b'<a:SPSCertificate xmlns:a="urn:x"><!-- <b:ID>no</b:ID> --><a:SPSExchangedDocument>'
           b'<a:ID>1</a:ID><a:Name><![CDATA[<c:d> stays]]></a:Name></a:SPSExchangedDocument></a:SPSCertificate>')
    root = read_sps_tree(xml)
    assert root.find("SPSExchangedDocument/ID").text == "1"
    assert root.find("SPSExchangedDocument/Name").text == "<c:d> stays"


@needs_samples
@pytest.mark.parametrize("path", [CHEDPP, INTRA, SOAP], ids=lambda p: p.stem)
def test_renders_complete_pdf_with_both_attachments(path):
    cert = parse_sps(path.read_bytes())
    pdf = render_certificate(cert)
    files = attachments(pdf.data)
    assert list(files) == [ATTACHMENT_NAME, XML_ATTACHMENT_NAME]
    assert files[XML_ATTACHMENT_NAME] == path.read_bytes()
    assert json.loads(files[ATTACHMENT_NAME])["reference"] == cert.reference
    texts = page_texts(pdf.data)
    total = len(texts)
    for number, text in enumerate(texts, start=1):
        assert cert.reference in text
        assert re.search(rf"\b{number}\s*/\s*{total}\b", text)
    full = flat("\n".join(texts))
    first_party = cert.fields["consignor"].name
    assert first_party in full


@needs_samples
def test_intra_attestation_is_rendered_as_text_with_ticks():
    pdf = render_certificate(parse_sps(INTRA.read_bytes()))
    full = flat("\n".join(page_texts(pdf.data)))
    assert "☑" in full and "☐" in full
    assert "[Niet geselecteerd - weggelaten]" in full  # unchosen alternatives, as TRACES prints them
    assert "I, the undersigned official veterinarian" in full
    assert "~~" not in full and "[x]" not in full and "[ ]" not in full
