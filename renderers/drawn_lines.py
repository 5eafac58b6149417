"""Drawn text lines remembered across renders: the text operators WeasyPrint writes for a line
of text, replayed when the same text is drawn again with the same text properties.

To draw a text box, WeasyPrint re-activates its layout (a new Pango context and layout, the
text shaped again, `Layout.reactivate`) and walks the shaped glyphs in Python
(`draw_first_line`): per glyph its id, its Unicode text for the font's ToUnicode map, its
width, kerning against the font's own advance. About a tenth of a certificate render
(py-spy), and, like line breaking (`renderers.first_lines`), the same for the same labels
in every certificate of a model and language pair. What it writes depends only on the
layout's text and justification spacing, the text properties (`text_memory.TEXT_PROPERTIES`)
and the fonts, apart from the text matrix, which places the line and is written anew.

So the second time a line is drawn (a line drawn only once, such as a one-off value or any
line of a process's single render, costs no recording), its operators are recorded through
a stand-in for the stream: font selections (by Pango's font key and the PDF font name),
shown strings, text rise, and per glyph its id, Unicode text and width as WeasyPrint works
them out. When the same line is drawn again in a document that already embeds those fonts,
the operators are written again, and each glyph's text and width go into the document's
fonts where WeasyPrint's loop would have put them (only if the glyph has none yet); the
Pango layout is not re-activated at all (`reactivate` only notes the style; the layout is
built when something needs it). Same bytes: every sample, and six destination scripts,
compared. Per nl+en CHED-PP render from the third on: 2.62 -> 2.34 G instructions (-11 %);
the render that records costs 3 % more, a process's first render the same. CPU time,
interleaved in one process, line breaks remembered in both: 405 -> 358 ms for the same
certificate again, 408 -> 364 ms for one with new names and addresses.

Not remembered, drawn by WeasyPrint as before: ellipsis (`text-overflow`, `block-ellipsis`),
glyphs missing from the fonts (.notdef), bitmap and colour fonts (emoji), unhashable styles.
Only inside `drawn_lines_remembered()` and on the WeasyPrint source this was checked against.
"""
from __future__ import annotations

from weasyprint.draw import text as _draw_text
from weasyprint.pdf import stream as _stream
from weasyprint.svg.text import text as _svg_text
from weasyprint.text import fonts as _fonts
from weasyprint.text import line_break as _line_break

from renderers import scoped_patch
from renderers.text_memory import PerFontConfiguration, text_style_values

# sha256 over the sources the recording relies on (see `source_sha256`), WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "af2de6bd945bb2c90e2ae261a8e9143a6acf4588b09fee1dd39b2965e3600905"
# One entry per distinct drawn line (324 on the 4-page CHED-PP sample), under 1 kB each.
_lines = PerFontConfiguration(max_entries=5_000)
# What only one render shaped is forgotten as it ends (renderers.render_memory).
_SCOPE = scoped_patch.Scope("certseal_drawn_lines_remembered", when_left=lambda: _lines.end_render())
drawn_lines_remembered = _SCOPE.on
_draw_first_line = _draw_text.draw_first_line
_Layout = _line_break.Layout
_reactivate = _Layout.reactivate
_deactivate = _Layout.deactivate
_PENDING = "_certseal_pending_style"  # set on a Layout whose re-activation is put off
_SEEN_ONCE = object()  # the memory's entry for a line drawn once, not recorded yet
_NOT_KEPT = object()  # the entry for a line only WeasyPrint draws (.notdef, colour fonts)


def _checked_sources() -> tuple:
    return (_draw_first_line, _draw_text.draw_text, _reactivate, _deactivate, _Layout.setup,
            _Layout.set_text, _stream.Stream.add_font, _stream.Stream.set_font_size,
            _fonts.get_pango_font_key, _svg_text)


def source_sha256() -> str:
    return scoped_patch.sources_sha256(*_checked_sources())


def cache_size(font_config) -> int:
    return _lines.size(font_config)


# -- Layout: re-activation put off until something needs the Pango layout ----------------------

def reactivate(self, style):
    if not _SCOPE.active():
        return _reactivate(self, style)
    self.style = style
    self.__dict__[_PENDING] = style


def _activate(layout) -> None:
    style = layout.__dict__.pop(_PENDING, None)
    if style is not None:
        _reactivate(layout, style)


def deactivate(self):
    if self.__dict__.pop(_PENDING, None) is not None:
        del self.style
        return
    _deactivate(self)


# -- drawing ----------------------------------------------------------------------------------

class _Unrememberable(Exception):
    pass


class _RecordingToUnicode(dict):
    """Stands in for a font's to_unicode: looks empty to WeasyPrint's loop, so the loop works
    out every glyph's text from this line, notes it, and writes it to the font's own map only
    where WeasyPrint would (the glyph has no text there yet)."""

    def __init__(self, target: dict, log: list) -> None:
        super().__init__()
        self._target = target
        self._log = log

    def __contains__(self, glyph) -> bool:
        return False

    def __setitem__(self, glyph, text) -> None:
        self._log.append((glyph, text))
        if glyph not in self._target:
            self._target[glyph] = text


