"""UN/CEFACT SPS e-Certificate XML (urn:un:unece:uncefact:data:standard:SPSCertificate:17), as
TRACES NT returns it → the same typed `Certificate` as the JSON path.

`sps_to_input(xml)` maps the XML to a certificate input dict; `parse_sps(xml)` validates it with
`renderers.model.parse_certificate` and keeps the XML to be embedded (certificate.xml).

Accepted shapes: a bare `SPSCertificate`; a TRACES NT response wrapping one
(`GetEuIntraCertificateResponse`, `GetChedCertificateResponse`, ...), inside a SOAP envelope or
not; fragments cut out of a larger response whose namespace prefixes are not declared, or whose
end tags use another prefix than their start tags (the CHED-PP sample does both).

Reading is tolerant of prefixes and strict about everything else:
- a pre-pass walks the markup and drops every namespace prefix and declaration, so elements are
  matched by local name (the SPS schema's names are unique enough: SPSExchangedDocument/ID ...);
- no DTD: `<!DOCTYPE` and `<!ENTITY` are refused before the parser sees the text, so there are
  no external entities and no entity expansion; processing instructions are dropped; the input
  is limited in size;
- the parser is the standard library's `xml.etree` (expat), fed only the rewritten text.

What is not in the XML, and the defaults (CLI flags override them, README "SPS XML input"):
- environment: `training` (the XML does not say; only an explicit `--env production` makes an
  original with legal value);
- language: an official language of the issuing country (the country in the reference:
  CHEDPP.DE... → de, INTRA.EU.NL... → nl), else English;
- destination language: an official language of the country of destination (ImportSPSCountry,
  else the consignee's / place of destination's country) that differs from the first language,
  else English;
- version 1.
Texts given in several `languageID`s fill the matching document language (attestations keep one
text per language); names and descriptions take the first language's text, else English, else
the first given.

Errors name the element path, e.g. `SPSCertificate/SPSExchangedDocument/ID: missing`. No box id
is named here: the importer fills model fields by name, and a model without such a field simply
does not receive the value.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Iterable

from renderers.environment import Environment
from renderers.errors import InputError
from renderers.model import Certificate, ModelSpec, available_models, load_model, parse_certificate

SPS_NAMESPACE = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
MAX_XML_BYTES = 20 * 1024 * 1024
DEFAULT_ENVIRONMENT = Environment.TRAINING
ROOT = "SPSCertificate"


# ------------------------------------------------------------------------------ reading

_MARKUP = re.compile(
    r"<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<\?.*?\?>"
    r"|<![^>]*>?"
    r"|<(?P<close>/?)(?P<name>[^\s/>!?]+)(?P<attrs>(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(?P<empty>/?)>",
    re.S)
_ATTR = re.compile(r"([^\s=/>]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _strip_prefixes(text: str) -> str:
    """Markup with every namespace prefix and declaration removed; DTDs refused."""
    out: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if token.startswith("<!--") or token.startswith("<![CDATA["):
            out.append(token)
        elif token.startswith("<?"):
            continue  # the XML declaration (the text is decoded already) and other PIs
        elif token.startswith("<!"):
            raise InputError("$xml", "DOCTYPE and entity declarations are not allowed in SPS XML")
        else:
            attrs = "".join(
                f" {_local(name)}={value}" for name, value in _ATTR.findall(m.group("attrs") or "")
                if not (name == "xmlns" or name.startswith("xmlns:")) and ":" not in name)
            out.append(f"<{m.group('close')}{_local(m.group('name'))}{attrs}{m.group('empty')}>")
    out.append(text[pos:])
    return "".join(out)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    head = data[:200].decode("ascii", "replace")
    m = re.match(r"\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", head)
    encoding = m.group(1) if m else "utf-8"
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise InputError("$xml", f"cannot decode the XML as {encoding}: {exc}") from None


def read_sps_tree(data: bytes) -> ET.Element:
    """The `SPSCertificate` element of an SPS XML document (prefixes stripped)."""
    if len(data) > MAX_XML_BYTES:
        raise InputError("$xml", f"too large ({len(data)} bytes, at most {MAX_XML_BYTES})")
    text = _strip_prefixes(_decode(data))
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.I):
        raise InputError("$xml", "DOCTYPE and entity declarations are not allowed in SPS XML")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError("$xml", f"not well-formed XML: {exc}") from None
    if root.tag == ROOT:
        return root
    found = next(root.iter(ROOT), None)
    if found is None:
        raise InputError(ROOT, f"missing: no {ROOT} element in <{root.tag}> (not an SPS e-Certificate)")
    return found


# ----------------------------------------------------------------------- navigation

@dataclass(frozen=True)
class _Node:
    """An element and its path from SPSCertificate, for error messages."""

    el: ET.Element
    path: str

    def all(self, name: str) -> list["_Node"]:
        return [_Node(c, f"{self.path}/{name}") for c in self.el if c.tag == name]

    def get(self, *names: str) -> "_Node | None":
        node: _Node | None = self
        for name in names:
            if node is None:
                return None
            found = node.all(name)
            node = found[0] if found else None
        return node

    def need(self, *names: str) -> "_Node":
        node = self.get(*names)
        if node is None:
            raise InputError(f"{self.path}/{'/'.join(names)}", "missing")
        return node

    @property
    def text(self) -> str | None:
        value = (self.el.text or "").strip()
        return value or None

    def text_of(self, *names: str) -> str | None:
        node = self.get(*names)
        return node.text if node is not None else None

    def attr(self, name: str) -> str | None:
        value = (self.el.get(name) or "").strip()
        return value or None


def _pick_language(nodes: Iterable[_Node], languages: tuple[str, ...]) -> str | None:
    """The text in the first of `languages`, else English, else the first non-empty one."""
    texts = [(n.attr("languageID"), n.text) for n in nodes if n.text]
    for wanted in languages + ("en",):
        for lang, value in texts:
            if lang and lang.lower() == wanted:
                return value
    return texts[0][1] if texts else None


# --------------------------------------------------------------------- code tables

# UN/CEFACT Recommendation 19 transport mode codes → model transport options.
_TRANSPORT_MODES = {"1": "vessel", "2": "railway", "3": "road_vehicle", "4": "aircraft", "8": "vessel"}
# UN/CEFACT 1001 document name codes → accompanying document types (when the model has them).
_DOCUMENT_TYPES = {
    "851": "phytosanitary_certificate", "852": "official_certificate", "853": "veterinary_certificate",
    "856": "official_certificate", "380": "commercial_invoice", "740": "airway_bill", "741": "airway_bill",
    "705": "bill_of_lading", "706": "bill_of_lading", "730": "transport_document",
    "ZZZ": "other",
}
# UN/ECE Recommendation 21 package codes TRACES uses most (name attributes are long sentences).
_PACKAGES = {"8A": "Pallet, wooden", "8B": "Crate, wooden", "BG": "Bag", "BX": "Box", "CT": "Carton",
             "CR": "Crate", "PK": "Package", "PX": "Pallet", "CS": "Case", "DR": "Drum", "BA": "Barrel",
             "CN": "Container", "NE": "Unpacked", "VR": "Bulk", "PC": "Parcel", "TN": "Tin", "BE": "Bundle"}
_WEIGHT_UNITS = {"KGM": Decimal(1), "TNE": Decimal(1000), "GRM": Decimal("0.001")}
_RESULTS = {"SATISFACTORY": "satisfactory", "NOT_SATISFACTORY": "not_satisfactory", "NOT_DONE": "not_done",
            "PENDING": "pending", "DEROGATION": "not_done"}
# CHED purpose (Part I) and decision (Part II) clauses → model fields.
_PURPOSES = {
    "INTERNAL_MARKET": "internal_market", "TRANSHIPMENT": "transhipment", "TRANSIT": "transit",
    "ONWARD_TRANSPORTATION": "onward_transportation", "TRANSFER": "transfer_to", "TRANSFER_TO": "transfer_to",
    "RE_ENTRY": "reentry", "TEMPORARY_ADMISSION": "temporary_admission", "NON_CONFORMING": "non_conforming",
}
_DECISIONS = {
    "ACCEPTABLE_FOR_INTERNAL_MARKET": "acceptable_internal_market",
    "ACCEPTABLE_FOR_FREE_CIRCULATION": "acceptable_internal_market",
    "ACCEPTABLE_FOR_TRANSIT": "acceptable_transit", "ACCEPTABLE_FOR_DIRECT_TRANSIT": "acceptable_transit",
    "ACCEPTABLE_FOR_INDIRECT_TRANSIT": "acceptable_transit",
    "ACCEPTABLE_FOR_TRANSIT_TO_US_OR_NATO_BASE": "acceptable_transit",
    "ACCEPTABLE_FOR_TRANSHIPMENT": "acceptable_transhipment",
    "ACCEPTABLE_FOR_ONWARD_TRANSPORTATION": "acceptable_onward_transportation",
    "ACCEPTABLE_FOR_ONWARD_TRAVEL": "acceptable_onward_transportation",
    "ACCEPTABLE_FOR_TRANSFER": "acceptable_transfer_to",
    "ACCEPTABLE_FOR_TEMPORARY_ADMISSION": "acceptable_temporary_admission",
    "ACCEPTABLE_FOR_RE_ENTRY": "acceptable_reentry",
    "NOT_ACCEPTABLE": "not_acceptable",
}
_CHECKS = {"DOCUMENTARY_CHECK_RESULT": "documentary_check", "IDENTITY_CHECK_RESULT": "identity_check",
           "PHYSICAL_CHECK_RESULT": "physical_check", "LABORATORY_TEST_RESULT": "laboratory_test",
           "WELFARE_CHECK_RESULT": "welfare_check"}
# SignatorySPSAuthentication/TypeCode: who signed what.
_SIGNED_PART_I = "4"  # the operator's / applicant's declaration
_SIGNED_CERTIFICATION = "1"  # the certifying officer (decision, attestation)


# --------------------------------------------------------------------------- mapping

@dataclass
class _Mapped:
    model: ModelSpec
    fields: dict[str, object] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # field → element path

    def set(self, name: str, value: object, path: str) -> None:
        """Fill `name` if the model has such a box and it is still empty; the value adapts to
        the box's kind (a flag is ticked, a text takes the wording, a choice its option)."""
        box = self.model.field_boxes.get(name)
        if box is None or value is None or name in self.fields:
            return
        if box.kind == "flag":
            value = True
        elif box.kind == "text" and value is True:
            return
        elif box.kind == "choice" and isinstance(value, str):
            keys = [o.key for o in box.options]
            key = value.lower()
            value = key if key in keys else ("other" if "other" in keys else None)
            if value is None:
                return
        self.fields[name] = value
        self.origin[name] = path


