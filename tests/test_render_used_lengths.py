"""WeasyPrint's resolve_percentages with the common cases in line (renderers.used_lengths)
gives every box the used values WeasyPrint's own gives, and the same PDF."""
from __future__ import annotations

import contextlib

import pytest
from weasyprint import HTML

import renderers.pdf as pdf_module
import renderers.used_lengths as used_lengths
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate

_USED_ATTRIBUTES = (
    "margin_left", "margin_right", "margin_top", "margin_bottom", "padding_left",
    "padding_right", "padding_top", "padding_bottom", "width", "min_width", "max_width",
    "height", "min_height", "max_height", "border_top_width", "border_right_width",
    "border_bottom_width", "border_left_width",
)


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed resolve_percentages, percentage or box
    # sizing: compare renderers.used_lengths with the new code, then update the checksum.
    assert used_lengths.ACTIVE, used_lengths.source_sha256()


@pytest.mark.parametrize("name, model, destination", [
    ("roses-ke-nl", "CHED-PP", "ar"),
    ("plants-40-lines-cr-fr", "CHED-PP", None),
])
def test_the_pdf_is_the_one_weasyprint_resolves(monkeypatch, name, model, destination):
    cert = sample_certificate(name, model, destination)
    used_lengths._remembered.clear()
    worked_out = render_certificate(cert).data  # every answer worked out, then kept
    remembered = render_certificate(cert).data  # the same boxes: every answer given back
    assert worked_out == remembered == render_without(monkeypatch, cert, "used_lengths_in_line")


def _used_values(html: str, *, in_line: bool) -> list[tuple]:
    """Every box's used lengths, as layout left them."""
    scope = used_lengths.used_lengths_in_line() if in_line else contextlib.nullcontext()
    with scope:
        document = HTML(string=html).render(font_config=pdf_module.font_configuration())
    values = []
    for page in document.pages:
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            values.append(tuple(getattr(box, name, None) for name in _USED_ATTRIBUTES))
            stack.extend(getattr(box, "children", ()))
    return values


_EDGE_CASES = """<style>
  @page { size: A5; margin: 10% 5mm; }
  div { box-sizing: border-box; border: 2px solid; }
  .a { width: 40%; margin: 5% auto; padding: 2% 3px; min-width: 10%; max-width: 90%; }
  .b { width: calc(50% - 10px); height: 20%; min-height: calc(1em + 5%); padding: 1em; }
  .c { box-sizing: padding-box; width: auto; max-height: 50%; margin-top: -3%; }
  .d { position: absolute; left: 10%; width: 30%; height: auto; }
  table { border-collapse: collapse; width: 80%; } td { border: 3px solid; padding: 5%; }
  .f { float: left; width: 25%; }
  .em { width: calc(4em + 0px); margin-left: calc(1em); }
</style>
<div class="a">A<div class="b">B</div><div class="c">C</div><div class="c">C again</div></div>
<div class="d">D</div><span class="f">F</span>
<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td style="width: 30%">4</td></tr></table>
<div style="height: 100px"><div style="height: 50%; min-height: auto">E</div></div>
<div class="em" style="font-size: 10px">small</div><div class="em" style="font-size: 30px">large</div>"""


def test_px_percent_auto_math_and_box_sizing_resolve_as_weasyprint_does():
    used_lengths._remembered.clear()  # every answer worked out
    assert _used_values(_EDGE_CASES, in_line=True) == _used_values(_EDGE_CASES, in_line=False)


def test_remembered_answers_are_the_ones_weasyprint_works_out():
    used_lengths._remembered.clear()
    expected = _used_values(_EDGE_CASES, in_line=False)
    assert _used_values(_EDGE_CASES, in_line=True) == expected  # worked out, kept
    assert used_lengths._remembered
    assert _used_values(_EDGE_CASES, in_line=True) == expected  # given back


def test_answers_through_a_math_function_are_not_kept():
    # The two .em boxes have the same computed width (the same calc() of the same rule) and
    # different font sizes: kept by their inputs, the second would get the first's width,
    # 40 px less its 2 px borders.
    used_lengths._remembered.clear()
    _used_values(_EDGE_CASES, in_line=True)
    for _, inputs, *_ in used_lengths._remembered:
        assert all(value is None or isinstance(value, (str, int, float)) or hasattr(value, "unit")
                   for value in inputs), inputs
    widths = {value[8] for value in _used_values(_EDGE_CASES, in_line=True) if value[8] in (36, 116)}
    assert widths == {36, 116}


def test_the_answers_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(used_lengths, "MAX_REMEMBERED", 5)
    used_lengths._remembered.clear()
    assert _used_values(_EDGE_CASES, in_line=True) == _used_values(_EDGE_CASES, in_line=False)
    assert 0 < len(used_lengths._remembered) <= 5
