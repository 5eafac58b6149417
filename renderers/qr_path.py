"""The QR code's path is drawn without going through WeasyPrint's general SVG path parser.

The QR code is one SVG path of about 400 rectangles, one per horizontal run of dark modules
(`renderers.qr.dark_runs_path`: `M{x} {y}h{w}v1h-{w}z` each). WeasyPrint's parser reads path
data for every SVG command: it rewrites the string once per command letter, splits it with
regular expressions, and converts each number through its unit parser: about 4 % of a
certificate render (py-spy), for 2,000 commands. Path data in exactly that form, and only
that form, is drawn here: the same stream operations with the same numbers, and the same
vertices recorded on the node, as WeasyPrint's `path` makes for it. Any other path (a
template's own icon, relative curves, units) goes through WeasyPrint.

Only inside `qr_path_drawn_directly()` (certseal's renders) and on the WeasyPrint source it
was checked against (`ACTIVE`).
"""
from __future__ import annotations

import re
from math import pi

from weasyprint import svg as _svg

from renderers import scoped_patch

# sha256 of inspect.getsource(weasyprint.svg.path.path) in WeasyPrint 70.0: what `_draw_runs`
# mirrors for path data of this one form.
CHECKED_SOURCE_SHA256 = "194cd562b8d98251583c45d30938f4665547c796a15119e9ba05c25bb80f51d6"
_SCOPE = scoped_patch.Scope("certseal_qr_path")
qr_path_drawn_directly = _SCOPE.on
_path_drawn_by_weasyprint = _svg.TAGS["path"]  # weasyprint.svg.path.path
_RUNS = re.compile(r"(?:M\d+ \d+h\d+v1h-\d+z)+")
_RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def source_sha256() -> str:
    return scoped_patch.source_sha256(_path_drawn_by_weasyprint)


def _runs(data: str) -> list[tuple[float, float, float]] | None:
    """(x, y, width) of each rectangle, or None if the data is not all rectangles of that form."""
    if not _RUNS.fullmatch(data):
        return None
    runs = []
    for x, y, width, back in _RUN.findall(data):
        if width != back:
            return None
        runs.append((float(x), float(y), float(width)))
    return runs


def _draw_runs(stream, vertices: list, runs: list[tuple[float, float, float]]) -> None:
    # WeasyPrint's path: a move to the origin first, then per rectangle M, h, v, h, z, each
    # line recording its (incoming, outgoing) angles and end point, z a None.
    stream.move_to(0, 0)
    for x, y, width in runs:
        stream.move_to(x, y)
        vertices.append((x, y))
        right = x + width
        angle = 0 if right > x else pi
        vertices.append((pi - angle, angle))
        stream.line_to(right, y)
        vertices.append((right, y))
        bottom = y + 1
        angle = pi / 2 if bottom > y else -pi / 2
        vertices.append((pi - angle, angle))
        stream.line_to(right, bottom)
        vertices.append((right, bottom))
        left = right + -width
        angle = 0 if left > right else pi
        vertices.append((pi - angle, angle))
        stream.line_to(left, bottom)
        vertices.append((left, bottom))
        vertices.append(None)
        stream.close()


def path(svg, node, font_size):
    runs = _runs(node.get("d", "")) if _SCOPE.active() else None
    if runs is None:
        return _path_drawn_by_weasyprint(svg, node, font_size)
    _draw_runs(svg.stream, node.vertices, runs)


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    # SVG.draw_node finds the drawing function of a tag in this table.
    _svg.TAGS["path"] = path