def _datetime(node: _Node | None) -> str | None:
    """An ISO 8601 date-time from DateTime / DateTimeString content, with its offset."""
    if node is None:
        return None
    inner = node.get("DateTime") or node.get("DateTimeString") or node
    return inner.text


def _date(value: str | None) -> str | None:
    return value[:10] if value and re.match(r"\d{4}-\d{2}-\d{2}", value) else None


def _decimal(node: _Node | None) -> Decimal | None:
    if node is None or node.text is None:
        return None
    try:
        value = Decimal(node.text)
    except InvalidOperation:
        raise InputError(node.path, f"not a number: {node.text!r}") from None
    return value * _WEIGHT_UNITS.get(node.attr("unitCode") or "KGM", Decimal(1))


def _number(value: Decimal | None) -> int | float | None:
    if value is None or value <= 0:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _party(node: _Node | None, languages: tuple[str, ...]) -> dict | None:
    if node is None or not node.text_of("Name"):
        return None
    address = node.get("SpecifiedSPSAddress")
    lines: list[str] = []
    country = None
    if address is not None:
        for name in ("LineOne", "LineTwo", "LineThree", "LineFour", "LineFive"):
            value = address.text_of(name)
            if value:
                lines.extend(part.strip() for part in value.splitlines() if part.strip())
        city = _pick_language(address.all("CityName"), languages)
        postcode = address.text_of("PostcodeCode")
        place = " ".join(p for p in (postcode, city) if p)
        if place:
            lines.append(place)
        country = address.text_of("CountryID")
    party = {"name": node.text_of("Name"), "address": "\n".join(lines) or "—", "country": country}
    approval = node.text_of("ID")
    if approval:
        party["approval_number"] = approval
    return party


