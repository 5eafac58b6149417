"""`certseal issue DIR|GLOB|FILE... -o OUTDIR`: issue a backlog of certificates on every core.

Each input becomes OUTDIR/<input stem>.pdf, written atomically (never a half-written file).
One failing input is reported with its file and field and does not stop the others.

Re-running is safe and finishes what is left: an output that already exists is **skipped**
when it is a sealed original of exactly this input's certificate data (its embedded
`certificate.json`), so a run that crashed or was interrupted picks up where it stopped.
An existing output issued from *other* data (the input changed, `--env` / `--lang` differ,
or an unrelated file) is an original we will not silently replace: that item fails unless
`--overwrite`, which re-issues every input. (After a template fix, issue into a fresh OUTDIR
or pass `--overwrite`: the data did not change, so the old originals would be skipped.)

Two inputs with the same stem (`a.json` and `a.xml`, or `x/a.json` and `y/a.json`) would
write the same output: both fail (which one should win is not ours to guess), the rest go on.

Processes: the pool is forked, after the parent has started the loopback CA services of any
`pki init` PKI (OCSP / CRL / TSA on one fixed port, as `certseal worker` does): the children
inherit them running instead of each trying to bind that port, and inherit the imported
renderer and signer too. Each child loads the configuration once (inherited) and each
environment's seal key once, on first use (a PKCS#11 session must not cross a fork); its
render caches (templates, fonts) stay warm from one certificate to the next. Passphrases are
read inside the child from the configuration, never passed as arguments and never logged.
"""
from __future__ import annotations

import enum
import glob
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import TextIO

from renderers.environment import Environment
from renderers.errors import InputError
from renderers.model import Certificate
from service.config import Config, ConfigError, load_config
from service.files import write_atomic
from service.inputs import read_certificate_file
from service.issuing import issue, local_ca_services, seal_key_for
from service.progress import Progress, format_duration
from signer.audit import AuditLogError
from signer.errors import SealingError
from signer.keys import SealKey

INPUT_SUFFIXES = (".json", ".xml")
_GLOB_MAGIC = frozenset("*?[")
_TICK_SECONDS = 1.0  # redraw the bar at least this often while certificates are being issued
STALE_TEMP_SECONDS = 60.0


class BatchUsageError(ValueError):
    """The command line asks for something impossible (no inputs, OUTDIR is a file)."""


class Outcome(enum.Enum):
    ISSUED = "issued"
    SKIPPED = "skipped"
    BAD_INPUT = "bad input"  # the input itself is wrong: exit 2, like the single form
    FAILED = "failed"  # anything else (key, TSA, disk, an existing different original): exit 1

    @property
    def label(self) -> str:
        """The word that starts an item's log line."""
        return {"issued": "ok", "bad input": "failed"}.get(self.value, self.value)


@dataclass(frozen=True)
class BatchOptions:
    output_dir: Path
    jobs: int
    language: str | None = None
    destination_language: str | None = None
    environment: str | None = None
    key: str | None = None  # a key URI; its passphrase comes from the configuration
    level: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class Job:
    input: Path
    output: Path


@dataclass(frozen=True)
class ItemResult:
    input: Path
    output: Path
    outcome: Outcome
    detail: str  # what was issued, why it was skipped, or the error naming file and field
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.BAD_INPUT, Outcome.FAILED)

    def line(self) -> str:
        if self.outcome is Outcome.ISSUED:
            return f"ok      {self.input} -> {self.output} ({self.detail}, {self.seconds:.1f} s)"
        return f"{self.outcome.label:<7} {self.input}: {self.detail}"


@dataclass(frozen=True)
class BatchSummary:
    results: tuple[ItemResult, ...]
    elapsed: float
    interrupted: bool = False
    not_started: int = 0  # inputs left untouched by an interruption

    def count(self, *outcomes: Outcome) -> int:
        return sum(r.outcome in outcomes for r in self.results)

    @property
    def issued(self) -> int:
        return self.count(Outcome.ISSUED)

    @property
    def skipped(self) -> int:
        return self.count(Outcome.SKIPPED)

    @property
    def bad_input(self) -> int:
        return self.count(Outcome.BAD_INPUT)

    @property
    def failed(self) -> int:
        return self.count(Outcome.BAD_INPUT, Outcome.FAILED)

    @property
    def rate(self) -> float:
        return len(self.results) / self.elapsed if self.elapsed > 0 else 0.0

    def line(self, output_dir: Path) -> str:
        text = (f"issued {self.issued}, failed {self.failed}, skipped {self.skipped} of "
                f"{len(self.results) + self.not_started} in {format_duration(self.elapsed)} "
                f"({self.rate:.2f}/s); originals in {output_dir}")
        if self.interrupted:
            text += f"; interrupted, {self.not_started} not started (run again to finish)"
        return text


