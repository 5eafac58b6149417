"""Translations (gettext catalogs read with Babel) and CLDR formatting, per language.

Catalogs live in `locales/<lang>/LC_MESSAGES/messages.po` with `locales/messages.pot` as the
template. They are compiled in memory at first use (no .mo files to forget to rebuild) and
cached per language. Message ids are the English texts: box labels and options come from the
model files, the rest from the templates and a few Python constants (watermark phrases).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Iterable

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.languages import get_official_languages
from babel.numbers import format_decimal, get_group_symbol
from babel.support import NullTranslations, Translations

from renderers.resources import locales_dir, templates_dir

DOMAIN = "messages"
PROJECT = "certseal"
HEADER_COMMENT = """\
# certseal certificate texts: box labels and options of the certificate models
# (templates/models/*/model.toml), template strings and watermark phrases.
# msgids are the English texts of the regulation; regenerate messages.pot with
# `python -m renderers.i18n pot` and merge it with `python -m renderers.i18n update LANG`.
#"""

# Functions that mark translatable strings in templates: `_1` / `_2` translate into the
# first / second document language; `label`, `inline` and `kv` are bilingual macros.
TEMPLATE_KEYWORDS = ("_1", "_2", "label", "inline", "kv", "gettext")

# Codes TRACES uses that are not ISO 3166 territories in CLDR; their names are msgids.
EXTRA_COUNTRIES = {"XI": "United Kingdom (Northern Ireland)"}
# CLDR "territories" that are groupings or placeholders, not countries.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})

# Narrow no-break space as the digit group separator in every language: the decimal sign
# still follows the language, but "1 234,5" and "1 234.5" cannot be misread as 1.2345 by a
# reader of the other document language.
_GROUP = "\u202f"


def N_(msgid: str) -> str:
    """Mark a Python string as a msgid for extraction; translate it later."""
    return msgid