def _fit_party(mapped: _Mapped, name: str, party: dict | None, path: str) -> None:
    box = mapped.model.field_boxes.get(name)
    if box is None or party is None:
        return
    if not box.approval_number:
        party = {k: v for k, v in party.items() if k != "approval_number"}
    if box.kind == "text":
        mapped.set(name, party["name"], path)
    else:
        mapped.set(name, party, path)


def _model_for(reference: str, doc: _Node) -> ModelSpec:
    prefix = reference.split(".", 1)[0]
    for model_id in available_models():
        model = load_model(model_id)
        if model.reference_prefix == prefix:
            return model
    # A reference of another shape: the CHED type note names the model (PP, P, A, D).
    for note in doc.all("IncludedSPSNote"):
        if note.text_of("SubjectCode") == "CHED_TYPE" and note.text_of("ContentCode"):
            wanted = f"CHED-{note.text_of('ContentCode')}"
            if wanted in available_models():
                return load_model(wanted)
    raise InputError(f"{doc.path}/ID", f"no certificate model for reference {reference!r} "
                                       f"(known: {', '.join(available_models())})")


def _issuing_country(reference: str) -> str | None:
    parts = reference.split(".")
    for part in parts[1:3]:
        if re.fullmatch(r"[A-Z]{2}", part) and part != "EU":
            return part
    return None


