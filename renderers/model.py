"""Certificate models (data files) and the typed, immutable certificate input.

A model is `templates/models/<dir>/model.toml` (+ its template and samples). `load_model`
reads and checks it once; `parse_certificate` validates untrusted JSON-shaped input against
it at the edge and returns a `Certificate` the rest of the pipeline can trust.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import MappingProxyType
from typing import Any, Mapping

from renderers import kinds
from renderers.environment import Environment
from renderers.errors import InputError
from renderers.resources import templates_dir


class ModelDefinitionError(ValueError):
    """A model file is inconsistent. A developer error, found when the model is loaded."""


# ------------------------------------------------------------------------------ specs

@dataclass(frozen=True)
class OptionSpec:
    key: str
    label: str  # English msgid


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table box (commodities, documents)."""

    key: str
    label: str
    type: str  # one of kinds.COLUMN_TYPES
    required: bool = False
    width: int | None = None  # percent of the table width, a layout hint
    pattern: str | None = None
    emphasis: str | None = None  # "italic" for scientific names
    options: tuple[OptionSpec, ...] = ()


@dataclass(frozen=True)
class BoxSpec:
    id: str  # e.g. I.1 — meaningful only within its model and regulation version
    label: str  # English msgid, the official label text
    kind: str
    compulsory: bool
    part: str  # "I", "II", "III"
    field: str | None = None  # input field under `fields`; None for kind "reference"
    layout: str = "full"  # "left" | "right" | "full"
    options: tuple[OptionSpec, ...] = ()
    columns: tuple[ColumnSpec, ...] = ()
    pattern: str | None = None
    exclusive_group: str | None = None  # at most one box of the group may be filled
    approval_number: bool = False  # party boxes: show/accept an approval number
    statement: str | None = None  # signature boxes: the declaration text (msgid)
    seal: bool = False  # signature boxes: reserve the place of the electronic seal
    multiple: bool = False  # choice boxes: several options may be chosen
    qualification: bool = False  # signature boxes: also "Qualification and title"

    @property
    def title(self) -> str:
        return f"box {self.id} {self.label}"


@dataclass(frozen=True)
class PartSpec:
    id: str
    title: str  # msgid
    # A field whose value the running header of this part prints under the document type,
    # e.g. the legal title of the health certificate model on INTRA / EXPORT Part II pages.
    header_field: str | None = None


@dataclass(frozen=True)
class SignaturesSpec:
    """Signatures a model's certificates carry besides the seal (model.toml `[signatures]`).

    A model whose certificates are signed again later (the CHED Part III follow-up, after the
    Part II decision) names the empty PDF signature field the seal reserves for that approval
    signature; the certification then allows exactly that (DocMDP P=2 instead of P=1).
    """

    approval_field: str | None = None  # PDF field name, e.g. "CertsealFollowUp"
    approval_box: str | None = None  # the signature box whose area shows it (CHED: box III.8)
    approval_part: str | None = None  # that box's part (derived), e.g. "III"
    decision_field: str | None = None  # a choice box whose options the approval may state


@dataclass(frozen=True)
class ModelSpec:
    id: str  # "CHED-PP"
    title: str  # msgid of the legal title
    short_title: str  # msgid of the document type printed in the header
    reference_prefix: str  # "CHEDPP"
    reference_pattern: str
    regulation: str
    template: str  # path relative to the templates root
    directory: str  # "ched_pp"
    parts: tuple[PartSpec, ...]
    boxes: tuple[BoxSpec, ...]
    signatures: SignaturesSpec = SignaturesSpec()

    def boxes_in(self, part: str) -> tuple[BoxSpec, ...]:
        return tuple(b for b in self.boxes if b.part == part)

    def box(self, box_id: str) -> BoxSpec:
        for b in self.boxes:
            if b.id == box_id:
                return b
        raise KeyError(box_id)

    @property
    def field_boxes(self) -> Mapping[str, BoxSpec]:
        return MappingProxyType({b.field: b for b in self.boxes if b.field})


# ----------------------------------------------------------------------------- loading