def _po_path(language: str) -> Path:
    # Documents name languages in BCP 47 ("pt-BR"); gettext directories use POSIX ("pt_BR").
    return locales_dir() / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def supported_languages() -> list[str]:
    """Languages that have a catalog, sorted."""
    return sorted(p.parent.parent.name.replace("_", "-") for p in locales_dir().glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


# The 24 official languages of the Union (TRACES NT prints certificates in all of them) and the
# languages of frequent trading partners. A document may be rendered in any of them even before
# its catalog exists: labels then fall back to the English msgids, while dates, numbers and
# country names already follow the language (CLDR). `Translator.has_catalog` tells which.
EU_LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it",
                "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
PARTNER_LANGUAGES = ("ar", "es-419", "he", "hi", "id", "is", "ja", "ka", "ko", "mk", "nb", "pt-BR", "ru",
                     "sq", "sr", "th", "tr", "uk", "vi", "zh")


@cache
def document_languages() -> list[str]:
    """Languages a document may be rendered in: those with a catalog, plus the EU and partner
    languages that fall back to English labels until their catalog exists. Sorted."""
    return sorted(set(supported_languages()) | set(EU_LANGUAGES) | set(PARTNER_LANGUAGES))


def country_language(country: str | None, *, among: Iterable[str] | None = None) -> str | None:
    """The first official language of `country` (ISO 3166 alpha-2, CLDR order) that is a
    document language (or one of `among`); None when there is none."""
    if not country:
        return None
    allowed = set(among) if among is not None else set(document_languages())
    if country == "XI":
        country = "GB"
    for language in get_official_languages(country, de_facto=True):
        if language in allowed:
            return language
    return None


def _read_catalog(language: str) -> Catalog:
    with _po_path(language).open("rb") as fh:
        return read_po(fh, locale=language.replace("-", "_"), domain=DOMAIN)


@cache
def _translations(language: str) -> Translations | NullTranslations:
    if language not in supported_languages():
        if language in document_languages():
            return NullTranslations()  # English msgids until the catalog exists
        raise LookupError(f"no catalog for language {language!r}")
    buffer = io.BytesIO()
    write_mo(buffer, _read_catalog(language), use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@cache
def _english_territories() -> frozenset[str]:
    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def is_country_code(code: str) -> bool:
    return code in EXTRA_COUNTRIES or code in _english_territories()


@dataclass(frozen=True, eq=False)
class Translator:
    """Everything language-dependent for one document language."""

    language: str
    locale: Locale
    translations: Translations | NullTranslations

    def gettext(self, msgid: str) -> str:
        return self.translations.gettext(msgid)

    @property
    def has_catalog(self) -> bool:
        """False while labels fall back to English (no catalog for this language yet)."""
        return self.language in supported_languages()

    @property
    def rtl(self) -> bool:
        return self.locale.character_order == "right-to-left"

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def country_name(self, code: str) -> str:
        if code in EXTRA_COUNTRIES:
            return self.gettext(EXTRA_COUNTRIES[code])
        return self.locale.territories.get(code, code)

    def format_date(self, value: date) -> str:
        return _babel_date(value, format="long", locale=self.locale)

    def format_datetime(self, value: datetime) -> str:
        """Local time as given, with its UTC offset: no time-zone conversion surprises."""
        offset = value.strftime("%z")
        offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
        return f"{self.format_date(value.date())} {value:%H:%M} ({offset})"

    def format_number(self, value: Decimal | int, pattern: str = "#,##0.###") -> str:
        text = format_decimal(value, format=pattern, locale=self.locale)
        return text.replace(get_group_symbol(self.locale), _GROUP)

    def format_weight(self, kg: Decimal | int) -> str:
        return f"{self.format_number(kg)}\u00a0kg"


@cache
def translator(language: str) -> Translator:
    return Translator(language, Locale.parse(language, sep="-"), _translations(language))


# Module-level shorthands for callers that format a single value.
def gettext(msgid: str, language: str) -> str:
    return translator(language).gettext(msgid)


def country_name(code: str, language: str) -> str:
    return translator(language).country_name(code)


def format_date(value: date, language: str) -> str:
    return translator(language).format_date(value)


def format_datetime(value: datetime, language: str) -> str:
    return translator(language).format_datetime(value)


def format_number(value: Decimal | int, language: str) -> str:
    return translator(language).format_number(value)


def format_weight(kg: Decimal | int, language: str) -> str:
    return translator(language).format_weight(kg)


# ---------------------------------------------------------------- catalog maintenance

# Each source yields (msgid, file, line or None, translator comment or None).
Found = tuple[str, str, "int | None", "str | None"]


def _python_messages() -> Iterable[Found]:
    from renderers import watermark

    for msgid in watermark.WATERMARK_MSGIDS.values():
        yield msgid, "renderers/watermark.py", None, "diagonal watermark and header banner"
    for msgid in EXTRA_COUNTRIES.values():
        yield msgid, "renderers/i18n.py", None, "country name"


def _model_messages() -> Iterable[Found]:
    from renderers.model import available_models, load_model

    for model_id in available_models():
        model = load_model(model_id)
        where = f"templates/models/{model.directory}/model.toml"
        yield model.title, where, None, f"{model.id} legal title"
        yield model.short_title, where, None, f"{model.id} document type (header)"
        for part in model.parts:
            yield part.title, where, None, f"{model.id} part {part.id}"
        for box in model.boxes:
            about = f"{model.id} box {box.id}"
            yield box.label, where, None, about
            for opt in box.options:
                yield opt.label, where, None, f"{about}: option"
            for column in box.columns:
                yield column.label, where, None, f"{about}: column"
                for opt in column.options:
                    yield opt.label, where, None, f"{about}: {column.key} option"
            if box.statement:
                yield box.statement, where, None, f"{about}: declaration text"


def _template_messages() -> Iterable[Found]:
    from jinja2.ext import babel_extract

    root = templates_dir()
    for path in sorted(root.rglob("*.j2")):
        with path.open("rb") as fh:
            for lineno, _func, message, _comments in babel_extract(fh, TEMPLATE_KEYWORDS, [], {}):
                if isinstance(message, str):  # a call with a non-literal argument yields None
                    yield message, f"templates/{path.relative_to(root)}", lineno, None


def extract_messages() -> Catalog:
    """Every msgid the renderer can ask for, from model files, templates and Python."""
    catalog = Catalog(project=PROJECT, domain=DOMAIN, fuzzy=False, header_comment=HEADER_COMMENT,
                      msgid_bugs_address="", copyright_holder="", version="1")
    for source in (_model_messages(), _template_messages(), _python_messages()):
        for msgid, file, line, comment in source:
            existing = catalog.get(msgid)
            comments = [comment] if comment else []
            if existing is not None:
                comments = [c for c in comments if c not in existing.auto_comments]
            catalog.add(msgid, locations=[(file, line)], auto_comments=comments)
    return catalog


def write_pot(path: Path | None = None) -> Path:
    """Regenerate locales/messages.pot (or `path`) from the model files and templates."""
    target = path or locales_dir() / f"{DOMAIN}.pot"
    with target.open("wb") as fh:
        write_po(fh, extract_messages(), width=100, sort_output=True, omit_header=False)
    return target


def update_catalog(language: str) -> Path:
    """Merge new msgids into a language's .po (existing translations kept, stale ones made
    obsolete). Translators then fill the empty msgstrs."""
    catalog = _read_catalog(language)
    catalog.update(extract_messages(), no_fuzzy_matching=True)
    with _po_path(language).open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True, ignore_obsolete=True)
    _translations.cache_clear()
    translator.cache_clear()
    return _po_path(language)


def missing_translations(language: str) -> list[str]:
    """Msgids the renderer uses that `language` lacks or has only fuzzy, sorted."""
    catalog = _read_catalog(language)
    missing = []
    for message in extract_messages():
        if not message.id:
            continue
        entry = catalog.get(message.id)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(message.id)
    return sorted(missing)


def _main(argv: list[str]) -> int:
    """python -m renderers.i18n pot | check | update LANG — until `certseal i18n` exists."""
    if argv[:1] == ["pot"]:
        print(write_pot())
        return 0
    if argv[:1] == ["update"] and len(argv) == 2:
        print(update_catalog(argv[1]))
        return 0
    if argv[:1] == ["check"]:
        status = 0
        for language in supported_languages():
            missing = missing_translations(language)
            for msgid in missing:
                print(f"{language}: missing {msgid!r}")
            status |= bool(missing)
        return status
    print(_main.__doc__)
    return 64


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