# --- which inputs --------------------------------------------------------------------------

def _is_pattern(arg: Path) -> bool:
    # A path that exists is itself, even if its name has a `[` in it.
    return bool(_GLOB_MAGIC & set(str(arg))) and not arg.exists()


def is_batch_invocation(inputs: Sequence[Path]) -> bool:
    """Several inputs, a directory or a glob: batch. One plain file: the single form
    (`-o` names the PDF), unchanged, even when that file does not exist."""
    return len(inputs) != 1 or inputs[0].is_dir() or _is_pattern(inputs[0])


def collect_inputs(args: Sequence[Path], *, notes: list[str] | None = None) -> list[Path]:
    """The input files named by `args`, in order, each once.

    A directory gives its *.json and *.xml files (not recursive, not hidden); a glob its
    matching files (`**` recurses); a plain path itself, existing or not (a missing one is
    then a failed item, like in the single form). A directory or glob that matches nothing is
    noted in `notes`, not an error: `in/*.json in/*.xml` may well have no XML today."""
    found: list[Path] = []
    for arg in args:
        if arg.is_dir():
            matches = sorted(p for p in arg.iterdir()
                             if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES and not p.name.startswith("."))
        elif _is_pattern(arg):
            matches = sorted(Path(p) for p in glob.glob(str(arg), recursive=True) if Path(p).is_file())
        else:
            matches = [arg]
        if not matches and notes is not None:
            notes.append(f"note: {arg} has no {' or '.join(INPUT_SUFFIXES)} input" if arg.is_dir()
                         else f"note: {arg} matches no file")
        found.extend(matches)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def plan(inputs: Iterable[Path], output_dir: Path) -> tuple[list[Job], list[ItemResult]]:
    """One job per input; inputs that would write the same output fail, all of them."""
    by_output: dict[Path, list[Path]] = {}
    for path in inputs:
        by_output.setdefault(output_dir / f"{path.stem}.pdf", []).append(path)
    jobs: list[Job] = []
    clashes: list[ItemResult] = []
    for output, sources in by_output.items():
        if len(sources) == 1:
            jobs.append(Job(sources[0], output))
            continue
        for source in sources:
            others = ", ".join(str(s) for s in sources if s is not source)
            clashes.append(ItemResult(source, output, Outcome.BAD_INPUT,
                                      f"same output {output} as {others}: rename one of them; neither was issued"))
    return jobs, clashes


def _remove_stale_temp_files(jobs: Iterable[Job]) -> list[str]:
    """A crashed run (power cut, kill -9) can leave write_atomic's hidden temp files
    (`.NAME.pdf.*.part`) beside the outputs; never the output itself. A temp file lives for
    the milliseconds of one write, so one older than a minute belongs to a dead run."""
    notes = []
    cutoff = time.time() - STALE_TEMP_SECONDS
    outputs: dict[Path, set[str]] = {}
    for job in jobs:
        outputs.setdefault(job.output.parent, set()).add(job.output.name)
    for directory, names in outputs.items():
        for temp in directory.glob(".*.part"):
            name = temp.name[1:].rsplit(".", 2)[0]  # .NAME.pdf.RANDOM.part → NAME.pdf
            try:
                if name in names and temp.stat().st_mtime < cutoff:
                    temp.unlink()
                    notes.append(f"note: removed {temp}, left by an interrupted run")
            except FileNotFoundError:  # another process got there first
                pass
    return notes


# --- one certificate, in a worker process ---------------------------------------------------

@dataclass
class _WorkerState:
    options: BatchOptions
    config: Config
    keys: dict[Environment, SealKey | Exception] = field(default_factory=dict)

    def key(self, env: Environment) -> SealKey:
        """The environment's seal key, loaded on first use and kept (a failure too: loading
        a missing or locked key again for every certificate would fail the same way)."""
        if env not in self.keys:
            try:
                self.keys[env] = seal_key_for(self.config, env, self.options.key)
            except (ConfigError, SealingError) as exc:
                self.keys[env] = exc
        found = self.keys[env]
        if isinstance(found, Exception):
            raise type(found)(*found.args)
        return found

    def close(self) -> None:
        for key in self.keys.values():
            if isinstance(key, SealKey):
                key.close()
        self.keys.clear()