def _default_languages(reference: str, destination_country: str | None,
                       language: str | None, destination_language: str | None) -> tuple[str, str]:
    from renderers.i18n import country_language
    from babel.languages import get_official_languages
    from renderers.i18n import document_languages

    first = language or country_language(_issuing_country(reference)) or "en"
    if destination_language:
        return first, destination_language
    second = None
    if destination_country:
        code = "GB" if destination_country == "XI" else destination_country
        for candidate in get_official_languages(code, de_facto=True):
            if candidate in document_languages() and candidate != first:
                second = candidate
                break
    return first, second or ("en" if first != "en" else first)


def sps_to_input(data: bytes, *, language: str | None = None, destination_language: str | None = None,
                 environment: str | None = None) -> tuple[dict, dict[str, str]]:
    """Map SPS XML to a certificate input dict. Returns (input, origin) where origin maps each
    filled field to the element it came from (for error messages)."""
    cert = _Node(read_sps_tree(data), ROOT)
    doc = cert.need("SPSExchangedDocument")
    consignment = cert.need("SPSConsignment")
    reference = doc.need("ID").text
    if not reference:
        raise InputError(f"{doc.path}/ID", "missing")
    issued_node = doc.need("IssueDateTime")
    issued_at = _datetime(issued_node)
    if not issued_at:
        raise InputError(f"{issued_node.path}/DateTime", "missing")
    model = _model_for(reference, doc)
    m = _Mapped(model)

    destination_country = (consignment.text_of("ImportSPSCountry", "ID")
                           or (consignment.get("DeliverySPSParty") and consignment.text_of("DeliverySPSParty", "SpecifiedSPSAddress", "CountryID"))
                           or consignment.text_of("ConsigneeSPSParty", "SpecifiedSPSAddress", "CountryID"))
    lang1, lang2 = _default_languages(reference, destination_country, language, destination_language)
    langs = (lang1, lang2)

    _map_document(m, doc, langs)
    _map_consignment(m, consignment, doc, langs, reference)
    _map_signatories(m, doc, langs)

    result = {
        "model": model.id, "reference": reference, "version": 1,
        "environment": environment or DEFAULT_ENVIRONMENT.value,
        "language": lang1, "destination_language": lang2,
        "issued_at": issued_at, "source": "sps", "fields": m.fields,
    }
    return result, m.origin