MODELS_DIR = "models"
_LAYOUTS = ("left", "right", "full")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@cache
def _model_files() -> Mapping[str, str]:
    """Model id → model directory name, by reading every models/*/model.toml once."""
    found: dict[str, str] = {}
    root = templates_dir() / MODELS_DIR
    for path in sorted(root.glob("*/model.toml")):
        with path.open("rb") as fh:
            model_id = tomllib.load(fh).get("id")
        if not isinstance(model_id, str):
            raise ModelDefinitionError(f"{path}: missing `id`")
        if model_id in found:
            raise ModelDefinitionError(f"{path}: model id {model_id!r} also defined in {found[model_id]}")
        found[model_id] = path.parent.name
    return MappingProxyType(found)


def available_models() -> list[str]:
    return sorted(_model_files())


@cache
def load_model(model_id: str) -> ModelSpec:
    """The model with this id (e.g. "CHED-PP"). Raises KeyError for an unknown id."""
    directory = _model_files()[model_id]
    path = templates_dir() / MODELS_DIR / directory / "model.toml"
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    try:
        raw["boxes"] = _expand_includes(raw.get("boxes", []))
        return _build_model(raw, directory)
    except (KeyError, TypeError, ValueError, OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelDefinitionError(f"{path}: {exc}") from exc


def _expand_includes(boxes: list[dict]) -> list[dict]:
    """Boxes several models share (e.g. the CHED Part III) live in one file under
    `templates/models/shared/`; a model pulls them in, in place, with a box entry holding only
    `include = "shared/<file>.toml"`. Includes do not nest."""
    root = (templates_dir() / MODELS_DIR).resolve()
    expanded: list[dict] = []
    for entry in boxes:
        if set(entry) != {"include"}:
            expanded.append(entry)
            continue
        path = (root / str(entry["include"])).resolve()
        if not path.is_relative_to(root) or path.suffix != ".toml":
            raise ValueError(f"include {entry['include']!r}: not a .toml file below templates/models")
        with path.open("rb") as fh:
            included = tomllib.load(fh).get("boxes", [])
        if any("include" in b for b in included):
            raise ValueError(f"include {entry['include']!r}: includes do not nest")
        expanded.extend(included)
    return expanded


def _options(raw: list | None) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(key=str(o["key"]), label=str(o["label"])) for o in raw or ())


def _build_model(raw: dict[str, Any], directory: str) -> ModelSpec:
    parts = tuple(PartSpec(id=pid, title=p["title"], header_field=p.get("header_field"))
                  for pid, p in raw.get("parts", {}).items())
    part_ids = {p.id for p in parts}
    boxes: list[BoxSpec] = []
    seen_ids: set[str] = set()
    seen_fields: set[str] = set()
    for b in raw["boxes"]:
        box = BoxSpec(
            id=b["id"], label=b["label"], kind=b["kind"], compulsory=bool(b["compulsory"]),
            part=b["part"], field=b.get("field"), layout=b.get("layout", "full"),
            options=_options(b.get("options")),
            columns=tuple(ColumnSpec(key=c["key"], label=c["label"], type=c["type"],
                                     required=bool(c.get("required", False)), width=c.get("width"),
                                     pattern=c.get("pattern"), emphasis=c.get("emphasis"),
                                     options=_options(c.get("options")))
                          for c in b.get("columns", ())),
            pattern=b.get("pattern"), exclusive_group=b.get("exclusive_group"),
            approval_number=bool(b.get("approval_number", False)), statement=b.get("statement"),
            seal=bool(b.get("seal", False)), multiple=bool(b.get("multiple", False)),
            qualification=bool(b.get("qualification", False)),
        )
        where = f"box {box.id}"
        if box.id in seen_ids:
            raise ValueError(f"{where}: duplicate box id")
        seen_ids.add(box.id)
        if box.kind not in kinds.KINDS:
            raise ValueError(f"{where}: unknown kind {box.kind!r} (known: {', '.join(sorted(kinds.KINDS))})")
        if box.part not in part_ids:
            raise ValueError(f"{where}: part {box.part!r} has no [parts.{box.part}] title")
        if box.layout not in _LAYOUTS:
            raise ValueError(f"{where}: layout must be one of {_LAYOUTS}")
        if box.kind == "reference":
            if box.field:
                raise ValueError(f"{where}: a reference box takes no field")
        else:
            if not box.field or not _FIELD_NAME.match(box.field):
                raise ValueError(f"{where}: `field` must be a lower_snake_case name")
            if box.field in seen_fields:
                raise ValueError(f"{where}: field {box.field!r} used by two boxes")
            seen_fields.add(box.field)
        if box.kind in kinds.CHOICE_KINDS and not box.options:
            raise ValueError(f"{where}: kind {box.kind} needs `options`")
        if box.kind in kinds.TABLE_KINDS:
            if not box.columns:
                raise ValueError(f"{where}: kind {box.kind} needs `columns`")
            for c in box.columns:
                if c.type not in kinds.COLUMN_TYPES:
                    raise ValueError(f"{where}: column {c.key}: unknown type {c.type!r}")
                if c.type == "choice" and not c.options:
                    raise ValueError(f"{where}: column {c.key}: a choice column needs `options`")
        for pattern in [box.pattern] + [c.pattern for c in box.columns]:
            if pattern:
                re.compile(pattern)
        boxes.append(box)
    for part in parts:
        if part.header_field and part.header_field not in seen_fields:
            raise ValueError(f"part {part.id}: header_field {part.header_field!r} is no box's field")
    re.compile(raw["reference_pattern"])
    signatures = _signatures(raw.get("signatures", {}), boxes)
    return ModelSpec(
        id=raw["id"], title=raw["title"], short_title=raw.get("short_title", raw["id"]),
        reference_prefix=raw["reference_prefix"], reference_pattern=raw["reference_pattern"],
        regulation=raw["regulation"], template=f"{MODELS_DIR}/{directory}/{raw['template']}",
        directory=directory, parts=parts, boxes=tuple(boxes), signatures=signatures,
    )


