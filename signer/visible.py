"""What the pages visibly say: page text in content order, and which environment watermark it shows.

Text comes from poppler's pdftotext in raw (content) order, else from pdfminer.six with layout analysis *off*: characters are taken in the order the
content stream draws them (the brief's "LTChar text per page", without building LTChars). The watermark is drawn rotated, and layout analysis would split a
rotated line into scattered one-letter boxes; in content order its characters stay together.
Matching ignores all whitespace (line breaks inside the watermark drop spaces), case and
Unicode compatibility forms, and treats every dash alike.
"""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
import unicodedata
from dataclasses import dataclass
from io import BytesIO

from pdfminer.pdfdevice import PDFDevice
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdffont import PDFUnicodeNotDefined
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser

from renderers.environment import Environment

MAX_PAGES = 200

# pdfminer warns about every odd font it meets; on hostile files that is expected, and the
# outcome is a finding. Keep it off stderr unless the application configured logging.
logging.getLogger("pdfminer").addHandler(logging.NullHandler())

# The English phrases (the renderer's msgids). They are always searched, so an English
# watermark is recognised even if renderers.watermark is missing or its catalogs are empty;
# other languages need renderers.watermark.all_watermark_phrases().
_FALLBACK_PHRASES: dict[Environment, set[str]] = {
    Environment.TRAINING: {"TRAINING — NO LEGAL VALUE"},
    Environment.ACCEPTANCE: {"ACCEPTANCE — NO LEGAL VALUE"},
}

_DASHES = re.compile(r"[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D-]")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DASHES.sub("-", text)
    return _SPACE.sub("", text)


def watermark_phrases() -> dict[Environment, frozenset[str]]:
    """Normalised watermark phrases per environment: the renderer's, plus our English fallback
    (so a renderer catalog that is still empty or incomplete never blinds the verifier)."""
    phrases: dict[Environment, set[str]] = {env: set(p) for env, p in _FALLBACK_PHRASES.items()}
    try:
        from renderers.watermark import all_watermark_phrases
    except ImportError:
        pass
    else:
        for env, texts in all_watermark_phrases().items():
            phrases.setdefault(Environment(env), set()).update(texts)
    return {
        env: frozenset(n for n in map(normalise, texts) if n)
        for env, texts in phrases.items()
        if not env.has_legal_value  # production has no watermark; never "detect" one
    }


class _TextCollector(PDFDevice):
    """Collects each page's text in drawing order.

    A bare device instead of pdfminer's layout analyzer: no LTChar objects, no geometry
    (about a third faster, and the order is the content stream's, which is what we want for
    the rotated watermark). Form XObjects are entered by the interpreter as usual.
    """

    def __init__(self, rsrcmgr: PDFResourceManager) -> None:
        super().__init__(rsrcmgr)
        self.pages: list[str] = []
        self._current: list[str] = []

    def begin_page(self, page, ctm) -> None:
        self._current = []

    def end_page(self, page) -> None:
        self.pages.append("".join(self._current))

    def render_string(self, textstate, seq, ncs, graphicstate) -> None:
        font = textstate.font
        if font is None:
            return
        out = self._current
        for item in seq:
            if not isinstance(item, bytes):
                continue  # TJ kerning numbers
            for cid in font.decode(item):
                try:
                    out.append(font.to_unichr(cid))
                except PDFUnicodeNotDefined:
                    pass  # a glyph without Unicode mapping cannot spell a phrase


PDFTOTEXT_TIMEOUT_S = 20


class PageTextJob:
    """Page texts extracted while the caller does other work.

    poppler's pdftotext (C, `-raw` keeps content-stream order) is ~10x faster than pdfminer on
    dense table pages; it runs as its own process with a timeout, so a hostile file costs at
    most that. Started before the signature checks, it runs on another core while pyHanko
    works (about 60-100 ms of a verification, hidden). pdfminer is the fallback where poppler
    is not installed; it runs in `result()`.
    """

    def __init__(self, data: bytes, *, max_pages: int = MAX_PAGES) -> None:
        self._data = data
        self._max_pages = max_pages
        self._stdout: bytes | None = None
        self._error: BaseException | None = None
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        exe = shutil.which("pdftotext")
        if exe is None:
            return
        # Through stdin: the verifier's sandbox forbids writing files.
        self._proc = subprocess.Popen(
            [exe, "-q", "-raw", "-enc", "UTF-8", "-l", str(max_pages + 1), "-", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        # A thread feeds stdin and drains stdout: the caller's own work does not yield.
        self._thread = threading.Thread(target=self._communicate, name="pdftotext", daemon=True)
        self._thread.start()

    def _communicate(self) -> None:
        assert self._proc is not None
        try:
            self._stdout, _ = self._proc.communicate(self._data, timeout=PDFTOTEXT_TIMEOUT_S)
        except BaseException as exc:  # noqa: BLE001 - handed to result()
            self._error = exc
            self._proc.kill()
            self._proc.wait()

    def result(self) -> list[str]:
        if self._proc is None:
            return _pdfminer_page_texts(self._data, max_pages=self._max_pages)
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._proc.returncode != 0:
            raise ValueError(f"pdftotext could not read the pages (exit status {self._proc.returncode})")
        pages = (self._stdout or b"").decode("utf-8", errors="replace").split("\f")[:-1]
        if len(pages) > self._max_pages:
            raise ValueError(f"more than {self._max_pages} pages")
        return pages

    def cancel(self) -> None:
        """Stop pdftotext (its text is not needed, e.g. for a forgery)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            assert self._thread is not None
            self._thread.join()


def _pdfminer_page_texts(data: bytes, *, max_pages: int) -> list[str]:
    document = PDFDocument(PDFParser(BytesIO(data)))
    manager = PDFResourceManager(caching=True)
    collector = _TextCollector(manager)
    interpreter = PDFPageInterpreter(manager, collector)
    for number, page in enumerate(PDFPage.create_pages(document), start=1):
        if number > max_pages:
            raise ValueError(f"more than {max_pages} pages")
        interpreter.process_page(page)
    return collector.pages


@dataclass(frozen=True)
class WatermarkFinding:
    """Environments whose watermark appears anywhere, and pages (1-based) that show none."""

    environments: frozenset[Environment]
    pages_without: tuple[int, ...]

    @property
    def environment(self) -> Environment | None:
        return next(iter(self.environments)) if len(self.environments) == 1 else None


def find_watermarks(page_texts: list[str]) -> WatermarkFinding:
    phrases = watermark_phrases()
    found: set[Environment] = set()
    without: list[int] = []
    for number, text in enumerate(page_texts, start=1):
        flat = normalise(text)
        on_page = {env for env, ps in phrases.items() if any(p in flat for p in ps)}
        found |= on_page
        if not on_page:
            without.append(number)
    return WatermarkFinding(frozenset(found), tuple(without))


def text_contains(page_texts: list[str], needle: str) -> bool:
    target = normalise(needle)
    return bool(target) and any(target in normalise(t) for t in page_texts)
