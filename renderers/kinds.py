"""Box kinds: how one box's input value is validated, what typed value it becomes, and its
JSON Schema. Validation and schema live side by side so they cannot drift apart.

A model file (templates/models/*/model.toml) names a kind per box; adding a model never
touches this module unless it needs a genuinely new shape of data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from renderers.errors import InputError

from renderers.clauses import MAX_CLAUSE_TEXT, ClauseText, parse_clauses

if TYPE_CHECKING:
    from renderers.model import BoxSpec, ColumnSpec


# ------------------------------------------------------------------------- typed values

@dataclass(frozen=True)
class Party:
    """An operator or place: a party box (consignor, consignee, place of destination, ...)."""

    name: str
    address: str
    country: str
    approval_number: str | None = None


@dataclass(frozen=True)
class Transport:
    mode: str  # an option key of the box
    identification: str
    document: str | None = None  # international transport document


@dataclass(frozen=True)
class Weights:
    net_kg: Decimal
    gross_kg: Decimal | None = None


@dataclass(frozen=True)
class Signature:
    name: str
    signed_at: datetime | None = None
    qualification: str | None = None  # "Qualification and title" of a certifying officer


TableRow = Mapping[str, object]


@dataclass(frozen=True)
class Clauses:
    """Attestation text (Part II health clauses), per language: language code → parsed text.
    The input may give one text (language "und", undetermined) or one per language."""

    texts: Mapping[str, "ClauseText"]

    def pick(self, *languages: str) -> tuple[str, "ClauseText"] | None:
        """The text in the first of `languages` that has one, else the first text given."""
        for language in languages:
            if language in self.texts:
                return language, self.texts[language]
        for language, text in self.texts.items():
            return language, text
        return None


# ------------------------------------------------------------------------------- errors

class BoxInputError(InputError):
    """An InputError inside a box: names the field path and the box it belongs to, e.g.
    `fields.consignor.country (box I.1 Consignor/Exporter): unknown country code 'QQ'`."""

    def __init__(self, field: str, message: str, box: "BoxSpec") -> None:
        super().__init__(field, message)
        self.box_id = box.id
        self.args = (f"{field} (box {box.id} {box.label}): {message}",)


@dataclass(frozen=True)
class _Ctx:
    path: str
    box: "BoxSpec"

    def at(self, suffix: str | int) -> "_Ctx":
        sep = f"[{suffix}]" if isinstance(suffix, int) else f".{suffix}"
        return _Ctx(self.path + sep, self.box)

    def error(self, message: str) -> BoxInputError:
        return BoxInputError(self.path, message, self.box)


# ---------------------------------------------------------------------- scalar checkers

MAX_TEXT = 2000
MAX_SHORT = 300
MAX_ROWS = 1000
MAX_AMOUNT = Decimal(10) ** 9
# C0/C1 controls have no business in a certificate and confuse PDF text extraction; only
# newlines survive, in fields that are allowed several lines.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def text(raw: object, ctx: _Ctx, *, multiline: bool = False, max_len: int = MAX_TEXT,
         required: bool = True, pattern: str | None = None) -> str | None:
    if raw is None:
        if required:
            raise ctx.error("compulsory")
        return None
    if not isinstance(raw, str):
        raise ctx.error(f"expected a string, got {_json_type(raw)}")
    value = raw.replace("\r\n", "\n").strip()
    if not value:
        if required:
            raise ctx.error("compulsory")
        return None
    if (_CONTROL if multiline else _CONTROL_ONE_LINE).search(value):
        raise ctx.error("contains control characters")
    if len(value) > max_len:
        raise ctx.error(f"too long ({len(value)} characters, at most {max_len})")
    if pattern and not re.fullmatch(pattern, value):
        raise ctx.error(f"{value!r} does not match the format {pattern}")
    return value


def country(raw: object, ctx: _Ctx, *, required: bool = True) -> str | None:
    from renderers.i18n import is_country_code

    value = text(raw, ctx, max_len=8, required=required)
    if value is None:
        return None
    if not is_country_code(value):
        raise ctx.error(f"unknown country code {value!r} (expected ISO 3166-1 alpha-2, e.g. 'KE')")
    return value


def parse_date(raw: object, ctx: _Ctx, *, required: bool = True) -> date | None:
    value = text(raw, ctx, max_len=10, required=required)
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ctx.error(f"invalid date {value!r} (expected YYYY-MM-DD)") from None


def iso_datetime(value: str) -> datetime:
    """An ISO 8601 date-time that states its UTC offset; ValueError with a readable message
    otherwise (a local time without offset is ambiguous on an official document)."""
    try:
        if not _DATETIME.match(value):
            raise ValueError
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid date-time {value!r} (expected ISO 8601 with offset, "
                         "e.g. 2026-11-20T10:15:00+01:00)") from None


def parse_datetime(raw: object, ctx: _Ctx, *, required: bool = True) -> datetime | None:
    value = text(raw, ctx, max_len=40, required=required)
    if value is None:
        return None
    try:
        return iso_datetime(value)
    except ValueError as exc:
        raise ctx.error(str(exc)) from None


def integer(raw: object, ctx: _Ctx, *, required: bool = True) -> int | None:
    if raw is None:
        if required:
            raise ctx.error("compulsory")
        return None
    # bool is an int in Python but never a count in JSON.
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ctx.error(f"expected an integer, got {_json_type(raw)}")
    if not 0 <= raw <= MAX_AMOUNT:
        raise ctx.error(f"out of range ({raw})")
    return raw


def amount(raw: object, ctx: _Ctx, *, required: bool = True) -> Decimal | None:
    if raw is None:
        if required:
            raise ctx.error("compulsory")
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ctx.error(f"expected a number, got {_json_type(raw)}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ctx.error(f"not a number: {raw!r}") from None
    if not value.is_finite() or not Decimal(0) < value <= MAX_AMOUNT:
        raise ctx.error(f"out of range ({raw})")
    return value


def option(raw: object, ctx: _Ctx, options: tuple, *, required: bool = True) -> str | None:
    value = text(raw, ctx, max_len=80, required=required)
    if value is None:
        return None
    keys = [o.key for o in options]
    if value not in keys:
        raise ctx.error(f"unknown option {value!r} (expected one of: {', '.join(keys)})")
    return value


def _object(raw: object, ctx: _Ctx, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ctx.error(f"expected an object, got {_json_type(raw)}")
    for key in raw:
        if key not in allowed:
            raise ctx.at(str(key)).error(f"unknown property (expected: {', '.join(allowed)})")
    return raw


def _json_type(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "boolean"
    if isinstance(raw, (int, float)):
        return "number"
    if isinstance(raw, str):
        return "string"
    if isinstance(raw, list):
        return "array"
    if isinstance(raw, dict):
        return "object"
    return type(raw).__name__


# ------------------------------------------------------------------------------ kinds

@dataclass(frozen=True)
class Kind:
    name: str
    parse: Callable[[object, _Ctx], object]
    schema: Callable[["BoxSpec"], dict]
    # Whether a raw input value counts as "not filled in": such a value is treated as absent
    # (compulsory error, or a struck-through box).
    is_empty: Callable[[object], bool] = lambda raw: raw is None or raw == "" or raw == [] or raw == {}


_STR = {"type": "string", "minLength": 1}
_COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2 code"}
_DATE_S = {"type": "string", "format": "date"}
_DATETIME_S = {"type": "string", "format": "date-time"}


def _options_schema(options) -> dict:
    return {"type": "string", "enum": [o.key for o in options]}


def _parse_party(raw: object, ctx: _Ctx) -> Party:
    allowed = ("name", "address", "country") + (("approval_number",) if ctx.box.approval_number else ())
    obj = _object(raw, ctx, allowed)
    return Party(
        name=text(obj.get("name"), ctx.at("name"), max_len=MAX_SHORT),
        address=text(obj.get("address"), ctx.at("address"), multiline=True, max_len=MAX_SHORT * 2),
        country=country(obj.get("country"), ctx.at("country")),
        approval_number=text(obj.get("approval_number"), ctx.at("approval_number"), max_len=80,
                             required=False) if ctx.box.approval_number else None,
    )


def _party_schema(box: "BoxSpec") -> dict:
    props = {
        "name": {**_STR, "maxLength": MAX_SHORT},
        "address": {**_STR, "maxLength": MAX_SHORT * 2, "description": "several lines separated by \\n"},
        "country": _COUNTRY,
    }
    if box.approval_number:
        props["approval_number"] = {"type": "string", "maxLength": 80}
    return {"type": "object", "required": ["name", "address", "country"], "properties": props,
            "additionalProperties": False}


def _parse_transport(raw: object, ctx: _Ctx) -> Transport:
    obj = _object(raw, ctx, ("mode", "identification", "document"))
    return Transport(
        mode=option(obj.get("mode"), ctx.at("mode"), ctx.box.options),
        identification=text(obj.get("identification"), ctx.at("identification"), max_len=MAX_SHORT),
        document=text(obj.get("document"), ctx.at("document"), max_len=MAX_SHORT, required=False),
    )


def _transport_schema(box: "BoxSpec") -> dict:
    return {"type": "object", "required": ["mode", "identification"], "additionalProperties": False,
            "properties": {"mode": _options_schema(box.options),
                           "identification": {**_STR, "maxLength": MAX_SHORT},
                           "document": {"type": "string", "maxLength": MAX_SHORT,
                                        "description": "international transport document"}}}


def _parse_weights(raw: object, ctx: _Ctx) -> Weights:
    obj = _object(raw, ctx, ("net_kg", "gross_kg"))
    net = amount(obj.get("net_kg"), ctx.at("net_kg"))
    gross = amount(obj.get("gross_kg"), ctx.at("gross_kg"), required=False)
    if gross is not None and gross < net:
        raise ctx.at("gross_kg").error("gross weight is less than net weight")
    return Weights(net, gross)


def _weights_schema(box: "BoxSpec") -> dict:
    number = {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_AMOUNT)}
    return {"type": "object", "required": ["net_kg"], "additionalProperties": False,
            "properties": {"net_kg": number, "gross_kg": number}}


def _parse_signature(raw: object, ctx: _Ctx) -> Signature:
    obj = _object(raw, ctx, ("name", "signed_at") + (("qualification",) if ctx.box.qualification else ()))
    return Signature(name=text(obj.get("name"), ctx.at("name"), max_len=MAX_SHORT),
                     signed_at=parse_datetime(obj.get("signed_at"), ctx.at("signed_at"), required=False),
                     qualification=text(obj.get("qualification"), ctx.at("qualification"), max_len=MAX_SHORT,
                                        required=False) if ctx.box.qualification else None)


def _signature_schema(box: "BoxSpec") -> dict:
    props = {"name": {**_STR, "maxLength": MAX_SHORT}, "signed_at": _DATETIME_S}
    if box.qualification:
        props["qualification"] = {"type": "string", "maxLength": MAX_SHORT}
    return {"type": "object", "required": ["name"], "additionalProperties": False, "properties": props}


def _parse_choice(raw: object, ctx: _Ctx) -> str | tuple[str, ...]:
    if ctx.box.multiple:
        if not isinstance(raw, list):
            raise ctx.error(f"expected an array of options, got {_json_type(raw)}")
        keys = tuple(option(item, ctx.at(i), ctx.box.options) for i, item in enumerate(raw))
        if len(set(keys)) != len(keys):
            raise ctx.error("an option is listed twice")
        return keys
    return option(raw, ctx, ctx.box.options)


def _choice_schema(box: "BoxSpec") -> dict:
    if box.multiple:
        return {"type": "array", "items": _options_schema(box.options), "minItems": 1, "uniqueItems": True}
    return _options_schema(box.options)


def _parse_flag(raw: object, ctx: _Ctx) -> bool:
    if raw is not True:
        raise ctx.error(f"expected true (leave the field out when the box does not apply), got {raw!r}")
    return True


def _column_value(column: "ColumnSpec", raw: object, ctx: _Ctx) -> object:
    required = column.required
    if column.type == "text":
        return text(raw, ctx, max_len=MAX_SHORT, required=required, pattern=column.pattern)
    if column.type == "integer":
        return integer(raw, ctx, required=required)
    if column.type in ("number", "weight"):
        return amount(raw, ctx, required=required)
    if column.type == "country":
        return country(raw, ctx, required=required)
    if column.type == "date":
        return parse_date(raw, ctx, required=required)
    if column.type == "choice":
        return option(raw, ctx, column.options, required=required)
    raise AssertionError(f"unknown column type {column.type}")  # model.py rejects these at load


COLUMN_TYPES = ("text", "integer", "number", "weight", "country", "date", "choice")


def _parse_table(raw: object, ctx: _Ctx) -> tuple[TableRow, ...]:
    if not isinstance(raw, list):
        raise ctx.error(f"expected an array, got {_json_type(raw)}")
    if len(raw) > MAX_ROWS:
        raise ctx.error(f"too many lines ({len(raw)}, at most {MAX_ROWS})")
    keys = tuple(c.key for c in ctx.box.columns)
    rows = []
    for i, item in enumerate(raw):
        row_ctx = ctx.at(i)
        obj = _object(item, row_ctx, keys)
        rows.append(MappingProxyType({c.key: _column_value(c, obj.get(c.key), row_ctx.at(c.key))
                                      for c in ctx.box.columns}))
    return tuple(rows)


def _column_schema(column: "ColumnSpec") -> dict:
    base: dict
    if column.type == "text":
        base = {"type": "string", "maxLength": MAX_SHORT}
        if column.pattern:
            base["pattern"] = column.pattern
    elif column.type == "integer":
        base = {"type": "integer", "minimum": 0}
    elif column.type in ("number", "weight"):
        base = {"type": "number", "exclusiveMinimum": 0}
    elif column.type == "country":
        base = dict(_COUNTRY)
    elif column.type == "date":
        base = dict(_DATE_S)
    else:
        base = _options_schema(column.options)
    return {**base, "title": column.label}


def _table_schema(box: "BoxSpec") -> dict:
    return {"type": "array", "minItems": 1, "maxItems": MAX_ROWS,
            "items": {"type": "object", "additionalProperties": False,
                      "required": [c.key for c in box.columns if c.required],
                      "properties": {c.key: _column_schema(c) for c in box.columns}}}


_LANG_KEY = re.compile(r"^[a-z]{2,3}$")


def _parse_clauses(raw: object, ctx: _Ctx) -> Clauses:
    if isinstance(raw, str):
        raw = {"und": raw}
    if not isinstance(raw, dict) or not raw:
        raise ctx.error(f"expected attestation text, or an object of texts per language, got {_json_type(raw)}")
    texts: dict[str, ClauseText] = {}
    for language, value in raw.items():
        if not _LANG_KEY.match(str(language)):
            raise ctx.at(str(language)).error("expected a language code such as 'en'")
        body = text(value, ctx.at(language), multiline=True, max_len=MAX_CLAUSE_TEXT)
        texts[language] = parse_clauses(body)
    return Clauses(MappingProxyType(texts))


def _clauses_schema(box: "BoxSpec") -> dict:
    body = {"type": "string", "minLength": 1, "maxLength": MAX_CLAUSE_TEXT,
            "description": "markdown-like: [x] / [ ] boxes, ~~struck~~ alternatives, (1) footnote markers"}
    return {"oneOf": [body, {"type": "object", "minProperties": 1,
                             "propertyNames": {"pattern": _LANG_KEY.pattern},
                             "additionalProperties": body,
                             "description": "the text per language code"}]}


def _text_schema(box: "BoxSpec") -> dict:
    schema = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
    if box.pattern:
        schema["pattern"] = box.pattern
    return schema


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("party", _parse_party, _party_schema),
    Kind("text", lambda raw, ctx: text(raw, ctx, multiline=True, pattern=ctx.box.pattern), _text_schema),
    Kind("country", lambda raw, ctx: country(raw, ctx), lambda box: dict(_COUNTRY)),
    Kind("date", lambda raw, ctx: parse_date(raw, ctx), lambda box: dict(_DATE_S)),
    Kind("datetime", lambda raw, ctx: parse_datetime(raw, ctx), lambda box: dict(_DATETIME_S)),
    Kind("choice", _parse_choice, _choice_schema),
    # A box that is either ticked (true) or does not apply (absent).
    Kind("flag", _parse_flag,
         lambda box: {"type": "boolean", "description": "true: the box applies (ticked); false or absent: struck"},
         is_empty=lambda raw: raw is None or raw is False),
    Kind("integer", lambda raw, ctx: integer(raw, ctx), lambda box: {"type": "integer", "minimum": 0}),
    Kind("number", lambda raw, ctx: amount(raw, ctx), lambda box: {"type": "number", "exclusiveMinimum": 0}),
    Kind("weights", _parse_weights, _weights_schema),
    Kind("transport", _parse_transport, _transport_schema),
    Kind("signature", _parse_signature, _signature_schema),
    Kind("commodities", _parse_table, _table_schema),
    Kind("documents", _parse_table, _table_schema),
    Kind("table", _parse_table, _table_schema),  # any other list of lines (controls, tests)
    # Part II attestation: markdown-like text, tokenized (see renderers.clauses).
    Kind("clauses", _parse_clauses, _clauses_schema),
    # The certificate's own reference (top-level `reference`): no field of its own.
    Kind("reference", lambda raw, ctx: None, lambda box: {}),
)}

TABLE_KINDS = frozenset({"commodities", "documents", "table"})
CHOICE_KINDS = frozenset({"choice", "transport"})  # kinds whose box needs `options`


def parse_box(box: "BoxSpec", raw: object, path: str) -> object:
    return KINDS[box.kind].parse(raw, _Ctx(path, box))
