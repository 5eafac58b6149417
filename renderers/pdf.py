"""HTML → PDF/A-3b with WeasyPrint: deny-all fetcher, embedded certificate data, metadata.

Font configuration and stylesheets are built once per process and reused: parsing the CSS
and setting up fontconfig cost more than laying out a certificate.
"""
from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import timezone
from functools import cache

import cssselect2
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError

from renderers import metadata
from renderers.attribute_styles import attribute_styles_shared
from renderers.bare_boxes import bare_boxes_settled
from renderers.collector import collector_paused
from renderers.computed_style import short_style_path
from renderers.deflate_level import streams_deflated_at_default_level
from renderers.fetcher import ASSET_BASE, AssetFetcher
from renderers.drawn_lines import drawn_lines_remembered
from renderers.first_lines import first_lines_remembered
from renderers.font_files import font_files_read_lazily
from renderers.font_subset import one_subset_pass
from renderers.model import Certificate, ModelSpec
from renderers.normal_flow import normal_flow_read_once
from renderers.page_resources import inherit_shared_resources
from renderers.qr_path import qr_path_drawn_directly
from renderers.resources import templates_dir
from renderers.serialized_once import objects_serialized_once, serialize_once_from_now
from renderers.shared_styles import styles_shared_across_renders
from renderers.srgb_profile import srgb_color_profile
from renderers.stream_colors import colors_set_once
from renderers.structure_tree import mark_lean
from renderers.struts import struts_kept
from renderers.svg_forms import svg_drawn_once
from renderers.tag_queries import tag_queries_from_tree
from renderers.used_lengths import used_lengths_in_line

PDF_VARIANT = "pdf/a-3b"
# The output intent and default RGB colour space: certseal's parametric sRGB profile instead of
# WeasyPrint's sampled sRGB2014.icc (renderers.srgb_profile says why). A CSS identifier is
# how WeasyPrint names a colour profile given to it.
OUTPUT_INTENT = "--certseal-srgb"
ATTACHMENT_NAME = "certificate.json"
XML_ATTACHMENT_NAME = "certificate.xml"  # the UN/CEFACT SPS XML, when that was the input
SEAL_ELEMENT_ID = "certseal-seal"
_PX_TO_PT = 0.75  # CSS px → PDF points


class UnsafeResourceError(RuntimeError):
    """The HTML asked for a resource the fetcher refuses; no PDF is produced."""


