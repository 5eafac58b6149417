"""The trimmed user-agent sheet (templates/base/user-agent.css) must cover every HTML element
the templates produce: an element missing there would silently lose WeasyPrint's defaults
(display, margins ...) and change the printed certificate."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from renderers.html import render_html
from renderers.resources import templates_dir
from renderers.model import parse_certificate
from renderers.samples import list_samples

# Drawn by WeasyPrint's SVG renderer, which does not use CSS user-agent rules.
SVG_ELEMENTS = {"svg", "g", "line", "path", "rect", "text", "tspan", "circle", "polygon", "polyline"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._svg_depth = 0

    def handle_starttag(self, tag, attrs):
        if self._svg_depth == 0 and tag != "svg":
            self.names.add(tag)
        if tag == "svg":
            self._svg_depth += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg_depth -= 1


def _covered_elements() -> set[str]:
    css = (templates_dir() / "base" / "user-agent.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = " ".join(re.findall(r"([^{}]+)\{", css))
    return set(re.findall(r"(?<![-\w.#:\[@])([a-z][a-z0-9]*)\b(?![-\w]*[=\]])", selectors))


def test_every_element_of_every_sample_has_its_user_agent_rules():
    covered = _covered_elements()
    assert {"table", "td", "p", "div", "thead"} <= covered  # the sheet was read
    seen: set[str] = set()
    for sample in list_samples():
        parser = _Elements()
        parser.feed(render_html(parse_certificate(json.loads(sample.path.read_text(encoding="utf-8")))))
        seen |= parser.names
    # span has no user-agent rules at all: it is inline by default.
    missing = seen - covered - {"span"}
    assert not missing, f"add WeasyPrint's rules for {sorted(missing)} to templates/base/user-agent.css"
