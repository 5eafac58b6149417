"""Hostile input at the verifier's edge: limits on size, time and memory, and --extract-signed.

Each case must end in a verdict with a reason, quickly, never in a hang or a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from renderers.samples import list_samples
from service.sandbox import Limits, LimitExceeded, run_limited, verify_untrusted
from signer.report import Verdict
from signer.trust import TrustStore

CERTSEAL = str(Path(sys.executable).parent / "certseal")
SAMPLE = next(s.path for s in list_samples() if s.model == "CHED-PP")


def certseal(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    env["CERTSEAL_HOME"] = str(home)
    return subprocess.run([CERTSEAL, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("hostile-home")
    assert certseal("pki", "init", "--env", "training", home=home).returncode == 0
    return home


@pytest.fixture(scope="module")
def original(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "original.pdf"
    proc = certseal("issue", str(SAMPLE), "-o", str(out), home=home)
    assert proc.returncode == 0, proc.stderr
    return out


def _update_first_page(original: Path, target: Path, stream: generic.StreamObject) -> Path:
    with original.open("rb") as fh:
        writer = IncrementalPdfFileWriter(fh)
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        page["/Contents"] = writer.add_object(stream)
        writer.update_container(page)
        with target.open("wb") as out:
            writer.write(out)
    return target


def verify_cli(path: Path, home: Path, *extra: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    proc = certseal("verify", str(path), "--json", *extra, home=home)
    elapsed = time.monotonic() - started
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout), elapsed


def test_decompression_bomb_in_an_update_ends_in_invalid(original: Path, home: Path, tmp_path: Path) -> None:
    comp = zlib.compressobj(9)
    bomb = b"".join(comp.compress(bytes(1 << 24)) for _ in range(80)) + comp.flush()  # 1.25 GiB of zeros
    stream = generic.StreamObject({generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")}, encoded_data=bomb)
    bad = _update_first_page(original, tmp_path / "bomb.pdf", stream)
    code, report, elapsed = verify_cli(bad, home)
    assert (code, report["verdict"]) == (1, "INVALID")
    assert report["reasons"]
    assert elapsed < 60


def test_a_500_mb_file_is_refused_without_reading_it_into_memory(home: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as fh:
        fh.write(b"%PDF-1.7\n")
        fh.truncate(500 << 20)  # sparse: costs no disk
    code, report, _ = verify_cli(big, home)
    assert (code, report["verdict"]) == (1, "INVALID")
    assert "MiB" in report["reasons"][0]
    assert len(report["file_sha256"]) == 64


def test_xref_loop_and_self_referencing_objects_end_in_a_verdict(home: Path, tmp_path: Path) -> None:
    # /Prev points at itself and the page tree is its own kid.
    body = (b"%PDF-1.7\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type/Pages/Kids[2 0 R]/Count 1>> endobj\n")
    xref_at = len(body)
    pdf = body + (b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000056 00000 n \n"
                  b"trailer <</Root 1 0 R/Size 3/Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (xref_at, xref_at))
    loop = tmp_path / "loop.pdf"
    loop.write_bytes(pdf)
    code, report, elapsed = verify_cli(loop, home)
    assert (code, report["verdict"]) == (1, "INVALID")
    assert elapsed < 30


@pytest.mark.parametrize("content", [os.urandom(4096), b"%PDF-" + os.urandom(20000), b"\x00" * 10])
def test_garbage_bytes_end_in_invalid(content: bytes, home: Path, tmp_path: Path) -> None:
    f = tmp_path / "g.pdf"
    f.write_bytes(content)
    code, report, _ = verify_cli(f, home)
    assert (code, report["verdict"]) == (1, "INVALID")


def _sleep_forever() -> None:
    while True:
        time.sleep(1)


def _spin() -> None:
    while True:
        pass


def _allocate() -> bytes:
    return bytes(4 << 30)


def test_sandbox_limits_wall_time_cpu_and_memory() -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="longer than"):
        run_limited(_sleep_forever, limits=Limits(wall_seconds=1))
    with pytest.raises(LimitExceeded, match="processor time"):
        run_limited(_spin, limits=Limits(cpu_seconds=1, wall_seconds=20))
    with pytest.raises(LimitExceeded, match="memory"):
        run_limited(_allocate, limits=Limits(extra_memory_bytes=256 << 20))
    assert time.monotonic() - started < 15
    assert run_limited(sum, [1, 2, 3]) == 6


def test_a_verdict_even_when_the_limits_stop_the_analysis(original: Path) -> None:
    report = verify_untrusted(original.read_bytes(), TrustStore({}), limits=Limits(wall_seconds=0.001))
    assert report.verdict is Verdict.INVALID
    assert "longer than" in report.reasons[0]


def test_extract_signed_writes_what_was_sealed_not_what_was_added(original: Path, home: Path, tmp_path: Path) -> None:
    forged = _update_first_page(original, tmp_path / "forged.pdf",
                                generic.StreamObject(stream_data=b"BT /F1 30 Tf 50 500 Td (APPROVED) Tj ET"))
    out = tmp_path / "what-was-sealed.pdf"
    code, report, _ = verify_cli(forged, home, "--extract-signed", "-o", str(out))
    assert (code, report["verdict"]) == (1, "INVALID")
    sealed = out.read_bytes()
    # The seal's revision: a prefix of the genuine file (which may go on with archive
    # timestamps), and not the forged page.
    assert original.read_bytes().startswith(sealed) and forged.read_bytes().startswith(sealed)
    assert b"APPROVED" not in sealed and len(sealed) < forged.stat().st_size
    # On its own the sealed revision is intact and whole; without the archive data that came
    # later its revocation status may be undecidable, but it is never a forgery.
    code, report, _ = verify_cli(out, home)
    assert report["signatures"][0]["intact"] is True and report["signatures"][0]["coverage"] == "ENTIRE_FILE"
    assert report["verdict"] in ("NO_LEGAL_VALUE", "INDETERMINATE") and code in (2, 3), report


def test_extract_signed_of_an_unsigned_file_writes_nothing(home: Path, tmp_path: Path) -> None:
    unsigned = tmp_path / "u.pdf"
    assert certseal("render", str(SAMPLE), "-o", str(unsigned), home=home).returncode == 0
    out = tmp_path / "o.pdf"
    proc = certseal("verify", str(unsigned), "--extract-signed", "-o", str(out), home=home)
    assert proc.returncode == 1
    assert not out.exists()
    assert "no signed revision" in proc.stderr
