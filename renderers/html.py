"""Certificate → HTML in two languages, with Jinja2.

One Jinja environment for the process: autoescape on, StrictUndefined, templates from the
packaged `templates/` directory. Templates receive a view of the certificate (`doc`) and two
translation functions, `_1` (the certifying officer's language) and `_2` (the destination's).
Input values only ever reach the HTML as escaped text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import jinja2
from markupsafe import Markup

from renderers.clauses import ClauseText
from renderers.i18n import Translator, document_languages, translator
from renderers.kinds import Clauses
from renderers.model import BoxSpec, Certificate, ModelSpec, PartSpec
from renderers.kinds import TABLE_KINDS
from renderers.qr import QrCode, qr_code, verification_url
from renderers.resources import templates_dir
from renderers.watermark import WatermarkLine, watermark_lines, watermark_phrases


@cache
def jinja_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are package data; no stat() per render
    )


# ------------------------------------------------------------------------- view model

@dataclass(frozen=True)
class BoxView:
    spec: BoxSpec
    value: object

    @property
    def empty(self) -> bool:
        return self.value is None

    @property
    def struck(self) -> bool:
        # Annex II: boxes not filled in appear struck through. A seal box stays open: the
        # electronic seal goes there whatever else is filled in. A compulsory box can only be
        # empty on a certificate imported as TRACES issued it (source "sps"): it stays open
        # too, rather than claim the box does not apply.
        return self.empty and not self.spec.seal and not self.spec.compulsory

    @property
    def breakable(self) -> bool:
        """Long tables and attestations may run over pages; every other box is kept in one piece."""
        return self.spec.kind in TABLE_KINDS or self.spec.kind == "clauses"


@dataclass(frozen=True)
class ClauseVersion:
    language: str  # "und" when the input did not say
    text: ClauseText
    second: bool

    @property
    def attrs(self) -> Markup:
        if self.language == "und":
            return Markup("")
        rtl = self.language in document_languages() and translator(self.language).rtl
        return Markup(' lang="{}"').format(self.language) + (Markup(' dir="rtl"') if rtl else Markup(""))


@dataclass
class RowView:
    left: list[BoxView] = field(default_factory=list)
    right: list[BoxView] = field(default_factory=list)
    full: BoxView | None = None


@dataclass(frozen=True)
class PartView:
    spec: PartSpec
    rows: tuple[RowView, ...]


# Languages that base/certificate.css sets in fonts of their own (`:lang(..) { font-family }`);
# tests/test_render_html.py keeps the two in step.
LANGUAGES_WITH_OWN_FONTS = frozenset({"ar", "he", "ja", "ko", "zh"})


@dataclass(frozen=True)
class DocumentView:
    cert: Certificate
    model: ModelSpec
    t1: Translator
    t2: Translator
    url: str
    qr: QrCode
    watermark: tuple[str, ...]
    parts: tuple[PartView, ...]

    def header_value(self, part: PartSpec) -> object | None:
        return self.cert.fields.get(part.header_field) if part.header_field else None

    @property
    def watermark_lines(self) -> tuple[WatermarkLine, ...]:
        return watermark_lines(self.watermark)

    @property
    def bilingual(self) -> bool:
        return self.cert.bilingual

    @property
    def languages(self) -> tuple[str, ...]:
        return (self.cert.language, self.cert.destination_language) if self.bilingual else (self.cert.language,)

    def clause_versions(self, clauses: Clauses) -> tuple["ClauseVersion", ...]:
        """The attestation text(s) to print: the first document language's (or, lacking it, the
        text as given), then the second language's beneath it when the input has one."""
        first = clauses.pick(self.cert.language, "und", "en")
        if first is None:
            return ()
        versions = [ClauseVersion(*first, second=False)]
        if self.bilingual:
            second = clauses.pick(self.cert.destination_language)
            if second and second[0] == self.cert.destination_language and second[0] != first[0]:
                versions.append(ClauseVersion(*second, second=True))
        return tuple(versions)

    @property
    def a1(self) -> Markup:
        """Attributes of a first-language span: its direction when it is not left-to-right
        (the page itself keeps the left-to-right grid of the regulation's templates)."""
        return Markup(' dir="rtl"') if self.t1.rtl else Markup("")

    @property
    def joined_separator(self) -> bool:
        """Whether the " / " before inline second-language text goes inside that text's span
        instead of a span of its own (same style): one inline box less per label, about 3 % of
        a CHED-PP render. Only where the span draws the separator as the page would: left to
        right (in a right-to-left span it would land at the wrong end) and in the page's
        font (certificate.css gives these languages fonts of their own)."""
        language = self.cert.destination_language.split("-")[0]
        return not self.t2.rtl and language not in LANGUAGES_WITH_OWN_FONTS

    @property
    def a2(self) -> Markup:
        """Attributes of a second-language span: its language (fonts, shaping, hyphenation
        follow it) and its direction."""
        attrs = Markup(' lang="{}"').format(self.cert.destination_language)
        return attrs + (Markup(' dir="rtl"') if self.t2.rtl else Markup(""))


def layout_rows(boxes: tuple[BoxView, ...]) -> tuple[RowView, ...]:
    """Group boxes into rows: a run of `left` boxes then a run of `right` boxes share a row
    (each run stacked in its column); a `full` box is a row of its own."""
    rows: list[RowView] = []
    current: RowView | None = None
    for box in boxes:
        layout = box.spec.layout
        if layout == "full":
            if current:
                rows.append(current)
                current = None
            rows.append(RowView(full=box))
        elif layout == "left":
            if current is None or current.right:
                if current:
                    rows.append(current)
                current = RowView()
            current.left.append(box)
        else:
            if current is None:
                current = RowView()
            current.right.append(box)
    if current:
        rows.append(current)
    return tuple(rows)


def build_view(cert: Certificate, *, verification_base: str | None = None) -> DocumentView:
    url = verification_url(cert.environment, cert.reference, verification_base)
    parts = tuple(
        PartView(part, layout_rows(tuple(BoxView(b, cert.value(b)) for b in cert.model.boxes_in(part.id))))
        for part in cert.model.parts)
    t1, t2 = translator(cert.language), translator(cert.destination_language)
    return DocumentView(
        cert=cert, model=cert.model, t1=t1, t2=t2, url=url, qr=qr_code(url),
        watermark=watermark_phrases(cert.environment, (cert.language, cert.destination_language)),
        parts=parts,
    )


def render_html(cert: Certificate, *, verification_base: str | None = None) -> str:
    view = build_view(cert, verification_base=verification_base)
    template = jinja_environment().get_template(cert.model.template)
    return template.render(doc=view, _1=view.t1.gettext, _2=view.t2.gettext, bilingual=view.bilingual)
