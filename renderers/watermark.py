"""The environment watermark: documents from training / acceptance say, in both document
languages, that they have no legal value. Production documents carry none.

The verifier looks for these phrases in page text (see `all_watermark_phrases`), so they are
drawn twice: diagonally across the page on top of the content (what a person sees; rotated
text extracts badly) and as one horizontal line in the page header (what text extraction
finds intact).
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

from renderers.environment import Environment
from renderers.i18n import N_, supported_languages, translator

WATERMARK_MSGIDS: dict[Environment, str] = {
    Environment.TRAINING: N_("TRAINING — NO LEGAL VALUE"),
    Environment.ACCEPTANCE: N_("ACCEPTANCE — NO LEGAL VALUE"),
}


def watermark_phrase(env: Environment, lang: str) -> str | None:
    """The watermark text for `env` in `lang`; None in production."""
    msgid = WATERMARK_MSGIDS.get(env)
    return translator(lang).gettext(msgid) if msgid else None


def watermark_phrases(env: Environment, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The phrases to print on a document in these languages, each once."""
    phrases: list[str] = []
    for lang in languages:
        phrase = watermark_phrase(env, lang)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return tuple(phrases)


@cache
def _all_phrases() -> dict[Environment, frozenset[str]]:
    return {env: frozenset(p for lang in supported_languages() if (p := watermark_phrase(env, lang)))
            for env in Environment}


def all_watermark_phrases() -> dict[Environment, set[str]]:
    """Every phrase per environment over all supported languages (empty for production)."""
    return {env: set(phrases) for env, phrases in _all_phrases().items()}


# ------------------------------------------------------------------------------ layout
# The diagonal watermark is an SVG in mm units over the page area (see layout.html.j2).
# WeasyPrint's SVG `text-anchor: middle` misplaces rotated text, so each line is centred
# here: its width is measured from the font, drawn from x = -width/2 and pinned to exactly
# that width with `textLength`.

WATERMARK_FONT = "Noto Sans:bold"
FONT_SIZE = 10.5  # SVG user units (mm): about 30pt
LINE_GAP = 14.0
MAX_LENGTH = 270.0  # mm along the diagonal of the A4 page area (about 318 mm long)


@dataclass(frozen=True)
class WatermarkLine:
    text: str
    x: float
    y: float
    length: float
    font_size: float
    font_family: str = "Noto Sans"


# WeasyPrint's SVG text takes one family; for scripts Noto Sans lacks, fontconfig would fall
# back to a non-Noto font (DejaVu for Arabic), so each line names the Noto family of its script.
_SCRIPT_FAMILIES = (
    ((0x0600, 0x06FF), "Noto Naskh Arabic"),
    ((0x0590, 0x05FF), "Noto Sans Hebrew"),
    ((0x0E00, 0x0E7F), "Noto Sans Thai"),
    ((0x0900, 0x097F), "Noto Sans Devanagari"),
    ((0x3040, 0x30FF), "Noto Sans CJK JP"),
    ((0xAC00, 0xD7AF), "Noto Sans CJK KR"),
    ((0x4E00, 0x9FFF), "Noto Sans CJK SC"),
)


def _family(text: str) -> str:
    for (low, high), family in _SCRIPT_FAMILIES:
        if any(low <= ord(c) <= high for c in text):
            return family
    return "Noto Sans"


@cache
def _font() -> TTFont | None:
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        path = subprocess.run([exe, "--format=%{file}", WATERMARK_FONT], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        return TTFont(path, lazy=True) if path and Path(path).is_file() else None
    except (OSError, subprocess.SubprocessError):
        return None


def _width(text: str, size: float) -> float:
    font = _font()
    if font is None:
        return 0.62 * size * len(text)  # Noto Sans Bold capitals average about 0.62 em
    cmap, hmtx = font.getBestCmap(), font["hmtx"]
    units = font["head"].unitsPerEm
    default = hmtx[".notdef"][0] if ".notdef" in hmtx.metrics else units // 2
    return sum(hmtx[cmap[ord(c)]][0] if ord(c) in cmap else default for c in text) / units * size


def watermark_lines(phrases: tuple[str, ...]) -> tuple[WatermarkLine, ...]:
    """Each phrase as a line centred on the origin (the centre of the page area)."""
    if not phrases:
        return ()
    widest = max(_width(p, FONT_SIZE) for p in phrases)
    size = FONT_SIZE * min(1.0, MAX_LENGTH / widest) if widest else FONT_SIZE
    lines = []
    for i, phrase in enumerate(phrases):
        width = _width(phrase, size)
        y = (i - (len(phrases) - 1) / 2) * LINE_GAP * size / FONT_SIZE + 0.36 * size
        lines.append(WatermarkLine(phrase, round(-width / 2, 2), round(y, 2), round(width, 2), round(size, 2),
                                   _family(phrase)))
    return tuple(lines)