def _map_document(m: _Mapped, doc: _Node, langs: tuple[str, ...]) -> None:
    name = doc.get("Name")
    if name is not None:
        m.set("certificate_model", _pick_language(doc.all("Name"), langs), name.path)
    for note in doc.all("IncludedSPSNote"):
        subject = note.text_of("SubjectCode")
        code, content = note.text_of("ContentCode"), note.text_of("Content")
        if subject == "TRANSPORT_CONDITIONS" and code:
            m.set("transport_conditions", code, note.path)
        elif subject == "ESTIMATED_JOURNEY_TIME" and content:
            m.set("journey_time", content, note.path)
        elif subject == "JOURNEY_LOG" and code:
            m.set("journey_log", {"YES": "yes", "NO": "no"}.get(code.upper(), code.lower()), note.path)
        elif subject == "LOCAL_REFERENCE" and content:
            m.set("local_reference", content, note.path)
    documents = []
    for ref in doc.all("ReferenceSPSReferencedDocument"):
        if ref.text_of("RelationshipTypeCode") == "CAW" or not ref.text_of("ID"):
            continue  # CAW: the certificate's own reference
        ident = ref.get("ID")
        row = {"type": _DOCUMENT_TYPES.get(ref.text_of("TypeCode") or "", "other"), "reference": ident.text}
        issued = _date(ref.text_of("IssueDateTime", "DateTime") or ref.text_of("IssueDateTime"))
        if issued:
            row["date_of_issue"] = issued
        agency = ident.attr("schemeAgencyID")
        if agency and re.fullmatch(r"[A-Z]{2}", agency):
            row["country"] = agency
        documents.append(row)
    box = m.model.field_boxes.get("accompanying_documents")
    if documents and box is not None:
        types = {c.key: [o.key for o in c.options] for c in box.columns if c.type == "choice"}.get("type", [])
        for row in documents:
            if row["type"] not in types:
                row["type"] = "other"
        m.set("accompanying_documents", documents, f"{doc.path}/ReferenceSPSReferencedDocument")


def _transport(node: _Node, documents: list[str]) -> dict | None:
    mode = _TRANSPORT_MODES.get(node.text_of("ModeCode") or "")
    ident = node.text_of("ID") or node.text_of("UsedSPSTransportMeans", "Name")
    if not mode or not ident:
        return None
    value = {"mode": mode, "identification": ident}
    if documents:
        value["document"] = documents[0]
    return value


def _map_consignment(m: _Mapped, c: _Node, doc: _Node, langs: tuple[str, ...], reference: str) -> None:
    parties = {
        "consignor": "ConsignorSPSParty", "consignee": "ConsigneeSPSParty",
        "place_of_destination": "DeliverySPSParty", "place_of_dispatch": "DespatchSPSParty",
        "transporter": "CarrierSPSParty",
    }
    for name, element in parties.items():
        node = c.get(element)
        _fit_party(m, name, _party(node, langs), node.path if node else "")
    agent = c.get("CustomsTransitAgentSPSParty")
    if agent is not None:
        for name in ("operator_responsible", "assembly_operator"):
            _fit_party(m, name, _party(agent, langs), agent.path)
    # Competent authorities (INTRA / EXPORT): the activity-authorised parties of the country.
    for sub in (c.get("ExportSPSCountry") or c).all("SubordinateSPSCountrySubDivision"):
        for party in sub.all("ActivityAuthorizedSPSParty"):
            role = party.text_of("RoleCode")
            target = {"RA": "central_authority", "VG": "local_authority"}.get(role or "")
            if target:
                m.set(target, party.text_of("Name"), party.path)

    export_country = c.text_of("ExportSPSCountry", "ID")
    consignor_country = c.text_of("ConsignorSPSParty", "SpecifiedSPSAddress", "CountryID")
    dispatch = export_country or c.text_of("DespatchSPSParty", "SpecifiedSPSAddress", "CountryID") or consignor_country
    origin_path = f"{c.path}/ExportSPSCountry/ID"
    m.set("country_of_dispatch", dispatch, origin_path)
    lines = c.all("IncludedSPSConsignmentItem")
    items = [item for group in lines for item in group.all("IncludedSPSTradeLineItem")]
    origins = [i.text_of("OriginSPSCountry", "ID") for i in items if i.text_of("OriginSPSCountry", "ID")]
    m.set("country_of_origin", origins[0] if origins else dispatch or _issuing_country(reference), origin_path)
    m.set("country_of_destination", c.text_of("ImportSPSCountry", "ID")
          or c.text_of("DeliverySPSParty", "SpecifiedSPSAddress", "CountryID")
          or c.text_of("ConsigneeSPSParty", "SpecifiedSPSAddress", "CountryID"), f"{c.path}/ImportSPSCountry/ID")

    bcp = c.get("UnloadingBaseportSPSLocation")
    if bcp is not None:
        names = [n for n in bcp.all("Name") if n.attr("languageID")] or bcp.all("Name")
        bcp_name = _pick_language(names, langs)
        m.set("border_control_post", bcp_name, bcp.path)
        m.set("border_control_post_code", bcp.text_of("ID"), f"{bcp.path}/ID")
        m.set("entry_bcp", " ".join(p for p in (bcp.text_of("ID"), bcp_name) if p), bcp.path)
    m.set("departure", _datetime(c.get("ExportExitDateTime")), f"{c.path}/ExportExitDateTime")
    m.set("date_of_departure", _datetime(c.get("ExportExitDateTime")), f"{c.path}/ExportExitDateTime")
    m.set("prior_notification", _datetime(c.get("ArrivalDateTime")), f"{c.path}/ArrivalDateTime")

    transport_docs = [ref.text_of("ID") for ref in doc.all("ReferenceSPSReferencedDocument")
                      if ref.text_of("TypeCode") in ("730", "740", "741", "705", "706") and ref.text_of("ID")]
    for movement in c.all("MainCarriageSPSTransportMovement"):
        scheme = (movement.get("ID").attr("schemeID") if movement.get("ID") else None) or ""
        value = _transport(movement, transport_docs)
        target = "transport_after_bcp" if "after_bcp" in scheme else "means_of_transport"
        m.set(target, value, movement.path)

    seals = []
    for equipment in c.all("UtilizedSPSTransportEquipment"):
        parts = [equipment.text_of("ID")] + [s.text_of("ID") for s in equipment.all("AffixedSPSSeal")]
        text = " / ".join(p for p in parts if p)
        if text:
            seals.append(text)
    if seals:
        m.set("container_seal", "; ".join(seals), f"{c.path}/UtilizedSPSTransportEquipment")

    _map_goods(m, items, langs)


