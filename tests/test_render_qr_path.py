"""The QR code's path is drawn without WeasyPrint's general path parser (renderers.qr_path):
the same stream operations and node vertices as WeasyPrint's, the same PDF, and any other
path data left to WeasyPrint."""
from __future__ import annotations

import pydyf
import pytest
from weasyprint.svg import SVG

import renderers.qr_path as qr_path
from renderers.qr import qr_code
from renderers.render import render_certificate
from _render_helpers import render_without, sample_certificate


class _Node(dict):
    """What path() reads and writes of an SVG node: its attributes and its vertices."""

    def __init__(self, d: str) -> None:
        super().__init__(d=d)
        self.vertices: list = []


class _Svg:
    point = SVG.point  # WeasyPrint's own unit conversion, which its path() calls

    def __init__(self) -> None:
        self.stream = pydyf.Stream()
        self.inner_width = self.inner_height = 41


def _drawn(draw, d: str) -> tuple[list[bytes], list]:
    svg, node = _Svg(), _Node(d)
    draw(svg, node, 12)
    return svg.stream.stream, node.vertices


def _directly(svg, node, font_size):
    with qr_path.qr_path_drawn_directly():
        qr_path.path(svg, node, font_size)


def test_checked_against_the_installed_weasyprint():
    # Fails after a WeasyPrint upgrade that changed svg.path.path: check that _draw_runs still
    # makes what it makes for M/h/v/h/z rectangles, then update the checksum.
    assert qr_path.ACTIVE, qr_path.source_sha256()


@pytest.mark.parametrize("url", [
    "https://training.certseal.example/certificates/CHEDPP.BE.2026.0001234",
    "https://certificates.example.eu/verify/" + "INTRA.NL.2026.0000001" * 4,  # a larger code
])
def test_the_qr_code_is_drawn_as_weasyprint_draws_it(url):
    data = qr_code(url).path
    direct = _drawn(_directly, data)
    assert direct == _drawn(qr_path._path_drawn_by_weasyprint, data)
    assert len(direct[0]) > 500  # a real code: hundreds of rectangles


@pytest.mark.parametrize("d", [
    "M2 2h7v1h-6z",  # the way back is not the way out
    "M2 2h7v2h-7z",  # two modules high
    "m2 2h7v1h-7z",  # relative move
    "M2 2h7v1h-7zM1 1l3 3z",  # another command after the rectangles
    "M2.5 2h7v1h-7z",  # a fraction
    "M2 2h7v1h-7z ",  # trailing space
    "",
])
def test_other_path_data_is_left_to_weasyprint(d):
    assert qr_path._runs(d) is None


def test_other_path_data_draws_as_weasyprint_draws_it():
    d = "M1 1h3v1h-2zm4 0c1 1 2 2 3 3q1 0 2 1z"
    assert _drawn(_directly, d) == _drawn(qr_path._path_drawn_by_weasyprint, d)


def test_the_pdf_is_the_one_weasyprint_draws(monkeypatch):
    cert = sample_certificate("roses-ke-nl", "CHED-PP", "el")
    assert render_certificate(cert).data == render_without(monkeypatch, cert, "qr_path_drawn_directly")