_state: _WorkerState | None = None


def _init_worker(options: BatchOptions, config: Config, in_pool: bool) -> None:
    global _state
    _state = _WorkerState(options, config)
    if in_pool:
        # Ctrl-C is the parent's to handle: it lets the certificates in progress finish.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        multiprocessing.util.Finalize(None, _state.close, exitpriority=10)


def issue_one(job: Job) -> ItemResult:
    """Issue one input; every error becomes a failed result naming the file (never raises)."""
    assert _state is not None, "issue_one runs in a process set up by _init_worker"
    options = _state.options
    started = time.perf_counter()

    def result(outcome: Outcome, detail: str) -> ItemResult:
        return ItemResult(job.input, job.output, outcome, detail, time.perf_counter() - started)

    try:
        cert = read_certificate_file(job.input, language=options.language,
                                     destination_language=options.destination_language,
                                     environment=options.environment)
        if not options.overwrite and job.output.exists():
            difference = _differs_from_original(job.output, cert)
            if difference is None:
                return result(Outcome.SKIPPED, f"{job.output} is already its sealed original")
            return result(Outcome.FAILED, f"{job.output} exists and {difference}; not replaced "
                                          "(--overwrite re-issues)")
        original = issue(cert, _state.key(cert.environment), _state.config.environment(cert.environment),
                         level=options.level)
        write_atomic(job.output, original.pdf)
    except InputError as exc:
        # The log line names the file already; a field error also names the field.
        detail = exc.message if exc.field == str(job.input) else f"invalid input: {exc}"
        return result(Outcome.BAD_INPUT, detail)
    except (ConfigError, SealingError, AuditLogError) as exc:
        return result(Outcome.FAILED, str(exc))
    except OSError as exc:
        name = f" {exc.filename}" if exc.filename else ""
        return result(Outcome.FAILED, f"cannot write or read{name}: {exc.strerror or exc}")
    except Exception as exc:  # a bug or a library failure on this input must not stop the batch
        return result(Outcome.FAILED, f"unexpected {type(exc).__name__}: {exc}")
    pages = f"{original.page_count} page{'s' if original.page_count != 1 else ''}"
    return result(Outcome.ISSUED, f"{cert.reference}, {cert.environment.value}, PAdES {original.level}, {pages}")


def _differs_from_original(path: Path, cert: Certificate) -> str | None:
    """None when `path` is a sealed PDF embedding exactly `cert`'s data, else what differs.
    (Not a full verification: the file was written atomically by a run like this one; this
    only tells "done before" from "something else is in the way".)"""
    from pyhanko.pdf_utils.reader import PdfFileReader

    from signer.metadata import read_embedded_file

    try:
        reader = PdfFileReader(BytesIO(path.read_bytes()), strict=False)
        embedded = read_embedded_file(reader)
        sealed = bool(reader.embedded_signatures)
    except OSError:
        raise
    except Exception:  # pyHanko's read errors on a damaged or foreign file
        return "is not a readable PDF"
    if embedded is None:
        return "is not a certseal original (no embedded certificate data)"
    if not sealed:
        return "is not sealed"
    if embedded != cert.source_json:
        return "was issued from different certificate data"
    return None


# --- the whole batch, in the parent ---------------------------------------------------------