def _map_goods(m: _Mapped, items: list[_Node], langs: tuple[str, ...]) -> None:
    totals = [i for i in items if i.text_of("SequenceNumeric") == "0"]
    lines = [i for i in items if i.text_of("SequenceNumeric") != "0"]
    box = m.model.field_boxes.get("commodities")
    columns = {c.key: c for c in box.columns} if box else {}
    rows = []
    for item in lines:
        classes = {cls.text_of("SystemID"): cls for cls in item.all("ApplicableSPSClassification")}
        cn = classes.get("CN")
        eppo = classes.get("EPPT") or classes.get("EPPO")
        species = _pick_language(item.all("ScientificName"), langs) or (
            _pick_language(eppo.all("ClassName"), langs) if eppo else None)
        cn_names = cn.all("ClassName") if cn else []
        description = item.text_of("Description") or (cn_names[-1].text if cn_names else None)
        package = item.get("PhysicalSPSPackage")
        package_code = package.text_of("TypeCode") if package else None
        package_name = package.get("TypeCode").attr("name") if package and package.get("TypeCode") else None
        packages = _decimal(package.get("ItemQuantity")) if package else None
        net = _decimal(item.get("NetWeightMeasure"))
        row = {
            "cn_code": cn.text_of("ClassCode") if cn else None,
            "species": species, "eppo_code": eppo.text_of("ClassCode") if eppo else None,
            "description": description,
            "package_type": _PACKAGES.get(package_code or "", package_name if package_name and len(package_name) <= 40 else package_code),
            "packages": int(packages) if packages is not None and packages >= 0 else None,
            "quantity": str(_number(packages)) if packages else None,
            "net_weight_kg": _number(net),
            "country_of_origin": item.text_of("OriginSPSCountry", "ID"),
            "batch": item.text_of("BatchID") or item.text_of("ProductionBatchID"),
        }
        if columns.get("quantity") is not None and columns["quantity"].type == "integer":
            row["quantity"] = row["packages"] if row["packages"] else 1
        rows.append({k: v for k, v in row.items() if k in columns and v not in (None, "")})
    if rows:
        m.set("commodities", rows, f"{items[0].path}" if items else "")
    total = totals[0] if totals else None
    net = _decimal(total.get("NetWeightMeasure")) if total else None
    gross = _decimal(total.get("GrossWeightMeasure")) if total else None
    if net is None:
        weights = [_decimal(i.get("NetWeightMeasure")) for i in lines]
        net = sum((w for w in weights if w is not None), Decimal(0)) or None
    if net is not None:
        value = {"net_kg": _number(net)}
        if gross is not None and gross >= net:
            value["gross_kg"] = _number(gross)
        m.set("total_weight", value, total.path if total else "SPSConsignment")
    if total is not None and total.get("PhysicalSPSPackage", "ItemQuantity") is not None:
        count = _decimal(total.get("PhysicalSPSPackage", "ItemQuantity"))
        if count is not None and count >= 0:
            m.set("total_packages", int(count), f"{total.path}/PhysicalSPSPackage/ItemQuantity")


