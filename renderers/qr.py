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
from qrcode.image.svg import SvgPathImage

from renderers.environment import DEFAULT_VERIFICATION_BASE, Environment

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
    # box_size=10 makes SvgPathImage's unit (box_size / 10 mm) one module, so its path data
    # is already in module coordinates and fits a viewBox of modules.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2,
                       image_factory=SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    image = qr.make_image()
    image.to_string()  # builds image.path
    d = image.path.get("d", "")
    if not d or not _PATH_DATA.match(d):
        raise ValueError("unexpected SVG path data from qrcode")
    return QrCode(data=data, path=d, size=qr.modules_count + 2 * qr.border)
