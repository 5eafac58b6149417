"""Whether a box is in normal flow, read from its style's float and position once each
(renderers.normal_flow): the answer WeasyPrint's five methods give, for every kind of box,
and the same PDF."""
from __future__ import annotations

import pytest
from weasyprint import HTML
from weasyprint.formatting_structure import boxes

import renderers.normal_flow as normal_flow
import renderers.pdf as pdf_module
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed is_in_normal_flow or a method it asks, or
    # added a box class that answers one of them its own way.
    assert normal_flow.ACTIVE, (normal_flow.source_sha256(), normal_flow._overridden())


def test_every_box_gets_weasyprints_answer():
    html = """<style>
      @page { @top-center { content: element(head) } }
      .run { position: running(head) } .note { float: footnote }
      .l { float: left; width: 20% } .r { float: right } .abs { position: absolute; top: 0 }
      .fix { position: fixed; bottom: 0 } .rel { position: relative } .sticky { position: sticky }
    </style>
    <div class="run">running header</div>
    <p>text<span class="note">a footnote</span> <span class="l">left</span> <span class="r">end</span></p>
    <div class="abs">absolute</div><div class="fix">fixed</div><div class="rel">relative <b>bold</b></div>
    <div class="sticky">sticky</div><table><tr><td class="l">cell</td></tr></table><ul><li>item</li></ul>"""
    with normal_flow.normal_flow_read_once():
        document = HTML(string=html).render(font_config=pdf_module.font_configuration())
        found = []
        for page in document.pages:
            for box in page._page_box.descendants(placeholders=True):
                if hasattr(box, "style"):
                    found.append((type(box).__name__, normal_flow.is_in_normal_flow(box),
                                  normal_flow._is_in_normal_flow(box)))
    assert all(ours == weasyprints for _, ours, weasyprints in found), [f for f in found if f[1] != f[2]]
    # The page had boxes of both kinds: in flow and out of it.
    assert {ours for _, ours, _ in found} == {True, False}
    assert sum(not ours for _, ours, _ in found) >= 5


@pytest.mark.parametrize("float_", ["none", "left", "right", "inline-start", "inline-end", "footnote"])
@pytest.mark.parametrize("position", ["static", "relative", "sticky", "absolute", "fixed",
                                      ("running()", "header"), ("note()", "remark")])
def test_each_float_and_position_gets_weasyprints_answer(float_, position):
    box = boxes.BlockBox("div", {"float": float_, "position": position}, None, [])
    with normal_flow.normal_flow_read_once():
        assert normal_flow.is_in_normal_flow(box) is normal_flow._is_in_normal_flow(box)


@pytest.mark.parametrize("name, model, destination", [
    ("roses-ke-nl", "CHED-PP", "he"),
    ("cheese-de-nz", "EXPORT", None),
])
def test_the_pdf_is_the_one_weasyprint_lays_out(monkeypatch, name, model, destination):
    cert = sample_certificate(name, model, destination)
    assert render_certificate(cert).data == render_without(monkeypatch, cert, "normal_flow_read_once")
