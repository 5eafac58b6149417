"""Part II attestation text ("health clauses") as TRACES NT sends it: markdown-like plain text.

What the text may contain, and what it becomes:
- `[x]` / `[ ]` (optionally as a list item `- [x]`): a ticked / unticked box (`Check`);
- `~~struck~~`: a deleted alternative (`Text(struck=True)`); an unclosed `~~` strikes to the end
  of its line;
- `(1)`, `(2)` ... at the start of a line or right after a word: a footnote marker (`Footnote`);
  `6(2)(a)` after a digit is a legal reference and stays text;
- `null` standing alone: a place-holder TRACES left empty (`Blank`);
- everything else: text. Lines stay lines; an empty line separates paragraphs.

`parse_clauses` is a small tokenizer that produces these typed nodes; the template renders each
node type with its own markup and autoescapes every character of text. Nothing in the input is
ever interpreted as HTML, a template or a URL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

MAX_CLAUSE_TEXT = 200_000


@dataclass(frozen=True)
class Text:
    text: str
    struck: bool = False
    kind: str = "text"


@dataclass(frozen=True)
class Check:
    checked: bool
    struck: bool = False
    kind: str = "check"


@dataclass(frozen=True)
class Footnote:
    label: str  # "1"
    struck: bool = False
    kind: str = "footnote"


@dataclass(frozen=True)
class Blank:
    struck: bool = False
    kind: str = "blank"


Node = Union[Text, Check, Footnote, Blank]


def _filler(node: Node) -> bool:
    """Punctuation or spaces between struck pieces (`~~a~~ ]`): not text of its own."""
    if isinstance(node, Blank):
        return True
    return isinstance(node, Text) and not node.struck and not re.search(r"\w", node.text)


@dataclass(frozen=True)
class Line:
    nodes: tuple[Node, ...]

    @property
    def omitted(self) -> bool:
        """An alternative that was not chosen: only unticked boxes, and after the first box
        nothing but struck text (TRACES prints such a line as "[Not selected - omitted]")."""
        checks = [i for i, n in enumerate(self.nodes) if isinstance(n, Check)]
        if not checks or any(self.nodes[i].checked for i in checks):
            return False
        return all(n.struck or isinstance(n, (Check, Footnote)) or _filler(n) for n in self.nodes[checks[0]:])

    @property
    def prefix(self) -> tuple[Node, ...]:
        """The markers and connectives before the first box (`(1)either`)."""
        for i, node in enumerate(self.nodes):
            if isinstance(node, Check):
                return self.nodes[:i]
        return self.nodes

    @property
    def chosen(self) -> bool:
        return any(isinstance(n, Check) and n.checked for n in self.nodes)

    @property
    def struck(self) -> bool:
        """Every visible piece of the line is struck (a deleted paragraph)."""
        visible = [n for n in self.nodes if not _filler(n)]
        return bool(visible) and all(n.struck for n in visible)


@dataclass(frozen=True)
class Paragraph:
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class ClauseText:
    paragraphs: tuple[Paragraph, ...]
    source: str  # the text as received (normalised newlines)

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(n for p in self.paragraphs for line in p.lines for n in line.nodes if isinstance(n, Check))


_TOKEN = re.compile(
    r"(?P<strike>~~)"
    r"|(?P<check>(?:(?<![^\s(])-[ \t]*)?\[(?P<mark>[ xX])\])"
    r"|(?P<footnote>\((?P<fn>\d{1,2})\))"
    r"|(?P<blank>(?<![\w/])null(?![\w]))"
)


def _footnote_allowed(line: str, start: int) -> bool:
    """A `(n)` is a footnote marker at the start of a line (after other markers) or right
    after a word or a point; after a digit, a capital or a closing bracket it is part of a
    legal reference such as `Article 6(2)(a)` or `Annex III.A(1)`."""
    before = line[:start].replace("~", "").strip()
    if not before or re.fullmatch(r"(\(\d{1,2}\)\s*)*", before):
        return True
    prev = line[start - 1] if start else ""
    return prev.islower() or prev == "."


def _tokenize_line(line: str) -> Line:
    nodes: list[Node] = []
    struck = False
    pos = 0
    buffer: list[str] = []

    def flush() -> None:
        text = "".join(buffer)
        buffer.clear()
        if text:
            if nodes and isinstance(nodes[-1], Text) and nodes[-1].struck == struck:
                nodes[-1] = Text(nodes[-1].text + text, struck)
            else:
                nodes.append(Text(text, struck))

    for match in _TOKEN.finditer(line):
        buffer.append(line[pos:match.start()])
        pos = match.end()
        if match.group("strike"):
            flush()
            struck = not struck
        elif match.group("check"):
            flush()
            nodes.append(Check(checked=match.group("mark") in "xX", struck=struck))
        elif match.group("footnote"):
            if _footnote_allowed(line, match.start()):
                flush()
                nodes.append(Footnote(match.group("fn"), struck))
            else:
                buffer.append(match.group(0))
        else:
            flush()
            nodes.append(Blank(struck))
    buffer.append(line[pos:])
    flush()
    # Trailing markdown hard-break spaces carry no meaning on paper.
    while nodes and isinstance(nodes[-1], Text) and not nodes[-1].text.strip():
        nodes.pop()
    if nodes and isinstance(nodes[-1], Text):
        nodes[-1] = Text(nodes[-1].text.rstrip(), nodes[-1].struck)
    return Line(tuple(nodes))


@lru_cache(maxsize=256)
def parse_clauses(text: str) -> ClauseText:
    """Tokenize attestation text into paragraphs of lines of typed nodes.

    Kept per text (the result is immutable): a model's attestation text comes back with every
    certificate of that model and language, and tokenizing it was a third of parsing an SPS
    certificate.

    An alternative that was not chosen (`Line.omitted`) keeps its line; the wholly struck
    lines that continue it are its body and are left out, as TRACES prints them (the full
    text stays in the embedded certificate data).
    """
    source = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs: list[Paragraph] = []
    current: list[Line] = []
    in_omitted = False
    for raw in source.split("\n"):
        if not raw.strip():
            if current:
                paragraphs.append(Paragraph(tuple(current)))
                current = []
            continue
        line = _tokenize_line(raw.strip())
        if not line.nodes:
            continue
        if in_omitted and line.struck and not any(isinstance(n, Check) for n in line.nodes):
            continue
        in_omitted = line.omitted
        current.append(line)
    if current:
        paragraphs.append(Paragraph(tuple(current)))
    return ClauseText(tuple(paragraphs), source)
