"""Forget everything rendering caches (Jinja environment, parsed CSS, catalogs, model data).

Rendering caches aggressively because it is on the issuing hot path; a template developer's
preview server calls this when a template, stylesheet, model file or catalog changes on disk.
"""
from __future__ import annotations

from pathlib import Path

from renderers import html, i18n, model, pdf, watermark
from renderers.resources import locales_dir, templates_dir

_WATCHED_SUFFIXES = {".j2", ".css", ".toml", ".po", ".json", ".svg"}


def clear_caches() -> None:
    # A new font configuration too: a stylesheet may now declare other fonts (@font-face), and
    # what was remembered about texts (renderers.first_lines, renderers.drawn_lines, WeasyPrint's
    # struts) and the style templates (renderers.shared_styles) belong to the old one and go
    # with it.
    for fn in (html.jinja_environment, i18n.supported_languages, i18n.document_languages, i18n._translations,
               i18n.translator, model._model_files, model.load_model, pdf._css, pdf.font_configuration,
               watermark._all_phrases):
        fn.cache_clear()


def source_fingerprint() -> tuple[float, int]:
    """Newest modification time and file count of everything a render reads from disk."""
    newest, count = 0.0, 0
    for root in (templates_dir(), locales_dir()):
        for path in Path(root).rglob("*"):
            if path.suffix in _WATCHED_SUFFIXES:
                newest = max(newest, path.stat().st_mtime)
                count += 1
    return newest, count
