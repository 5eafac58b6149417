"""The QR mask chosen by renderers.qr_mask is qrcode's own choice, and each mask's score is
qrcode's `util.lost_point`, over codes of many sizes (format and version information
included) and every error-correction level; the QR codes certseal draws are the ones
qrcode's `make` draws."""
from __future__ import annotations

import random
import string

import pytest
import qrcode
import qrcode.constants
from qrcode import util

from renderers.environment import Environment
from renderers.qr import dark_runs_path, qr_code, verification_url
from renderers.qr_mask import _bits, _transpose, choose_mask, penalty

LEVELS = (qrcode.constants.ERROR_CORRECT_L, qrcode.constants.ERROR_CORRECT_M,
          qrcode.constants.ERROR_CORRECT_Q, qrcode.constants.ERROR_CORRECT_H)


def _codes(count: int, seed: int) -> list[qrcode.QRCode]:
    rng = random.Random(seed)
    codes = []
    for _ in range(count):
        length = rng.choice((1, 7, 30, 60, 61, 62, 90, 140, 260, 420))
        data = "".join(rng.choice(string.ascii_letters + string.digits + "/:.-") for _ in range(length))
        qr = qrcode.QRCode(error_correction=rng.choice(LEVELS), border=2)
        qr.add_data(data)
        qr.best_fit()
        codes.append(qr)
    return codes


def test_each_masks_score_is_qrcodes_lost_point() -> None:
    versions = set()
    for qr in _codes(40, seed=7):
        versions.add(qr.version)
        for pattern in range(8):
            qr.makeImpl(True, pattern)
            rows = _bits(qr.modules)
            assert penalty(rows, _transpose(rows, qr.modules_count), qr.modules_count) == util.lost_point(qr.modules)
    assert min(versions) <= 3 and max(versions) >= 10  # small codes and codes with version information


def test_the_chosen_mask_is_qrcodes_best_mask_pattern() -> None:
    chosen = set()
    for qr in _codes(60, seed=11):
        expected = qr.best_mask_pattern()
        assert choose_mask(qr) == expected
        chosen.add(expected)
    assert len(chosen) >= 6  # the choice is not one mask every time


def test_a_score_counts_each_rule() -> None:
    n = 21
    light = [0] * n
    # All light: runs of 21 in every row and column (19 each), 20 x 20 blocks, all light (50 %).
    assert penalty(light, light, n) == 2 * n * 19 + 3 * 20 * 20 + 100
    # One finder-like pattern (40) in a top row, which also changes the runs, blocks and share.
    one_finder = [int("10111010000" + "0" * 10, 2)] + [0] * (n - 1)
    cols = _transpose(one_finder, n)
    assert penalty(one_finder, cols, n) == util.lost_point([[c == "1" for c in format(r, f"0{n}b")] for r in one_finder])


@pytest.mark.parametrize("env", list(Environment))
def test_certseal_draws_the_code_qrcode_makes(env: Environment) -> None:
    for number in range(25):
        data = verification_url(env, f"CHEDPP.BE.2026.{number:07d}")
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
        qr.add_data(data)
        qr.make(fit=True)
        drawn = qr_code.__wrapped__(data)
        assert (drawn.size, drawn.path) == (len(qr.get_matrix()), dark_runs_path(qr.get_matrix()))
