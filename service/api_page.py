"""The verification page and the certificate status page: server-side HTML in the reader's language.

The page's own labels come from `service/web/labels.json` (a small catalog of this page, kept
apart from the certificate catalogs in `locales/`). The language is `?lang=` when given, else
the best match of the browser's Accept-Language, else English. Templates are Jinja2 with
autoescape; the only value emitted unescaped is the labels JSON, escaped for a <script> block.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment as Jinja, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

DEFAULT_LANGUAGE = "en"


def web_dir() -> Any:
    return resources.files("service") / "web"


@lru_cache(maxsize=1)
def catalog() -> Mapping[str, Mapping[str, str]]:
    return json.loads((web_dir() / "labels.json").read_text(encoding="utf-8"))


def languages() -> list[tuple[str, str]]:
    return [(code, labels["language_name"]) for code, labels in catalog().items()]


def choose_language(query_lang: str | None, accept_language: str | None) -> str:
    available = catalog()
    if query_lang and query_lang.strip().lower() in available:
        return query_lang.strip().lower()
    for tag in _accept_language(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in available:
            return primary
    return DEFAULT_LANGUAGE


def _accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (RFC 9110 §12.5.4); q=0 dropped."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:32]):  # bounded: the header is caller-controlled
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        tag = tag.strip().lower()
        if tag and tag != "*" and q > 0:
            ranked.append((-q, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


@lru_cache(maxsize=1)
def _jinja() -> Jinja:
    return Jinja(loader=FileSystemLoader(str(web_dir())), autoescape=select_autoescape(default=True),
                 undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _script_json(value: object) -> Markup:
    """JSON safe inside <script type="application/json">: no `</script>` or `<!--` can appear."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def verify_page(lang: str, *, token_required: bool, max_upload_bytes: int) -> str:
    labels = catalog()[lang]
    return _jinja().get_template("verify.html.j2").render(
        lang=lang, t=labels, languages=languages(), token_required=token_required,
        max_upload_bytes=max_upload_bytes, labels_json=_script_json(labels),
    )


def certificate_page(lang: str, document: Mapping[str, Any]) -> str:
    return _jinja().get_template("certificate.html.j2").render(
        lang=lang, t=catalog()[lang], languages=languages(), doc=document,
    )