def _map_signatories(m: _Mapped, doc: _Node, langs: tuple[str, ...]) -> None:
    for sig in doc.all("SignatorySPSAuthentication"):
        role = sig.text_of("TypeCode")
        provider = sig.get("ProviderSPSParty")
        person = provider.text_of("SpecifiedSPSPerson", "Name") if provider else None
        when = _datetime(sig.get("ActualDateTime"))
        signature = {"name": person or (provider.text_of("Name") if provider else None), "signed_at": when}
        signature = {k: v for k, v in signature.items() if v}
        if role == _SIGNED_PART_I and signature.get("name"):
            m.set("declaration", signature, sig.path)
        elif role == _SIGNED_CERTIFICATION and signature.get("name"):
            box = m.model.field_boxes.get("certifying_officer")
            if box is not None and box.qualification and provider is not None and provider.text_of("Name"):
                signature["qualification"] = provider.text_of("Name")
            m.set("certifying_officer", signature, sig.path)
        for clause in sig.all("IncludedSPSClause"):
            _map_clause(m, clause, langs)


def _map_clause(m: _Mapped, clause: _Node, langs: tuple[str, ...]) -> None:
    ident = clause.text_of("ID")
    contents = clause.all("Content")
    code = next((c.text for c in contents if c.text and not c.attr("languageID")), None)
    wording = _pick_language([c for c in contents if c.attr("languageID")], langs)
    if ident == "HEALTH_CLAUSES":
        texts = {}
        for content in contents:
            if content.text:
                texts[(content.attr("languageID") or "und").lower()] = content.el.text.strip()
        if texts:
            m.set("health_attestation", texts, clause.path)
    elif ident == "PURPOSE" and code:
        target = _PURPOSES.get(code)
        if target:
            m.set(target, wording or True, clause.path)
    elif ident == "DECISION_CONCLUSION" and code:
        target = _DECISIONS.get(code)
        if target:
            m.set(target, wording or True, clause.path)
    elif ident in _CHECKS and code:
        m.set(_CHECKS[ident], _RESULTS.get(code, code.lower()), clause.path)
    elif ident in ("CERTIFIED_AS_OR_FOR", "CERTIFIED_AS", "COMMODITY_INTENDED_FOR") and code:
        m.set("certified_as", code, clause.path)
    elif ident == "CONFORMITY" and code:
        m.set("conformity", {"CONFORMING": "conforming", "NON_CONFORMING": "non_conforming"}.get(code, code), clause.path)


def parse_sps(data: bytes, *, language: str | None = None, destination_language: str | None = None,
              environment: str | None = None) -> Certificate:
    """SPS XML bytes → validated Certificate (the XML kept for embedding as certificate.xml).

    An error in a mapped value names the element it came from as well as the field."""
    mapped, origin = sps_to_input(data, language=language, destination_language=destination_language,
                                  environment=environment)
    try:
        return parse_certificate(mapped, source_xml=bytes(data))
    except InputError as exc:
        name = exc.field.split(".")[1].split("[")[0] if exc.field.startswith("fields.") else None
        if name and name in origin:
            raise InputError(f"{origin[name]} ({exc.field})", exc.message) from None
        raise


def looks_like_xml(data: bytes) -> bool:
    head = data.lstrip()[:1]
    return head == b"<" or data.startswith((b"\xef\xbb\xbf<", b"\xff\xfe", b"\xfe\xff"))
