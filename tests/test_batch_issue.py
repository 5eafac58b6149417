"""`certseal issue DIR|GLOB|FILE... -o OUTDIR --jobs N` end to end: the installed script in a
subprocess on a directory of real sample certificates (plus a broken one, plus TRACES SPS XML
when shared/ is beside the checkout), a training PKI with its CA services (so the originals
are PAdES B-LTA and the forked workers seal through the parent's loopback TSA / OCSP), each
original verified from its bytes. Then what a re-run does, and the progress display."""
from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import SHARED
from renderers.samples import list_samples
from service.config import load_config
from service.batch import ItemResult, Outcome, failure_list
from service.progress import Progress
from service.trust import trust_store
from signer.verify import verify_pdf
from test_cli_end_to_end import CERTSEAL, run

SAMPLES = {s.path.name: s.path for s in list_samples()}
GOOD = ("roses-ke-nl.json", "bovine-nl-be.json", "peppers-tr-fr.json")
SPS = SHARED / "samples" / "sps" / "CHEDPP.DE.2018.0000015.xml"
SUMMARY = re.compile(r"issued (\d+), failed (\d+), skipped (\d+) of (\d+)")


def summary(proc: subprocess.CompletedProcess[str]) -> tuple[int, int, int, int]:
    found = SUMMARY.search(proc.stdout)
    assert found, f"no summary in stdout:\n{proc.stdout}\n{proc.stderr}"
    return tuple(int(n) for n in found.groups())  # type: ignore[return-value]


def temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.startswith(".") or p.suffix == ".part"]