def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_batch(args: Sequence[Path], options: BatchOptions, *, out: TextIO = sys.stdout,
              err: TextIO = sys.stderr, live: bool | None = None) -> BatchSummary:
    """Issue every input named by `args`; progress on `err`, the summary on `out`."""
    if options.jobs < 1:
        raise BatchUsageError("--jobs must be at least 1")
    notes: list[str] = []
    inputs = collect_inputs(args, notes=notes)
    for note in notes:
        print(note, file=err)
    if not inputs:
        raise BatchUsageError(f"no input to issue in {' '.join(str(a) for a in args)}")
    out_dir = options.output_dir
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchUsageError(f"-o {out_dir}: with several inputs, a directory or a glob, -o names a "
                              "directory, and this is a file")
    if not out_dir.exists() and out_dir.suffix.lower() == ".pdf":
        raise BatchUsageError(f"-o {out_dir}: with several inputs, a directory or a glob, -o names a "
                              "directory (the originals are named after the inputs), not a .pdf file")
    out_dir.mkdir(parents=True, exist_ok=True)
    config = load_config()
    jobs, clashes = plan(inputs, out_dir)
    for note in _remove_stale_temp_files(jobs):
        print(note, file=err)

    progress = Progress(len(inputs), err, live=live)
    results: list[ItemResult] = []

    def report(item: ItemResult) -> None:
        results.append(item)
        progress.advance(item.line(), failed=item.failed)

    for clash in clashes:
        report(clash)
    interrupted = False
    with ExitStack() as stack:
        _serve_local_cas(config, options, stack, progress)
        _warm_caches()
        workers = min(options.jobs, len(jobs))
        try:
            if workers <= 1:
                _run_here(jobs, options, config, report, progress)
            else:
                _run_pool(jobs, options, config, workers, report, progress)
        except KeyboardInterrupt:
            interrupted = True
    progress.finish()
    summary = BatchSummary(tuple(results), progress.elapsed, interrupted, len(inputs) - len(results))
    failures = [r for r in results if r.failed]
    if failures and progress.live:
        # On a terminal they scrolled by above the bar; a list at the end is what one acts on.
        print(f"{len(failures)} failed:", file=err)
        for line in failure_list(failures):
            print(line, file=err)
    print(summary.line(options.output_dir), file=out)
    return summary


def failure_list(failures: Iterable[ItemResult]) -> list[str]:
    """The failures by reason, inputs in name order: a reason many inputs share (a missing
    seal key, an unreachable TSA) is said once, above the inputs it stopped."""
    by_detail: dict[str, list[Path]] = {}
    for item in sorted(failures, key=lambda r: str(r.input)):
        by_detail.setdefault(item.detail, []).append(item.input)
    lines = []
    for detail, inputs in by_detail.items():
        if len(inputs) == 1:
            lines.append(f"  {inputs[0]}: {detail}")
        else:
            lines.append(f"  {len(inputs)} inputs: {detail}")
            lines.extend(f"    {path}" for path in inputs)
    return lines


def _serve_local_cas(config: Config, options: BatchOptions, stack: ExitStack, progress: Progress) -> None:
    """Start, before the fork, the loopback CA services of the environments this run may use."""
    wanted = [Environment(options.environment)] if options.environment else list(Environment)
    for env in wanted:
        env_cfg = config.environment(env)
        if env_cfg.local_ca is None:
            continue
        try:
            stack.enter_context(local_ca_services(env_cfg))
        except OSError as exc:
            progress.note(f"warning: cannot serve the {env.value} local CA services: {exc}")


def _warm_caches() -> None:
    """Fill, once in the parent, per-process caches every forked worker then inherits. The seal
    font matters beyond speed: it is cut after pyHanko fixes the validation time and before
    the revocation data is fetched, and a cold cut on a loaded machine has pushed that gap past
    the validator's 1 s tolerance ("OCSP response is too recent") for a worker's first seal."""
    from renderers.html import jinja_environment
    from signer.seal_font import seal_font_bytes

    jinja_environment()
    seal_font_bytes()


def _run_here(jobs: list[Job], options: BatchOptions, config: Config, report, progress: Progress) -> None:
    """One job at a time in this process (--jobs 1, or a single input): no fork needed."""
    _init_worker(options, config, in_pool=False)
    try:
        for job in jobs:
            report(issue_one(job))
    finally:
        _state.close()


def _run_pool(jobs: list[Job], options: BatchOptions, config: Config, workers: int, report,
              progress: Progress) -> None:
    context = multiprocessing.get_context("fork")  # see the module docstring: why fork
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(options, config, True)) as executor:
        futures: dict[Future, Job] = {executor.submit(issue_one, job): job for job in jobs}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=_TICK_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    report(_result_of(future, futures[future]))
                progress.tick()
        except KeyboardInterrupt:
            progress.note("interrupted: finishing the certificates in progress, starting no more")
            executor.shutdown(wait=True, cancel_futures=True)
            for future in pending:
                if future.done() and not future.cancelled():
                    report(_result_of(future, futures[future]))
            raise


def _result_of(future: Future, job: Job) -> ItemResult:
    try:
        return future.result()
    except BrokenProcessPool:
        return ItemResult(job.input, job.output, Outcome.FAILED,
                          "not issued: a worker process died (killed, or out of memory); run again to finish")
    except Exception as exc:
        return ItemResult(job.input, job.output, Outcome.FAILED, f"unexpected {type(exc).__name__}: {exc}")