_SIGNATURE_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")  # no "." (a PDF field name separator)
_SIGNATURE_KEYS = ("approval_field", "approval_box", "decision_field")


def _signatures(raw: object, boxes: list[BoxSpec]) -> SignaturesSpec:
    """The `[signatures]` table: an approval field needs the signature box that shows it."""
    if not isinstance(raw, dict):
        raise ValueError("[signatures] must be a table")
    unknown = sorted(set(raw) - set(_SIGNATURE_KEYS))
    if unknown:
        raise ValueError(f"[signatures]: unknown key(s) {', '.join(unknown)} (known: {', '.join(_SIGNATURE_KEYS)})")
    if not raw:
        return SignaturesSpec()
    name, box_id, decision = raw.get("approval_field"), raw.get("approval_box"), raw.get("decision_field")
    if not isinstance(name, str) or not _SIGNATURE_FIELD_NAME.match(name):
        raise ValueError("[signatures] approval_field: a PDF field name (letters, digits, _) is required")
    by_id = {b.id: b for b in boxes}
    box = by_id.get(box_id) if isinstance(box_id, str) else None
    if box is None or box.kind != "signature":
        raise ValueError(f"[signatures] approval_box: {box_id!r} is not a signature box of this model")
    if box.seal:
        raise ValueError(f"[signatures] approval_box: box {box.id} already holds the seal")
    if decision is not None:
        choice = next((b for b in boxes if b.field == decision), None)
        if choice is None or choice.kind != "choice":
            raise ValueError(f"[signatures] decision_field: {decision!r} is not the field of a choice box")
    return SignaturesSpec(approval_field=name, approval_box=box.id, approval_part=box.part, decision_field=decision)


# ------------------------------------------------------------------------- certificate

@dataclass(frozen=True)
class Certificate:
    """A validated certificate. Only `parse_certificate` should build one."""

    model: ModelSpec
    reference: str
    version: int
    environment: Environment
    language: str  # the certifying officer's language: printed first
    destination_language: str  # printed second, lighter
    issued_at: datetime
    fields: Mapping[str, object]  # field name → typed value (see renderers.kinds); absent = empty
    source_json: bytes = field(repr=False)  # canonical JSON of the input, embedded in the PDF
    replaces: str | None = None  # reference of the certificate this one replaces
    # The UN/CEFACT SPS XML the certificate was imported from (embedded as certificate.xml).
    source_xml: bytes | None = field(default=None, repr=False)
    source: str = "json"  # "sps": imported from TRACES data (see renderers.sps)

    def value(self, box: BoxSpec) -> object | None:
        if box.kind == "reference":
            return self.reference
        return self.fields.get(box.field) if box.field else None

    @property
    def bilingual(self) -> bool:
        return self.language != self.destination_language


