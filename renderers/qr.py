"""The verification URL and its QR code, as vector SVG markup for inline use in the HTML.

The URL's host differs per environment (DEFAULT_VERIFICATION_BASE), one of the three
environment signals a verifier cross-checks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
from markupsafe import Markup

from renderers.environment import DEFAULT_VERIFICATION_BASE, Environment
from renderers.qr_mask import choose_mask

# What a path's `d` attribute from qrcode's SvgPathImage may contain; anything else would
# mean the SVG is not what we think it is, and it must not reach the HTML unescaped.
_PATH_DATA = re.compile(r"^[MmLlHhVvZz0-9.\s,-]+$")


def verification_url(env: Environment, reference: str, base: str | None = None) -> str:
    base = base or DEFAULT_VERIFICATION_BASE[env]
    if not base.endswith("/"):
        base += "/"
    return base + reference


@dataclass(frozen=True)
class QrCode:
    data: str  # exactly what is encoded
    path: str  # SVG path data of the dark modules, in module units
    size: int  # modules per side, quiet zone included

    def svg(self, css_class: str = "qr") -> Markup:
        """Inline <svg>: built here from checked parts, so it is safe to emit as Markup."""
        return Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" viewBox="0 0 {n} {n}" '
            'role="img" aria-label="{label}" shape-rendering="crispEdges">'
            '<path d="{d}" fill="#000" stroke="none"/></svg>'
        ).format(cls=css_class, n=self.size, label=self.data, d=self.path)


@lru_cache(maxsize=256)
def qr_code(data: str) -> QrCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(data)
    qr.best_fit()
    qr.makeImpl(False, choose_mask(qr))  # what qr.make(fit=True) makes, its mask found faster
    matrix = qr.get_matrix()  # quiet zone included
    d = dark_runs_path(matrix)
    if not d or not _PATH_DATA.match(d):
        raise ValueError("unexpected SVG path data for the QR code")
    return QrCode(data=data, path=d, size=len(matrix))


def dark_runs_path(matrix: list[list[bool]]) -> str:
    """SVG path data, in module units, with one rectangle per horizontal run of dark modules.
    qrcode's own SvgPathImage draws one square per module: three times the path data, which
    WeasyPrint's Python path parser took ~50 ms to read on every render."""
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return "".join(parts)
