"""Line breaks remembered across renders: WeasyPrint's `split_first_line` answered from a
cache when the same text is fitted with the same font and text properties into the same width.

`split_first_line` shapes a text with Pango and finds where its first line ends. It is the
costliest text step of a render (about 17 % of py-spy's samples, 4-page CHED-PP, some 900
calls), and most of its calls repeat from one certificate to the next: the box labels of a
model in a language pair do not change, and within one render the preferred-width pass and
the layout fit many texts twice. Its answer depends only on its arguments, the style
properties it and Pango's layout set-up read (`text_memory.TEXT_PROPERTIES`), and the font
configuration; WeasyPrint hands back a deactivated `Layout` (text and a few metrics, no Pango object),
which the draw step re-shapes. So a remembered answer gives the same PDF, byte for byte; each
caller gets its own copy of the `Layout`, since drawing re-activates and may change it.
Per nl+en CHED-PP render with the labels remembered: 2.88 -> 2.64 G instructions (-8 %);
CPU time, interleaved in one process, 483 -> 422 ms for the same certificate again and
454 -> 402 ms for one with new names and addresses (Pango's shaping costs more time than
its instruction count says).

Not remembered: styles whose values are not hashable (sets and lists are taken as their
frozen twins), a hyphenation zone holding a math function (resolved against the whole
style), and an answer that is not a deactivated `Layout`. The cache is per
`FontConfiguration` (certseal keeps one per process) and bounded (least recently used
answers go first). Like WeasyPrint's
own strut cache on the font configuration, it assumes no @font-face rule is added to a
configuration once texts were laid out with it: certseal's stylesheets have none, and they
are parsed before the first render.

It applies only inside `first_lines_remembered()` (certseal's renders; the bench's naive
baseline and other documents run WeasyPrint unchanged) and only on the WeasyPrint source it
was checked against (`ACTIVE`).
"""
from __future__ import annotations

from weasyprint.layout import inline as _inline
from weasyprint.layout import preferred as _preferred
from weasyprint.text import fonts as _fonts
from weasyprint.text import line_break as _line_break

from renderers import scoped_patch
from renderers.text_memory import PerFontConfiguration, text_style_values

# sha256 over the sources the cache key was read from (see `source_sha256`), WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "0d48dacda0ca0aeb53d03ae05bacc6dd3123dff443fba3729fa319239809549d"
# About 900 calls per 4-page certificate, half of them distinct; about 1 kB per answer: room
# for the labels of every model in several language pairs beside a long consignment's values.
_answers = PerFontConfiguration(max_entries=5_000)
# What only one render shaped is forgotten as it ends (renderers.render_memory).
_SCOPE = scoped_patch.Scope("certseal_first_lines_remembered", when_left=lambda: _answers.end_render())
first_lines_remembered = _SCOPE.on  # the block in which certseal's renders use the cache
_split_first_line = _line_break.split_first_line
_Layout = _line_break.Layout


def _checked_sources() -> tuple:
    return (_split_first_line, _line_break.first_line_metrics, _Layout, _line_break.create_layout,
            _line_break.line_size, _fonts.get_font_description, _fonts.font_features)


def source_sha256() -> str:
    return scoped_patch.sources_sha256(*_checked_sources())


def cache_size(font_config) -> int:
    return _answers.size(font_config)


def _copy(layout):
    copy = _Layout.__new__(_Layout)
    copy.__dict__.update(layout.__dict__)
    return copy


def split_first_line(text, style, context, max_width, justification_spacing,
                     is_line_start=True, minimum=False):
    if not _SCOPE.active():
        return _split_first_line(text, style, context, max_width, justification_spacing,
                                 is_line_start, minimum)
    style_values = text_style_values(style)
    if style_values is None:
        return _split_first_line(text, style, context, max_width, justification_spacing,
                                 is_line_start, minimum)
    key = (text, max_width, justification_spacing, is_line_start, minimum, style_values)
    answer = _answers.get(style.font_config, key)
    if answer is None:
        answer = _split_first_line(text, style, context, max_width, justification_spacing,
                                   is_line_start, minimum)
        layout = answer[0]
        if type(layout) is not _Layout or hasattr(layout, "layout"):
            return answer  # not the deactivated Layout this was checked with: not kept
        _answers.put(style.font_config, key, answer)
    return (_copy(answer[0]), *answer[1:])


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    # inline and preferred imported the function by name; the SVG text module imports it
    # from line_break when it draws.
    _line_break.split_first_line = split_first_line
    _inline.split_first_line = split_first_line
    _preferred.split_first_line = split_first_line
