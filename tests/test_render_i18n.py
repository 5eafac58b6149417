"""Catalogs: complete for every language, in step with the model data and templates, read
from the .po files; CLDR formatting; watermark phrases per environment and language."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from renderers.environment import Environment
from renderers.i18n import (
    extract_messages, is_country_code, missing_translations, supported_languages, translator,
)
from renderers.model import load_model
from renderers.resources import locales_dir
from renderers.watermark import all_watermark_phrases, watermark_phrase

FOUNDATION_LANGUAGES = ("en", "nl", "de", "fr")
NNBSP = "\u202f"


def test_foundation_languages_have_catalogs():
    assert set(FOUNDATION_LANGUAGES) <= set(supported_languages())


@pytest.mark.parametrize("lang", FOUNDATION_LANGUAGES)
def test_catalog_is_complete(lang):
    assert missing_translations(lang) == []


def test_missing_translations_reports_gaps(tmp_path, monkeypatch):
    # Drop one entry and make another fuzzy in a copy of the nl catalog: both are reported.
    import renderers.i18n as i18n

    src = locales_dir() / "nl" / "LC_MESSAGES" / "messages.po"
    text = src.read_text(encoding="utf-8")
    text = text.replace('msgstr "Afzender/exporteur"', 'msgstr ""')
    text = text.replace('\nmsgid "Consignee/Importer"', '\n#, fuzzy\nmsgid "Consignee/Importer"')
    target = tmp_path / "nl" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")
    monkeypatch.setattr(i18n, "locales_dir", lambda: tmp_path)
    assert i18n.missing_translations("nl") == ["Consignee/Importer", "Consignor/Exporter"]


def test_pot_is_in_step_with_models_and_templates():
    with (locales_dir() / "messages.pot").open("rb") as fh:
        pot = {m.id for m in read_po(fh) if m.id}
    extracted = {m.id for m in extract_messages() if m.id}
    assert pot == extracted, "run renderers.i18n.write_pot() and update the catalogs"


def test_every_model_label_is_a_msgid():
    ids = {m.id for m in extract_messages()}
    model = load_model("CHED-PP")
    for box in model.boxes:
        assert box.label in ids
        assert all(o.label in ids for o in box.options)
        assert all(c.label in ids for c in box.columns)
    assert model.title in ids and model.short_title in ids


@pytest.mark.parametrize("lang, msgid, expected", [
    ("nl", "Consignor/Exporter", "Afzender/exporteur"),
    ("de", "Consignor/Exporter", "Versender/Ausführer"),
    ("fr", "Consignor/Exporter", "Expéditeur/exportateur"),
    ("en", "Consignor/Exporter", "Consignor/Exporter"),
    ("de", "CHED-PP", "GGED-PP"),
    ("fr", "Description of the goods", "Description des marchandises"),
    ("nl", "[Not selected - omitted]", "[Niet geselecteerd - weggelaten]"),
])
def test_translations(lang, msgid, expected):
    assert translator(lang).gettext(msgid) == expected


@pytest.mark.parametrize("lang", ["nl", "de", "fr"])
def test_translated_catalogs_translate(lang):
    # Identical msgstr are allowed (Version, Mode, ...) but must stay the exception.
    t = translator(lang)
    ids = [m.id for m in extract_messages() if m.id]
    same = [i for i in ids if t.gettext(i) == i]
    assert len(same) <= 10, same  # INTRA, Transformation, Description, Type, Mode, Version, ...


def test_formatting_per_language():
    nl, en, de = translator("nl"), translator("en"), translator("de")
    assert nl.format_weight(Decimal("2616.5")) == f"2{NNBSP}616,5\u00a0kg"
    assert en.format_weight(Decimal("2616.5")) == f"2{NNBSP}616.5\u00a0kg"
    assert de.format_number(1620) == f"1{NNBSP}620"
    assert nl.format_date(date(2026, 11, 20)) == "20 november 2026"
    assert de.format_date(date(2026, 11, 20)) == "20. November 2026"
    when = datetime.fromisoformat("2026-11-20T10:15:00+01:00")
    assert nl.format_datetime(when) == "20 november 2026 10:15 (UTC+01:00)"
    assert nl.country_name("KE") == "Kenia" and translator("fr").country_name("DE") == "Allemagne"
    assert translator("fr").country_name("XI") == "Royaume-Uni (Irlande du Nord)"


def test_country_codes():
    assert is_country_code("KE") and is_country_code("XI")
    assert not is_country_code("QQ") and not is_country_code("EU") and not is_country_code("ke")


def test_watermark_phrases():
    assert watermark_phrase(Environment.PRODUCTION, "nl") is None
    assert watermark_phrase(Environment.TRAINING, "en") == "TRAINING — NO LEGAL VALUE"
    assert watermark_phrase(Environment.TRAINING, "nl") == "OPLEIDING — GEEN RECHTSGELDIGHEID"
    phrases = all_watermark_phrases()
    assert phrases[Environment.PRODUCTION] == set()
    assert len(phrases[Environment.TRAINING]) == len(supported_languages())
    assert "RECETTE — SANS VALEUR JURIDIQUE" in phrases[Environment.ACCEPTANCE]
    assert not phrases[Environment.TRAINING] & phrases[Environment.ACCEPTANCE]
