"""The QR code's mask chosen as qrcode chooses it, without drawing the code eight times.

qrcode's `best_mask_pattern` places the data eight times, once per mask, and scores each
matrix with `util.lost_point`, module by module in Python: about 5 of the 8 ms a QR code took,
paid once per certificate (every certificate has its own reference, hence its own code).

Here the data is placed once (mask 0, in qrcode's test mode, as `best_mask_pattern` places it);
the unmasked matrix follows by undoing mask 0 on the data modules, and each mask's matrix is
that XOR the mask's pattern over the data modules. Rows and columns are Python ints, one bit
per module, so the four penalty rules are a few shifts and popcounts per line:
- runs of five or more modules of one colour, in rows and columns: a run of L scores L - 2,
  which is its (L - 4) windows of five plus 2;
- 2x2 blocks of one colour: 3 each;
- 1:1:3:1:1 finder-like patterns with four light modules on one side (10111010000 or its
  mirror 00001011101): 40 each; the two are mirrors, so the bit order of a line is free;
- the share of dark modules, 10 per 5 % away from half, with qrcode's float arithmetic.
The first mask with the lowest score wins, as in qrcode. The data modules are the ones
qrcode's blank for the version leaves empty once the (test-mode) format and version
information are set, which is exactly what its `map_data` fills.

tests/test_render_qr_mask.py checks, over codes of every size the data here can take and
beyond, each mask's score against `util.lost_point` and the chosen mask against
`best_mask_pattern`.
"""
from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.main
from qrcode import util

Lines = tuple[int, ...]

# 10111010000 and its mirror, as (offset, dark) for each of the 11 modules.
_FINDER_LIKE = tuple(tuple((k, bit == "1") for k, bit in enumerate(pattern))
                     for pattern in ("10111010000", "00001011101"))


def choose_mask(qr: qrcode.QRCode) -> int:
    """The mask `qr.best_mask_pattern()` would return; `qr` must hold its data."""
    qr.makeImpl(True, 0)
    n = qr.modules_count
    data_rows, data_cols = _data_modules(qr.version)
    rows0 = _bits(qr.modules)
    mask_rows, mask_cols = _mask_lines(n)
    base_rows = [r ^ (m & d) for r, m, d in zip(rows0, mask_rows[0], data_rows)]
    base_cols = _transpose(base_rows, n)
    scores = []
    for pattern in range(8):
        rows = [b ^ (m & d) for b, m, d in zip(base_rows, mask_rows[pattern], data_rows)]
        cols = [b ^ (m & d) for b, m, d in zip(base_cols, mask_cols[pattern], data_cols)]
        scores.append(penalty(rows, cols, n))
    return scores.index(min(scores))


def penalty(rows: list[int], cols: list[int], n: int) -> int:
    """`util.lost_point` of the matrix whose rows and columns these are (bit per module)."""
    full = (1 << n) - 1
    score = 0
    for line in (*rows, *cols):
        light = ~line & full
        for run in (line, light):
            windows = run & run >> 1 & run >> 2 & run >> 3 & run >> 4
            if windows:
                score += windows.bit_count() + 2 * (windows & ~(windows >> 1)).bit_count()
        for pattern in _FINDER_LIKE:
            match = full
            for k, dark in pattern:
                match &= (line if dark else light) >> (10 - k)
            score += 40 * match.bit_count()
    for above, below in zip(rows, rows[1:]):
        dark = above & below
        light = ~(above | below) & full
        score += 3 * ((dark & dark >> 1).bit_count() + (light & light >> 1).bit_count())
    dark_count = sum(row.bit_count() for row in rows)
    percent = float(dark_count) / (n**2)
    score += int(abs(percent * 100 - 50) / 5) * 10
    return score


def _bits(matrix: list[list[bool | None]]) -> list[int]:
    """Each row as an int, a set bit per true module (column 0 the highest bit)."""
    return [int("".join("1" if module else "0" for module in row), 2) for row in matrix]


def _transpose(rows: list[int], n: int) -> list[int]:
    strings = [format(row, f"0{n}b") for row in rows]
    return [int("".join(column), 2) for column in zip(*strings)]


@lru_cache(maxsize=None)
def _data_modules(version: int) -> tuple[Lines, Lines]:
    """Rows and columns of the modules `map_data` fills for this version, as bits."""
    probe = qrcode.QRCode(version=version)
    probe.modules_count = version * 4 + 17
    probe.modules = qrcode.main.copy_2d_array(qrcode.main.precomputed_qr_blanks[version])
    probe.setup_type_info(True, 0)
    if version >= 7:
        probe.setup_type_number(True)
    rows = _bits([[module is None for module in row] for row in probe.modules])
    return tuple(rows), tuple(_transpose(rows, probe.modules_count))


@lru_cache(maxsize=None)
def _mask_lines(n: int) -> tuple[tuple[Lines, ...], tuple[Lines, ...]]:
    """Per mask, the rows and columns of the modules it flips, from qrcode's own functions."""
    rows_by_mask, cols_by_mask = [], []
    for pattern in range(8):
        flips = util.mask_func(pattern)
        rows = _bits([[flips(i, j) for j in range(n)] for i in range(n)])
        rows_by_mask.append(tuple(rows))
        cols_by_mask.append(tuple(_transpose(rows, n)))
    return tuple(rows_by_mask), tuple(cols_by_mask)