@dataclass(frozen=True)
class SealBox:
    """Where the visible electronic seal goes: page index (0-based) and rectangle in PDF
    points, origin bottom-left — the shape pyHanko's SigFieldSpec(on_page, box) takes."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def as_info(self) -> str:
        return f"{self.page} {self.x1:.2f} {self.y1:.2f} {self.x2:.2f} {self.y2:.2f}"

    @classmethod
    def from_info(cls, text: str) -> SealBox:
        """The inverse of as_info (the PDF's Info /CertsealSealBox). Raises ValueError."""
        page, x1, y1, x2, y2 = text.split()
        box = cls(int(page), float(x1), float(y1), float(x2), float(y2))
        if box.page < 0 or box.x2 <= box.x1 or box.y2 <= box.y1:
            raise ValueError(f"not a seal box: {text!r}")
        return box


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    page_count: int
    certificate: Certificate
    seal_box: SealBox | None = None


@cache
def font_configuration() -> FontConfiguration:
    return FontConfiguration()


@cache
def _css(relative_path: str) -> CSS:
    text = (templates_dir() / relative_path).read_text(encoding="utf-8")
    return CSS(string=text, base_url=ASSET_BASE, url_fetcher=AssetFetcher(),
               font_config=font_configuration())


class _CertificateHTML(HTML):
    """HTML laid out with certseal's trimmed user-agent sheet (see base/user-agent.css).
    `_ua_stylesheets` is WeasyPrint's hook for it; should a release rename it, this override
    is simply not called and the full (slower, equivalent) sheet applies."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [_css(USER_AGENT_STYLESHEET)]

    @classmethod
    def from_tree(cls, root: ElementTree.Element, url_fetcher: AssetFetcher) -> _CertificateHTML:
        """The document for an already parsed tree: what HTML.__init__ sets after parsing
        (base URL, fetcher, media type, cssselect2 wrapper). The templates emit no <base>."""
        document = cls.__new__(cls)
        document.base_url = ASSET_BASE
        document.url_fetcher = url_fetcher
        document.media_type = "print"
        document.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        document.etree_element = document.wrapper_element.etree_element
        return document


def parse_html(html: str, url_fetcher: AssetFetcher) -> _CertificateHTML:
    """The certificate HTML as a WeasyPrint document. The templates write well-formed
    XHTML-style markup (void elements closed, SVG with its xmlns), so expat parses it in about
    1 ms where WeasyPrint's pure-Python HTML5 parser takes about 55 ms (4-page CHED-PP); both
    give the same tree for it but for the <tbody> HTML5 adds, which the stylesheets and the
    structure tree treat alike. Anything expat refuses (a template edit that is not well
    formed) still renders, through the HTML5 parser; tests keep every model on the fast path."""
    root = xml_tree(html)
    if root is None:
        return _CertificateHTML(string=html, base_url=ASSET_BASE, url_fetcher=url_fetcher)
    return _CertificateHTML.from_tree(root, url_fetcher)


def xml_tree(html: str) -> ElementTree.Element | None:
    try:
        return ElementTree.fromstring(html)
    except ElementTree.ParseError:
        return None


USER_AGENT_STYLESHEET = "base/user-agent.css"


def stylesheet_paths(model: ModelSpec) -> list[str]:
    """The shared stylesheet, plus the model's own certificate.css when it has one (relative
    to the packaged templates directory)."""
    own = f"models/{model.directory}/certificate.css"
    return ["base/certificate.css", *([own] if (templates_dir() / own).is_file() else [])]


def stylesheets(model: ModelSpec) -> list[CSS]:
    return [_css(path) for path in stylesheet_paths(model)]


# One render at a time per process. Pango is not thread-safe: WeasyPrint shares one font map
# (the FontConfiguration) between renders, and two renders laying text out at once in threads
# (the HTTP API renders in its thread pool) crashed the process in pango_layout_get_line
# (found by tests/test_render_threads.py). A render holds the GIL for all but its Pango
# calls, so threads never rendered much in parallel anyway.
_one_render_at_a_time = threading.Lock()


def html_to_pdf(html: str, cert: Certificate) -> RenderedPdf:
    with (_one_render_at_a_time, collector_paused(), short_style_path(), used_lengths_in_line(), struts_kept(),
          first_lines_remembered(), drawn_lines_remembered(), font_files_read_lazily(),
          one_subset_pass(), bare_boxes_settled(), qr_path_drawn_directly(), attribute_styles_shared(),
          streams_deflated_at_default_level(), normal_flow_read_once(), styles_shared_across_renders(),
          colors_set_once(), tag_queries_from_tree()):
        return _html_to_pdf(html, cert)


def _html_to_pdf(html: str, cert: Certificate) -> RenderedPdf:
    fetcher = AssetFetcher()
    try:
        document = parse_html(html, fetcher).render(
            font_config=font_configuration(), stylesheets=stylesheets(cert.model),
            color_profiles={OUTPUT_INTENT: srgb_color_profile()}, output_intent=OUTPUT_INTENT)
        seal_box = _find_seal_box(document)
        mark_lean(document)
        with svg_drawn_once(), objects_serialized_once():
            data = document.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True, output_intent=OUTPUT_INTENT,
                                      attachments=_attachments(cert, fetcher),
                                      finisher=_finisher(cert, seal_box))
    except FatalURLFetchingError as exc:
        raise UnsafeResourceError(f"{cert.reference}: refused to load {fetcher.refused}") from exc
    return RenderedPdf(data=data, page_count=len(document.pages), certificate=cert, seal_box=seal_box)


def _finisher(cert: Certificate, seal_box: SealBox | None):
    write_metadata = metadata.finisher(cert, seal_box)

    def finish(document, pdf) -> None:
        write_metadata(document, pdf)
        inherit_shared_resources(pdf)
        serialize_once_from_now()  # the last change: pydyf writes the file next

    return finish


def _attachments(cert: Certificate, fetcher: AssetFetcher) -> list[Attachment]:
    """certificate.json always; certificate.xml too when the input was SPS XML (both PDF/A-3
    associated files with relationship Source)."""
    issued_utc = cert.issued_at.astimezone(timezone.utc)
    files = [(cert.source_json, ATTACHMENT_NAME, "certificate data (canonical JSON)")]
    if cert.source_xml is not None:
        files.append((cert.source_xml, XML_ATTACHMENT_NAME, "UN/CEFACT SPS e-Certificate XML as received"))
    return [Attachment(file_obj=io.BytesIO(data), name=name, url_fetcher=fetcher,
                       description=f"{cert.model.id} {cert.reference} {what}",
                       created=issued_utc, modified=issued_utc, relationship="Source")
            for data, name, what in files]


def _find_seal_box(document) -> SealBox | None:
    """Where the element #certseal-seal landed. Uses WeasyPrint's layout tree (`_page_box`,
    not public API): if a WeasyPrint upgrade moves it, the PDF is still produced, only
    without the seal position hint."""
    try:
        return _seal_box_from_layout(document)
    except AttributeError:
        return None


def _seal_box_from_layout(document) -> SealBox | None:
    for index, page in enumerate(document.pages):
        # WeasyPrint lists the ids on each page (`anchors`): only that page's boxes are searched.
        anchors = getattr(page, "anchors", None)
        if anchors is not None and SEAL_ELEMENT_ID not in anchors:
            continue
        for layout_box in page._page_box.descendants():
            element = getattr(layout_box, "element", None)
            if element is None or element.get("id") != SEAL_ELEMENT_ID:
                continue
            x, y = layout_box.border_box_x(), layout_box.border_box_y()
            width, height = layout_box.border_width(), layout_box.border_height()
            page_height = page.height
            return SealBox(page=index,
                           x1=x * _PX_TO_PT, y1=(page_height - y - height) * _PX_TO_PT,
                           x2=(x + width) * _PX_TO_PT, y2=(page_height - y) * _PX_TO_PT)
    return None