def embedded_certificate(pdf: Path) -> dict:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from signer.metadata import read_embedded_file

    with pdf.open("rb") as fh:
        return json.loads(read_embedded_file(PdfFileReader(fh, strict=False)))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training PKI with its CA services, registered by `certseal pki init` (the default)."""
    home = tmp_path_factory.mktemp("batch-home")
    run("pki", "init", "--env", "training", home=home, check=True)
    return home


@dataclass(frozen=True)
class Backlog:
    inputs: Path
    out: Path
    good: dict[str, str]  # input file name → reference
    proc: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def backlog(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Backlog:
    """One batch run on a directory: three JSON samples, SPS XML if available, a certificate
    missing its consignor (box I.1), and a file that is not an input at all."""
    root = tmp_path_factory.mktemp("backlog")
    inputs = root / "in"
    inputs.mkdir()
    good = {}
    for name in GOOD:
        shutil.copyfile(SAMPLES[name], inputs / name)
        good[name] = json.loads(SAMPLES[name].read_text())["reference"]
    if SPS.exists():
        shutil.copyfile(SPS, inputs / SPS.name)
        good[SPS.name] = SPS.stem
    broken = json.loads(SAMPLES["citrus-za-de.json"].read_text())
    del broken["fields"]["consignor"]
    (inputs / "citrus-broken.json").write_text(json.dumps(broken))
    (inputs / "README.txt").write_text("not a certificate: a directory gives only its .json and .xml files")
    out = root / "out"  # not there yet: created by the run
    proc = run("issue", str(inputs), "-o", str(out), "--jobs", "2", home=home)
    return Backlog(inputs, out, good, proc)


def test_every_good_input_becomes_a_sealed_original_that_verifies(home: Path, backlog: Backlog) -> None:
    trust = trust_store(load_config({}, home=home))
    for name, reference in backlog.good.items():
        pdf = backlog.out / f"{Path(name).stem}.pdf"
        assert pdf.is_file(), f"{name}: no original\n{backlog.proc.stderr}"
        report = verify_pdf(pdf.read_bytes(), trust)
        assert report.verdict.value == "NO_LEGAL_VALUE", (name, report.reasons)
        assert report.reference == reference
        assert report.signatures[0].level == "B-LTA"
    assert sorted(p.name for p in backlog.out.iterdir()) == sorted(f"{Path(n).stem}.pdf" for n in backlog.good)


def test_the_broken_input_is_named_with_its_field_and_does_not_stop_the_others(backlog: Backlog) -> None:
    failed = [line for line in backlog.proc.stderr.splitlines() if line.startswith("failed")]
    assert len(failed) == 1, backlog.proc.stderr
    assert "citrus-broken.json" in failed[0] and "consignor" in failed[0]
    assert not (backlog.out / "citrus-broken.pdf").exists()
    assert "README" not in backlog.proc.stderr + backlog.proc.stdout


def test_summary_exit_code_and_plain_log_lines_when_not_on_a_terminal(home: Path, backlog: Backlog) -> None:
    proc = backlog.proc
    assert proc.returncode == 2, proc.stderr  # an input was invalid; everything else was issued
    good = len(backlog.good)
    assert summary(proc) == (good, 1, 0, good + 1)
    ok = [line for line in proc.stderr.splitlines() if line.startswith("ok ")]
    assert len(ok) == good and all(" -> " in line for line in ok)
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr  # a log, not a redrawn bar
    passphrase = (home / "pki" / "training" / "seal.passphrase").read_text().strip()
    assert passphrase and passphrase not in proc.stdout + proc.stderr
    assert temp_files(backlog.out) == []


def test_a_rerun_skips_what_was_issued_and_finishes_the_rest(home: Path, backlog: Backlog, tmp_path: Path) -> None:
    """As after a crash: one original never written, a temp file left behind by the dead run."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(backlog.inputs, inputs)
    shutil.copytree(backlog.out, out)
    missing = out / "bovine-nl-be.pdf"
    missing.unlink()
    stale = out / ".bovine-nl-be.pdf.k2x8_q1.part"
    stale.write_bytes(b"%PDF-1.7 half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".pdf"}

    proc = run("issue", str(inputs), "-o", str(out), "--jobs", "2", home=home)

    assert proc.returncode == 2, proc.stderr  # the broken input still fails
    good = len(backlog.good)
    assert summary(proc) == (1, 1, good - 1, good + 1)
    assert missing.is_file()
    assert embedded_certificate(missing)["reference"] == backlog.good["bovine-nl-be.json"]
    for name, data in before.items():
        assert (out / name).read_bytes() == data, f"{name} was issued again"
    assert temp_files(out) == []


def test_changed_input_is_refused_unless_overwrite(home: Path, backlog: Backlog, tmp_path: Path) -> None:
    """An existing original of other data is not silently replaced; --overwrite re-issues."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    data = json.loads(SAMPLES["roses-ke-nl.json"].read_text())
    data["version"] = data["version"] + 1
    (inputs / "roses-ke-nl.json").write_text(json.dumps(data))
    shutil.copyfile(backlog.out / "roses-ke-nl.pdf", out / "roses-ke-nl.pdf")
    old = (out / "roses-ke-nl.pdf").read_bytes()
    pattern = str(inputs / "roses-*.json")  # a glob: the batch form, even for one match

    refused = run("issue", pattern, "-o", str(out), home=home)
    assert refused.returncode == 1, refused.stderr
    assert summary(refused) == (0, 1, 0, 1)
    assert "roses-ke-nl.json" in refused.stderr and "different certificate data" in refused.stderr
    assert (out / "roses-ke-nl.pdf").read_bytes() == old

    replaced = run("issue", pattern, "-o", str(out), "--overwrite", home=home)
    assert replaced.returncode == 0, replaced.stderr
    assert summary(replaced) == (1, 0, 0, 1)
    assert embedded_certificate(out / "roses-ke-nl.pdf")["version"] == data["version"]
    assert temp_files(out) == []


def test_inputs_with_the_same_stem_both_fail_and_nothing_is_written(home: Path, tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "cert.json").write_text("{}")
    out = tmp_path / "out"
    proc = run("issue", str(tmp_path / "a"), str(tmp_path / "b" / "cert.json"), "-o", str(out), home=home)
    assert proc.returncode == 2, proc.stderr
    assert summary(proc) == (0, 2, 0, 2)
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed")]
    assert len(failed) == 2 and all("same output" in line for line in failed)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("args", [
    ["{tmp}/nothing-*.json", "-o", "{tmp}/out"],  # a glob that matches nothing
    ["{tmp}", "-o", "{tmp}/file.txt"],  # -o is an existing file
    ["{tmp}", "-o", "{tmp}/out.pdf"],  # -o looks like the single form's file
    ["{tmp}", "-o", "{tmp}/out", "--jobs", "0"],
])
def test_batch_usage_errors_exit_64(home: Path, tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "cert.json").write_text("{}")
    (tmp_path / "file.txt").write_text("x")
    proc = run("issue", *(a.format(tmp=tmp_path) for a in args), home=home)
    assert proc.returncode == 64, proc.stderr
    assert "certseal issue: error:" in proc.stderr
    assert not (tmp_path / "out.pdf").exists()


def test_on_a_terminal_a_bar_is_redrawn_in_place(home: Path, tmp_path: Path) -> None:
    """Under a pseudo-terminal: the bar line (done/total, failed) redrawn with carriage returns,
    failures printed above it and listed again at the end. Inputs that fail at once keep it fast."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "one.json").write_text("{not json")
    (inputs / "two.json").write_text(json.dumps({"model": "CHED-PP"}))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    environ["CERTSEAL_HOME"] = str(home)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(CERTSEAL, [CERTSEAL, "issue", str(inputs), "-o", str(tmp_path / "out")], environ)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode()
    assert os.waitstatus_to_exitcode(status) == 2, text
    assert "\r\x1b[K[" in text and "2/2  failed 2" in text
    assert "one.json: not valid JSON" in text and "two.json" in text
    assert "2 failed:" in text and "issued 0, failed 2, skipped 0 of 2" in text


# --- the progress display on its own ----------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_status_counts_rate_and_eta() -> None:
    clock = Clock()
    progress = Progress(10, io.StringIO(), live=True, clock=clock)
    assert "0/10" in progress.status() and "ETA --:--" in progress.status()
    clock.now += 4
    progress.advance("ok a")
    progress.advance("failed b", failed=True)
    status = progress.status()
    assert "2/10" in status and "failed 1" in status and "0.5/s" in status and "ETA 0:16" in status
    assert len(progress.status(width=60)) <= 60


def test_progress_without_a_terminal_logs_every_line_and_draws_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream, live=False)
    progress.advance("ok a -> a.pdf")
    progress.tick()
    progress.advance("failed b: fields.x: missing", failed=True)
    progress.finish()
    assert stream.getvalue() == "ok a -> a.pdf\nfailed b: fields.x: missing\n"


def test_live_progress_shows_failures_above_the_bar_but_not_successes() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream, live=True, clock=Clock())
    progress.advance("ok a -> a.pdf")
    progress.advance("failed b: fields.x: missing", failed=True)
    progress.finish()
    text = stream.getvalue()
    assert "failed b: fields.x: missing\n" in text and "ok a" not in text
    assert text.endswith("\n") and "2/2" in text.splitlines()[-1]


def test_the_final_list_says_a_shared_reason_once_above_its_inputs() -> None:
    no_key = "no seal key configured for the training environment: run `certseal pki init --env training`"
    failures = [ItemResult(Path(f"in/{name}.json"), Path(f"out/{name}.pdf"), outcome, detail)
                for name, outcome, detail in (
                    ("c", Outcome.FAILED, no_key), ("broken", Outcome.BAD_INPUT, "invalid input: version: missing"),
                    ("a", Outcome.FAILED, no_key), ("b", Outcome.FAILED, no_key))]
    assert failure_list(failures) == [
        f"  3 inputs: {no_key}", "    in/a.json", "    in/b.json", "    in/c.json",
        "  in/broken.json: invalid input: version: missing",
    ]
