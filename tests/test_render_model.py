"""Input model: model files load and check, input is validated at the edge with errors that
name the field, the Certificate is immutable, and the JSON Schema follows the model data."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest

from renderers import kinds
from renderers.environment import Environment
from renderers.errors import InputError
from renderers.model import (
    Certificate, ModelDefinitionError, _build_model, available_models, canonical_json,
    certificate_schema, load_model, parse_certificate,
)
from renderers.samples import list_samples
from _render_helpers import sample


# ------------------------------------------------------------------------ model data

def test_ched_pp_model_is_data():
    model = load_model("CHED-PP")
    assert "CHED-PP" in available_models()
    assert model.reference_prefix == "CHEDPP"
    assert model.box("I.1").label == "Consignor/Exporter"
    assert model.box("I.1").field == "consignor" and model.box("I.1").kind == "party"
    assert model.box("I.1").compulsory and model.box("I.1").part == "I"
    assert model.box("I.31").kind == "commodities"
    ids = [b.id for b in model.boxes]
    assert len(ids) == len(set(ids))
    assert len(model.boxes_in("I")) >= 25
    assert model.boxes_in("II"), "Part II boxes exist"
    assert re.fullmatch(model.reference_pattern, "CHEDPP.BE.2026.0001234")
    assert not re.fullmatch(model.reference_pattern, "CHEDP.BE.2026.0001234")


def test_no_python_module_names_a_box():
    # Box numbering is model data: no renderer module may hard-code a box id.
    import pathlib

    import renderers
    for path in pathlib.Path(renderers.__file__).parent.glob("*.py"):
        assert not re.search(r"[\"']I{1,3}\.\d+[\"']", path.read_text()), path.name


@pytest.mark.parametrize("broken, message", [
    ({"kind": "colour"}, "unknown kind"),
    ({"part": "IV"}, "part 'IV'"),
    ({"layout": "middle"}, "layout"),
    ({"field": "Bad-Name"}, "lower_snake_case"),
    ({"kind": "choice"}, "needs `options`"),
])
def test_model_file_mistakes_are_caught(broken, message):
    raw = {"id": "X", "title": "t", "reference_prefix": "X", "reference_pattern": "^X$",
           "regulation": "r", "template": "t.html.j2", "parts": {"I": {"title": "p"}},
           "boxes": [{"id": "I.1", "label": "l", "field": "f", "kind": "text", "compulsory": True,
                      "part": "I", **broken}]}
    with pytest.raises((ValueError, ModelDefinitionError), match=re.escape(message)):
        _build_model(raw, "x")


# ----------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("s", list_samples(), ids=lambda s: s.name)
def test_every_sample_parses(s):
    cert = parse_certificate(sample(s.name, s.model))
    assert cert.environment is Environment.TRAINING  # demo samples are training documents
    assert json.loads(cert.source_json) == sample(s.name, s.model)


def test_certificate_is_typed_and_immutable():
    cert = parse_certificate(sample("roses-ke-nl"))
    assert isinstance(cert, Certificate)
    assert cert.model.id == "CHED-PP" and cert.reference == "CHEDPP.BE.2026.0001234"
    assert cert.version == 1 and cert.environment is Environment.TRAINING
    assert (cert.language, cert.destination_language) == ("nl", "en")
    assert cert.issued_at.utcoffset().total_seconds() == 3600
    consignor = cert.fields["consignor"]
    assert isinstance(consignor, kinds.Party) and consignor.country == "KE"
    assert str(cert.fields["total_weight"].net_kg) == "2616.5"
    assert cert.fields["commodities"][0]["cn_code"] == "06031100"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.reference = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cert.fields["consignor"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        cert.fields["commodities"][0]["cn_code"] = "x"  # type: ignore[index]
    assert "transfer_to" not in cert.fields  # a box that does not apply is simply absent


def test_source_json_is_canonical():
    data = sample("roses-ke-nl")
    cert = parse_certificate(data)
    assert cert.source_json == canonical_json(data)
    assert cert.source_json == json.dumps(data, sort_keys=True, separators=(",", ":"),
                                          ensure_ascii=False).encode()
    # key order of the input does not change the embedded bytes
    reordered = dict(reversed(list(data.items())))
    assert parse_certificate(reordered).source_json == cert.source_json


def _mutate(path: str, value: object, delete: bool = False) -> dict:
    data = sample("roses-ke-nl")
    *parents, last = re.findall(r"[^.\[\]]+", path)
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key = int(last) if last.isdigit() else last
    if delete:
        del target[key]
    else:
        target[key] = value
    return data


MISSING = object()


@pytest.mark.parametrize("path, value, field, fragment", [
    ("model", "CHED-ZZ", "model", "unknown model"),
    ("model", 3, "model", "unknown model"),
    ("reference", "CHEDPP.BE.26.1234", "reference", "malformed reference"),
    ("reference", "CHEDP.BE.2026.0001234", "reference", "malformed reference"),
    ("reference", "chedpp.be.2026.0001234", "reference", "malformed reference"),
    ("replaces", "CHEDPP.BE.2026.0001234", "replaces", "cannot replace itself"),
    ("language", "xx", "language", "unsupported language"),
    ("language", "NL", "language", "unsupported language"),
    ("destination_language", "xx", "destination_language", "unsupported language"),
    ("environment", "staging", "environment", "unknown environment"),
    ("environment", 1, "environment", "expected a string"),
    ("issued_at", "2026-11-20T10:15:00", "issued_at", "with offset"),
    ("issued_at", "2026-13-20T10:15:00+01:00", "issued_at", "invalid date-time"),
    ("issued_at", 20261120, "issued_at", "expected a string"),
    ("version", "1", "version", "integer"),
    ("version", True, "version", "integer"),
    ("version", 0, "version", "integer"),
    ("fields", [], "fields", "expected an object"),
    ("colour", "red", "colour", "unknown property"),
    ("fields.consigner", {"name": "x"}, "fields.consigner", "unknown field"),
    ("fields.consignor", "Naivasha Flower Growers", "fields.consignor", "expected an object"),
    ("fields.consignor.country", "QQ", "fields.consignor.country", "unknown country code 'QQ'"),
    ("fields.consignor.country", "ke", "fields.consignor.country", "unknown country code"),
    ("fields.consignor.name", "", "fields.consignor.name", "compulsory"),
    ("fields.consignor.name", "Bad\x00Name", "fields.consignor.name", "control characters"),
    ("fields.consignor.name", "x" * 301, "fields.consignor.name", "too long"),
    ("fields.consignor.approval_number", "X1", "fields.consignor.approval_number", "unknown property"),
    ("fields.country_of_origin", "XX", "fields.country_of_origin", "unknown country code"),
    ("fields.prior_notification", "tomorrow", "fields.prior_notification", "invalid date-time"),
    ("fields.accompanying_documents.0.date_of_issue", "19/11/2026",
     "fields.accompanying_documents[0].date_of_issue", "invalid date"),
    ("fields.accompanying_documents.0.type", "fax", "fields.accompanying_documents[0].type", "unknown option"),
    ("fields.commodities.0.net_weight_kg", "1440", "fields.commodities[0].net_weight_kg", "expected a number"),
    ("fields.commodities.0.net_weight_kg", -3, "fields.commodities[0].net_weight_kg", "out of range"),
    ("fields.commodities.1.packages", True, "fields.commodities[1].packages", "expected an integer"),
    ("fields.commodities.0.cn_code", "0603-11", "fields.commodities[0].cn_code", "does not match"),
    ("fields.commodities", {}, "fields.commodities", "compulsory"),
    ("fields.certified_as", "decoration", "fields.certified_as", "unknown option 'decoration'"),
    ("fields.internal_market", "yes", "fields.internal_market", "expected true"),
    # I.22 and I.23 exclude each other; the later box in model order is reported
    ("fields.transit", "Switzerland", "fields.internal_market", "only one of boxes"),
    ("fields.total_weight.gross_kg", 10, "fields.total_weight.gross_kg", "less than net"),
    ("fields.means_of_transport.mode", "bicycle", "fields.means_of_transport.mode", "unknown option"),
])
def test_bad_input_names_the_field(path, value, field, fragment):
    with pytest.raises(InputError) as caught:
        parse_certificate(_mutate(path, value))
    assert caught.value.field == field
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(field)


@pytest.mark.parametrize("field, box_id, label", [
    ("consignor", "I.1", "Consignor/Exporter"),
    ("commodities", "I.31", "Description of the goods"),
    ("declaration", "I.35", "Declaration"),
    ("country_of_origin", "I.11", "Country of origin"),
])
def test_missing_compulsory_box_names_box_and_field(field, box_id, label):
    with pytest.raises(InputError) as caught:
        parse_certificate(_mutate(f"fields.{field}", None, delete=True))
    assert str(caught.value) == f"fields.{field} (box {box_id} {label}): compulsory"
    assert caught.value.field == f"fields.{field}"
    assert caught.value.box_id == box_id


@pytest.mark.parametrize("key", ["model", "reference", "environment", "language", "issued_at", "fields"])
def test_missing_top_level_key(key):
    with pytest.raises(InputError) as caught:
        parse_certificate(_mutate(key, None, delete=True))
    assert caught.value.field == key


def test_not_an_object():
    with pytest.raises(InputError):
        parse_certificate(["CHED-PP"])


def test_optional_boxes_may_be_left_out():
    data = sample("roses-ke-nl")
    for name in ("local_reference", "transporter", "transport_after_bcp", "container_seal", "documentary_check"):
        del data["fields"][name]
    data["fields"]["region_of_origin"] = ""  # empty text counts as not filled in
    cert = parse_certificate(data)
    assert "transporter" not in cert.fields and "region_of_origin" not in cert.fields


# ------------------------------------------------------------------------------ schema

def test_schema_is_generated_from_the_model():
    schema = certificate_schema("CHED-PP")
    json.dumps(schema)  # serialisable
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    model = load_model("CHED-PP")
    fields = schema["properties"]["fields"]
    assert set(fields["required"]) == {b.field for b in model.boxes if b.field and b.compulsory}
    assert set(fields["properties"]) == {b.field for b in model.boxes if b.field}
    assert fields["additionalProperties"] is False
    assert fields["properties"]["consignor"]["x-box"] == "I.1"
    assert fields["properties"]["certified_as"]["enum"] == [o.key for o in model.box("I.18").options]
    goods = fields["properties"]["commodities"]["items"]
    assert "net_weight_kg" in goods["required"] and goods["properties"]["cn_code"]["pattern"]
    assert schema["properties"]["reference"]["pattern"] == model.reference_pattern
    assert set(schema["properties"]["language"]["enum"]) >= {"en", "nl", "de", "fr"}


def test_schema_for_all_models_branches_per_model():
    schema = certificate_schema()
    assert schema["properties"]["model"]["enum"] == available_models()
    branch = next(b for b in schema["allOf"] if b["if"]["properties"]["model"]["const"] == "CHED-PP")
    assert "consignor" in branch["then"]["properties"]["fields"]["properties"]


@pytest.mark.parametrize("s", list_samples(), ids=lambda s: s.name)
def test_samples_agree_with_the_schema(s):
    # No JSON Schema library is a dependency; check the parts that matter by hand.
    schema = certificate_schema(s.model)
    data = sample(s.name, s.model)
    assert set(schema["required"]) <= set(data)
    assert set(data) <= set(schema["properties"])
    fields = schema["properties"]["fields"]
    assert set(fields["required"]) <= set(data["fields"]) <= set(fields["properties"])
    for name, value in data["fields"].items():
        prop = fields["properties"][name]
        if "enum" in prop:
            assert value in prop["enum"], name
        if prop.get("type") == "object":
            assert set(prop["required"]) <= set(value) <= set(prop["properties"]), name