class _RecordingWidths(dict):
    """Stands in for a font's widths: the font's own map, with every width the loop reads or
    works out noted (a width depends only on the font and glyph)."""

    def __init__(self, target: dict, log: list) -> None:
        super().__init__()
        self._target = target
        self._log = log

    def __contains__(self, glyph) -> bool:
        return glyph in self._target

    def __getitem__(self, glyph):
        width = self._target[glyph]
        self._log.append((glyph, width))
        return width

    def __setitem__(self, glyph, width) -> None:
        self._log.append((glyph, width))
        self._target[glyph] = width


class _RecordingFont:
    def __init__(self, font, key) -> None:
        if font.bitmap or font.png or font.svg or font.colr:
            raise _Unrememberable
        self._font = font
        self.key = key
        self.to_unicode_log: list = []
        self.widths_log: list = []
        self.to_unicode = _RecordingToUnicode(font.to_unicode, self.to_unicode_log)
        self.widths = _RecordingWidths(font.widths, self.widths_log)

    def get_unused_glyph_id(self, codepoint):
        raise _Unrememberable  # a .notdef glyph: drawn by WeasyPrint, not kept

    def __getattr__(self, name):
        return getattr(self._font, name)


class _RecordingStream:
    """Stands in for the stream in `draw_first_line`: passes every call through and notes
    those the line is made of."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.operations: list[tuple] = []

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def add_font(self, pango_font):
        font, font_size = self._stream.add_font(pango_font)
        key = _fonts.get_pango_font_key(pango_font)[0]
        recording = _RecordingFont(font, key)
        self.operations.append(("font", recording))
        return recording, font_size

    def show_text(self, text):
        self.operations.append(("show", text))
        self._stream.show_text(text)

    def set_font_size(self, font, size):
        self.operations.append(("size", font, size))
        self._stream.set_font_size(font, size)

    def set_text_rise(self, height):
        self.operations.append(("rise", height))
        self._stream.set_text_rise(height)


def _frozen(operations: list[tuple]) -> tuple:
    frozen = []
    for operation in operations:
        if operation[0] == "font":
            font = operation[1]
            # Flat tuples of glyph ids and values: a tuple per glyph cost twice the memory.
            frozen.append(("font", font.key,
                           tuple(glyph for glyph, _ in font.to_unicode_log),
                           tuple(text for _, text in font.to_unicode_log),
                           tuple(glyph for glyph, _ in font.widths_log),
                           tuple(width for _, width in font.widths_log)))
        else:
            frozen.append(operation)
    return tuple(frozen)


def _replay(stream, line: tuple, matrix) -> bool:
    fonts = stream._fonts
    for operation in line:
        if operation[0] == "font" and operation[1] not in fonts:
            return False
    stream.set_text_matrix(*matrix.values)
    for operation in line:
        kind = operation[0]
        if kind == "show":
            stream.show_text(operation[1])
        elif kind == "size":
            stream.set_font_size(operation[1], operation[2])
        elif kind == "rise":
            stream.set_text_rise(operation[1])
        else:
            _, font_key, text_glyphs, texts, width_glyphs, widths_read = operation
            font = fonts[font_key]
            to_unicode, widths = font.to_unicode, font.widths
            for glyph, text in zip(text_glyphs, texts):
                if glyph not in to_unicode:
                    to_unicode[glyph] = text
            for glyph, width in zip(width_glyphs, widths_read):
                if glyph not in widths:
                    widths[glyph] = width
    return True


def draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix):
    layout = textbox.pango_layout
    if not _SCOPE.active() or text_overflow == "ellipsis" or block_ellipsis != "none":
        _activate(layout)
        return _draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix)
    if not textbox.text.strip() or textbox.style["font_size"] < 1e-6:
        return []  # what WeasyPrint draws for blank text: nothing, so no layout is built for it
    style = layout.__dict__.get(_PENDING) or textbox.style
    style_values = text_style_values(style)
    if style_values is None:
        _activate(layout)
        return _draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix)
    key = (layout.text, layout.justification_spacing, style_values)
    font_config = style.font_config
    line = _lines.get(font_config, key)
    if type(line) is tuple and _replay(stream, line, matrix):
        return []
    _activate(layout)
    if line is not _SEEN_ONCE and not (line is None and _lines.made_before(font_config, key)):
        # Recorded the second time it is drawn (in this render, or since an earlier render
        # drew it too), so a line drawn once only (a one-off value, a process's single render)
        # costs no recording; and drawn by WeasyPrint when the document does not embed the
        # recorded line's fonts yet.
        if line is None:
            _lines.put(font_config, key, _SEEN_ONCE)
        return _draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix)
    recording = _RecordingStream(stream)
    position, current_font = len(stream.stream), stream._current_font
    try:
        emojis = _draw_first_line(recording, textbox, text_overflow, block_ellipsis, matrix)
    except _Unrememberable:
        # Nothing half-written: the operators and the font state go back to where they were,
        # and WeasyPrint draws the line anew.
        del stream.stream[position:]
        stream._current_font = current_font
        _lines.put(font_config, key, _NOT_KEPT)
        return _draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix)
    _lines.put(font_config, key, _frozen(recording.operations) if not emojis else _NOT_KEPT)
    return emojis


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    # draw_text calls it through the module; the SVG text imports it from there when it draws.
    _draw_text.draw_first_line = draw_first_line
    _Layout.reactivate = reactivate
    _Layout.deactivate = deactivate
