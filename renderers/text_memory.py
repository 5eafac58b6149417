"""What certseal's text caches share (renderers.first_lines, renderers.drawn_lines): the part
of a key a text's style makes, and bounded memories kept per font configuration.

A text is shaped the same way whenever its text properties (`TEXT_PROPERTIES`: every style
property WeasyPrint's Pango layout set-up, line splitting and font description read) and the
font configuration are the same. certseal keeps one FontConfiguration per process; a memory
is held for it weakly, keeps past a render only what several renders made, and forgets its
least recently used entries first.
"""
from __future__ import annotations

import weakref
from collections.abc import Hashable

from weasyprint.css import check_math

from renderers.render_memory import RenderMemory

TEXT_PROPERTIES = (
    "white_space", "font_size", "direction", "font_language_override", "lang", "font_family",
    "font_style", "font_stretch", "font_weight", "font_variant_caps", "font_variation_settings",
    "font_kerning", "font_variant_ligatures", "font_variant_position", "font_variant_numeric",
    "font_variant_alternates", "font_variant_east_asian", "font_feature_settings",
    "text_decoration_line", "word_spacing", "letter_spacing", "overflow_wrap", "word_break",
    "tab_size", "hyphens", "hyphenate_limit_chars", "hyphenate_limit_zone",
    "hyphenate_character",
)
_KEPT = "_certseal_text_style_values"  # where a style keeps its key
_NOT_YET = object()


def text_style_values(style) -> tuple | None:
    """The style's text properties as a hashable tuple; None when they cannot key a memory
    (an unhashable value, or a hyphenation zone holding a math function, which is resolved
    against the whole style).

    Kept on the style: its text is fitted and drawn several times (every line, both
    preferred widths, the drawing). WeasyPrint sets a style's text properties while it builds
    the boxes, before any text is laid out, and a style it changes later is a copy, which
    starts without this."""
    kept = style.__dict__.get(_KEPT, _NOT_YET)
    if kept is _NOT_YET:
        kept = style.__dict__[_KEPT] = _read_text_style_values(style)
    return kept


def _read_text_style_values(style) -> tuple | None:
    if check_math(style["hyphenate_limit_zone"]):
        return None
    values = []
    for name in TEXT_PROPERTIES:
        value = style[name]
        if type(value) is set:
            value = frozenset(value)
        elif type(value) is list:  # the SVG text's font family: only ever joined
            value = tuple(value)
        values.append(value)
    values = tuple(values)
    try:
        hash(values)
    except TypeError:
        return None
    return values


class PerFontConfiguration:
    """A RenderMemory per FontConfiguration (renderers.render_memory: kept past a render only
    what more than one render made). Used only inside certseal's renders, which run one at a
    time (renderers.pdf), so unlocked."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._memories: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, font_config, key: Hashable):
        memory = self._memories.get(font_config)
        if memory is None:
            return None
        return memory.get(key)

    def put(self, font_config, key: Hashable, value) -> None:
        memory = self._memories.get(font_config)
        if memory is None:
            memory = self._memories[font_config] = RenderMemory(self.max_entries)
        memory.max_entries = self.max_entries
        memory.put(key, value)

    def made_before(self, font_config, key: Hashable) -> bool:
        memory = self._memories.get(font_config)
        return memory is not None and memory.made_before(key)

    def end_render(self) -> None:
        for memory in list(self._memories.values()):
            memory.end_render()

    def size(self, font_config) -> int:
        """Entries kept for later renders."""
        memory = self._memories.get(font_config)
        return 0 if memory is None else len(memory)
