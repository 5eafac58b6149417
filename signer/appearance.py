"""The visible seal: what a reader sees in the Part II signature area, in both languages.

The renderer reserves the place (`RenderedPdf.seal_box`, also Info /CertsealSealBox) and we
draw the signature widget's appearance into it: officer's name, qualification, authority,
the sealing date and time formatted for each language (Babel, via renderers.i18n), and the
seal certificate's subject. Typeset in Noto Serif like the certificate itself (pyHanko's
OpenType engine with the subsets of signer.seal_font), not pyHanko's default Courier stamp. The text shrinks
to fit the box, so long names never spill out of it.

Labels reuse msgids the catalogs already have ("Electronic seal", "Name of signatory",
"Certifying officer", "Date of signature"), so no catalog entry is missing.

The later approval signature (e.g. the CHED Part III follow-up) is drawn the same way into the
empty field the seal reserved: `approval_place_for` finds where the template put that area,
and `SealText` carries the follow-up's decision (a model option msgid, so both languages come
from the catalogs) and the officer's notes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields
from pyhanko.stamp import TextStampStyle

from signer.seal_font import SealFontFactory, seal_font, seal_font_bytes

FONT_SIZE = 7
LEADING = 9


@dataclass(frozen=True)
class SealText:
    """The parts of the seal text that come from the certificate (both languages)."""

    languages: tuple[str, ...]  # the officer's language first, the destination's second
    officer: str | None
    qualification: str | None  # as given in the certificate (the officer's own words)
    authority: str | None
    tz: tzinfo  # the officer's offset (from the certificate), for the date shown
    role: str = "Certifying officer"  # msgid shown when no qualification is given
    decision: str | None = None  # msgid of the decision taken (approval signatures)
    notes: tuple[str, ...] = ()  # the officer's own words, already wrapped to lines


@dataclass(frozen=True)
class FieldPlace:
    """Where a signature field's widget goes: page index (0-based) and rectangle in PDF points."""

    page: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class SealAppearance:
    page: int
    box: tuple[float, float, float, float]
    text: SealText

    def field_spec(self, name: str, reader=None) -> fields.SigFieldSpec:
        return fields.SigFieldSpec(sig_field_name=name, on_page=self.page, box=self.box)

    def lines(self, subject: str, organisation: str | None, at: datetime) -> list[str]:
        from renderers.i18n import translator

        tr = [translator(lang) for lang in self.text.languages]

        def both(msgid: str) -> str:
            seen: list[str] = []
            for t in tr:
                word = t.gettext(msgid)
                if word not in seen:
                    seen.append(word)
            return " / ".join(seen)

        local = at.astimezone(self.text.tz)
        dates: list[str] = []
        for t in tr:
            text = t.format_datetime(local)
            if text not in dates:
                dates.append(text)
        # No "Electronic seal" heading: the template's caption above the box already says it.
        out: list[str] = []
        if self.text.officer:
            out.append(f"{self.text.officer} — {self.text.qualification or both(self.text.role)}")
        authority = self.text.authority or organisation
        if authority:
            out.append(authority)
        if self.text.decision:
            out.append(both(self.text.decision))
        out += self.text.notes
        out += dates
        out.append(subject)
        return out

    def stamp_style(self, key, at: datetime | None = None) -> TextStampStyle | None:
        font = seal_font()
        if font is None or seal_font_bytes() is None:
            return None
        cert = key.certificate
        from cryptography.x509.oid import NameOID

        orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        lines = self.lines(cert.subject.rfc4514_string(), str(orgs[0].value) if orgs else None,
                           at or datetime.now(timezone.utc))
        return TextStampStyle(
            stamp_text="\n".join(lines).replace("%", "%%"),
            text_box_style=TextBoxStyle(
                font=SealFontFactory(str(font), font_size=FONT_SIZE),
                font_size=FONT_SIZE,
                leading=LEADING,
                text_color=(0.1, 0.1, 0.35),
            ),
            border_width=0,
            background=None,
            inner_content_layout=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins.uniform(3),
            ),
        )


def appearance_for(cert, rendered) -> SealAppearance | None:
    """The visible seal for a freshly rendered certificate (None: the template reserved no
    place for it, so the seal stays invisible, as before)."""
    box = getattr(rendered, "seal_box", None)
    if box is None:
        return None
    officer = None
    signature = cert.fields.get("certifying_officer") if hasattr(cert, "fields") else None
    if signature is not None:
        officer = getattr(signature, "name", None)
    tz = getattr(getattr(signature, "signed_at", None), "tzinfo", None) or cert.issued_at.tzinfo or timezone.utc
    languages = tuple(dict.fromkeys((cert.language, cert.destination_language)))
    # An authority named in the data wins (a later model field); else the seal's organisation.
    authority = getattr(signature, "authority", None)
    return SealAppearance(
        page=box.page,
        box=box.box,
        text=SealText(languages=languages, officer=officer, qualification=getattr(signature, "qualification", None),
                      authority=authority, tz=tz),
    )


APPROVAL_ANCHOR = "certseal-approval"


def approval_place_for(rendered) -> FieldPlace | None:
    """Where the empty approval field goes in a freshly rendered certificate: the area the
    template marks with id="certseal-approval" (None: the template has none, the field stays
    invisible).

    WeasyPrint writes every element id as a PDF named destination holding the top-left corner
    of the element's border box; that gives the page and the corner. The area is drawn by the
    same signature macro and CSS class as the seal's (`.seal` in a full-width signature box),
    so it has the seal box's size.
    """
    seal = getattr(rendered, "seal_box", None)
    if seal is None:
        return None
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(rendered.data), strict=False)
    target = _named_destination(reader, APPROVAL_ANCHOR)
    if target is None:
        return None
    page_ref, x, top = target
    pages = _page_refs(reader.root["/Pages"])
    if page_ref not in pages:
        return None
    width, height = seal.x2 - seal.x1, seal.y2 - seal.y1
    return FieldPlace(page=pages.index(page_ref), box=(x, top - height, x + width, top))


def _named_destination(reader, name: str):
    """(page reference, x, y) of the /XYZ named destination `name` in /Names /Dests."""
    try:
        node = reader.root["/Names"]["/Dests"]
    except KeyError:
        return None
    stack, visited = [node], 0
    while stack and visited < 1000:  # our own renderer's output: a flat tree, bounded anyway
        node = stack.pop()
        visited += 1
        names = node.get("/Names", [])
        for i in range(0, len(names) - 1, 2):
            if str(names[i]) == name:
                dest = names[i + 1]  # resolved if indirect
                if isinstance(dest, dict):  # the << /D [...] >> form
                    dest = dest["/D"]
                if len(dest) < 4 or dest[1] != "/XYZ":
                    return None
                return dest.raw_get(0).reference, float(dest[2]), float(dest[3])
        stack.extend(node.get("/Kids", []))
    return None


def _page_refs(node, depth: int = 0) -> list:
    """Page references in document order (page tree leaves)."""
    refs = []
    for kid in node.raw_get("/Kids"):
        obj = kid.get_object()
        if obj.get("/Type") == "/Pages" and depth < 32:
            refs += _page_refs(obj, depth + 1)
        else:
            refs.append(kid.reference)
    return refs
