"""Boxes with nothing to paint behind them are settled from a flag kept on their style
(renderers.bare_boxes): every box gets the backgrounds and corner radii WeasyPrint's own walk
gives it, and the certificate is the same PDF."""
from __future__ import annotations

import contextlib

import pytest
from weasyprint import HTML
from weasyprint.formatting_structure.boxes import BlockBox

import renderers.bare_boxes as bare_boxes
import renderers.pdf as pdf_module
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate

_RADII = ("border_top_left_radius", "border_top_right_radius",
          "border_bottom_right_radius", "border_bottom_left_radius")


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed layout_box_backgrounds or
    # resolve_radii_percentages: compare renderers.bare_boxes._is_bare with the new code,
    # then update the checksum.
    assert bare_boxes.ACTIVE, bare_boxes.source_sha256()


@pytest.mark.parametrize("name, model, destination", [
    ("roses-ke-nl", "CHED-PP", "zh"),
    ("horses-ch-de", "CHED-A", None),
])
def test_the_pdf_is_the_one_weasyprint_lays_out(monkeypatch, name, model, destination):
    cert = sample_certificate(name, model, destination)
    assert render_certificate(cert).data == render_without(monkeypatch, cert, "bare_boxes_settled")


def _backgrounds(html: str, *, settled: bool) -> list[tuple]:
    """Every box's background, corner radii and border image, as WeasyPrint left them for
    drawing; column boxes included (all_children)."""
    scope = bare_boxes.bare_boxes_settled() if settled else contextlib.nullcontext()
    with scope:
        document = HTML(string=html).render(font_config=pdf_module.font_configuration())
    found = []
    for page in document.pages:
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            background = getattr(box, "background", "unset")
            if background not in (None, "unset"):  # its style: whatever properties were read
                background = (background.color, [  # an image by its kind: each render makes its own
                    layer._replace(image=type(layer.image).__name__) for layer in background.layers])
            found.append((type(box).__name__, getattr(box, "element_tag", None), repr(background),
                          tuple(getattr(box, radius, None) for radius in _RADII),
                          type(getattr(box, "border_image", None)).__name__))
            stack.extend(box.all_children() if hasattr(box, "all_children") else ())
    return found


def test_shading_radii_shadows_images_and_hidden_boxes_as_weasyprint_lays_them_out():
    # An image that fails to load, transparent and currentcolor backgrounds, a hidden box
    # with a colour, radii in px, % and 0, a shadow alone, a border image alone, a table
    # with shaded rows and columns, and the canvas background taken from body.
    html = """<style>
      body { background: #eef; color: rgba(0, 0, 0, 0); }
      .shade { background: #ddd; } .round { border-radius: 4px 10%; border: 1px solid; }
      .square { border-radius: 0 5px; } .shadow { box-shadow: 2px 2px 3px #000; }
      .img { background-image: url(missing.png); } .grad { background: linear-gradient(red, blue); }
      .hidden { visibility: hidden; background: red; } .current { background: currentcolor; }
      .bimg { border: 5px solid; border-image: linear-gradient(red, blue) 5; }
      .clear { background: transparent; } col.c { background: #efe; } tr.r { background: #fee; }
    </style>
    <div class="shade">shaded <span class="round">round</span></div>
    <div class="square">square</div><div class="shadow">shadow</div>
    <div class="img">image</div><div class="grad">gradient</div>
    <div class="hidden">hidden <span class="shade">shaded in hidden</span></div>
    <div class="current">current colour</div><div class="bimg">border image</div>
    <p class="clear">plain <b>bold</b> text</p>
    <table><colgroup><col class="c"><col></colgroup>
      <tr class="r"><td>1</td><td class="round">2</td></tr><tr><td class="shade">3</td><td>4</td></tr>
    </table>"""
    settled = _backgrounds(html, settled=True)
    assert settled == _backgrounds(html, settled=False)
    # The page had both kinds of box: bare ones and ones WeasyPrint painted or rounded.
    assert sum(background == "None" for _, _, background, _, _ in settled) > 20
    assert sum(background not in ("None", "'unset'") for _, _, background, _, _ in settled) >= 6
    assert sum(radii != ((0, 0),) * 4 for _, _, _, radii, _ in settled) >= 3
    assert sum(image != "NoneType" for _, _, _, _, image in settled) == 1


def test_a_bare_style_is_told_apart_from_every_painted_one():
    document = HTML(string="""<style>.r { border-radius: 3px } .h { visibility: hidden; background: red }
        .s { box-shadow: 1px 1px #000 } .c { background: rgba(0, 0, 0, 0.5) }</style>
        <p>plain</p><p class="r">r</p><p class="h">h</p><p class="s">s</p><p class="c">c</p>""").render(
        font_config=pdf_module.font_configuration())
    styles = {box.element.get("class", "plain"): box.style  # the block, not its line boxes
              for box in document.pages[0]._page_box.descendants()
              if isinstance(box, BlockBox) and box.element_tag == "p"}
    assert {name: bare_boxes._is_bare(style) for name, style in styles.items()} == {
        "plain": True, "r": False, "h": True, "s": False, "c": False}