TOP_LEVEL = ("$schema", "model", "reference", "version", "environment", "language",
             "destination_language", "issued_at", "replaces", "source", "fields")
# "sps": the data comes from a certificate TRACES NT has already validated and issued (UN/CEFACT
# SPS XML). Its compulsory boxes are then printed as they were issued, even empty (not struck),
# instead of refusing the certificate; every other rule still applies.
SOURCES = ("json", "sps")
_REQUIRED_TOP = ("model", "reference", "version", "environment", "language",
                 "destination_language", "issued_at", "fields")


def canonical_json(data: object) -> bytes:
    """One byte sequence per JSON value: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def parse_certificate(data: object, *, source_xml: bytes | None = None) -> Certificate:
    """Validate certificate input (a decoded JSON object) and return a `Certificate`.

    Raises `InputError` naming the offending field for any problem. `source_xml` is the SPS
    XML the input was mapped from (renderers.sps), kept to be embedded beside the JSON.
    """
    from renderers.i18n import document_languages

    if not isinstance(data, dict):
        raise InputError("$", "a certificate is a JSON object")
    for key in data:
        if key not in TOP_LEVEL:
            raise InputError(str(key), f"unknown property (expected: {', '.join(TOP_LEVEL[1:])})")
    for key in _REQUIRED_TOP:
        if key not in data or data[key] is None:
            raise InputError(key, "missing")

    model_id = data["model"]
    if not isinstance(model_id, str) or model_id not in _model_files():
        raise InputError("model", f"unknown model {model_id!r} (available: {', '.join(available_models())})")
    model = load_model(model_id)

    reference = _reference(data["reference"], "reference", model)
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 9999:
        raise InputError("version", f"expected an integer from 1, got {version!r}")
    if not isinstance(data["environment"], str):
        raise InputError("environment", f"expected a string, got {data['environment']!r}")
    environment = Environment.parse(data["environment"], field="environment")

    source = data.get("source", "json")
    if source not in SOURCES:
        raise InputError("source", f"expected one of {', '.join(SOURCES)}, got {source!r}")
    languages = document_languages()
    for key in ("language", "destination_language"):
        if isinstance(data[key], str) and "_" in data[key]:
            data = {**data, key: data[key].replace("_", "-")}  # accept POSIX spelling, keep BCP 47
        if data[key] not in languages:
            raise InputError(key, f"unsupported language {data[key]!r} (supported: {', '.join(languages)})")

    issued_at = _issued_at(data["issued_at"])
    replaces = None
    if data.get("replaces") is not None:
        replaces = _reference(data["replaces"], "replaces", model)
        if replaces == reference:
            raise InputError("replaces", "a certificate cannot replace itself")

    fields_raw = data["fields"]
    if not isinstance(fields_raw, dict):
        raise InputError("fields", "expected an object")
    by_field = model.field_boxes
    for name in fields_raw:
        if name not in by_field:
            raise InputError(f"fields.{name}", f"unknown field (not a box of {model.id})")

    values: dict[str, object] = {}
    for box in model.boxes:
        if box.kind == "reference":
            continue
        path = f"fields.{box.field}"
        raw = fields_raw.get(box.field)
        if kinds.KINDS[box.kind].is_empty(raw):
            if box.compulsory and source != "sps":
                raise kinds.BoxInputError(path, "compulsory", box)
            continue
        values[box.field] = kinds.parse_box(box, raw, path)
    _check_exclusive_groups(model, values)

    try:
        source_bytes = canonical_json(data)
    except (TypeError, ValueError) as exc:
        raise InputError("$", f"not JSON data: {exc}") from None
    return Certificate(
        model=model, reference=reference, version=version, environment=environment,
        language=data["language"], destination_language=data["destination_language"],
        issued_at=issued_at, fields=MappingProxyType(values), source_json=source_bytes, replaces=replaces,
        source_xml=source_xml, source=source,
    )


def _reference(raw: object, key: str, model: ModelSpec) -> str:
    if not isinstance(raw, str) or not re.fullmatch(model.reference_pattern, raw):
        raise InputError(key, f"malformed reference {raw!r} for {model.id} "
                              f"(expected e.g. {model.reference_prefix}.BE.2026.0001234)")
    return raw


def _issued_at(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise InputError("issued_at", f"expected a string, got {raw!r}")
    try:
        return kinds.iso_datetime(raw.strip())
    except ValueError as exc:
        raise InputError("issued_at", str(exc)) from None


def _check_exclusive_groups(model: ModelSpec, values: Mapping[str, object]) -> None:
    groups: dict[str, list[BoxSpec]] = {}
    for box in model.boxes:
        if box.exclusive_group and box.field in values:
            groups.setdefault(box.exclusive_group, []).append(box)
    for filled in groups.values():
        if len(filled) > 1:
            first, second = filled[0], filled[1]
            raise kinds.BoxInputError(
                f"fields.{second.field}",
                f"only one of boxes {', '.join(b.id for b in model.boxes if b.exclusive_group == second.exclusive_group)} "
                f"may be filled (box {first.id} is already)", second)


# ------------------------------------------------------------------------------ schema

def certificate_schema(model_id: str | None = None) -> dict:
    """JSON Schema (draft 2020-12) of the certificate input, generated from the model files.

    With `model_id`, the schema of that model only; otherwise one schema accepting every
    available model (its `fields` checked per model with if/then).
    """
    from renderers.i18n import document_languages

    model_ids = [model_id] if model_id else available_models()
    models = [load_model(m) for m in model_ids]
    languages = document_languages()
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://certseal.example/schema/certificate.json",
        "title": "certseal certificate input",
        "description": (
            "A validated official certificate to render and seal. `fields` holds one entry per "
            "box of the model (see each property's title for the box number); leave a field out "
            "when its box does not apply — it is then printed struck through."),
        "type": "object",
        "additionalProperties": False,
        "required": list(_REQUIRED_TOP),
        "properties": {
            "$schema": {"type": "string"},
            "model": {"enum": model_ids, "description": "certificate model id"},
            "reference": {"type": "string", "description": "IMSOC reference, e.g. CHEDPP.BE.2026.0001234"},
            "version": {"type": "integer", "minimum": 1, "maximum": 9999,
                        "description": "issue number of this reference; a replacement has a higher version"},
            "environment": {"enum": [e.value for e in Environment]},
            "language": {"enum": languages, "description": "certifying officer's language, printed first"},
            "destination_language": {"enum": languages, "description": "destination's language, printed second"},
            "issued_at": {"type": "string", "format": "date-time", "description": "with UTC offset"},
            "replaces": {"type": "string", "description": "reference of the certificate this one replaces"},
            "source": {"enum": list(SOURCES), "default": "json",
                       "description": "sps: mapped from an issued TRACES certificate (UN/CEFACT SPS XML); "
                                      "its compulsory boxes may then be empty"},
            "fields": {"type": "object"},
        },
    }
    branches = [_model_branch(m) for m in models]
    if model_id:
        schema["properties"]["reference"]["pattern"] = models[0].reference_pattern
        schema["properties"]["replaces"]["pattern"] = models[0].reference_pattern
        schema["properties"]["fields"] = branches[0]["then"]["properties"]["fields"]
    else:
        schema["allOf"] = branches
    return schema


def _model_branch(model: ModelSpec) -> dict:
    properties = {}
    for box in model.boxes:
        if not box.field:
            continue
        prop = kinds.KINDS[box.kind].schema(box)
        prop["title"] = f"{box.id} {box.label}"
        prop["x-box"] = box.id
        prop["x-compulsory"] = box.compulsory
        if box.exclusive_group:
            prop["x-exclusive-group"] = box.exclusive_group  # at most one box of the group filled
        properties[box.field] = prop
    fields_schema = {
        "type": "object", "additionalProperties": False, "properties": properties,
        "required": [b.field for b in model.boxes if b.field and b.compulsory],
    }
    return {
        "if": {"properties": {"model": {"const": model.id}}, "required": ["model"]},
        "then": {"properties": {
            "reference": {"pattern": model.reference_pattern},
            "replaces": {"pattern": model.reference_pattern},
            "fields": fields_schema,
        }},
    }
