"""Throughput of the real worker: a `certseal worker` process (one pool process per core) fed N
`certseal.issue` tasks over Redis, each a distinct (reference, version) at PAdES B-B.

Broker: by default a private `redis-server` on a free loopback port with persistence off,
removed afterwards, so nothing touches a Redis someone else uses. `--broker URL` uses an
existing one instead; its database must be empty at the start, and the keys the run created
there are deleted at the end.

The worker gets a plain training PKI (no CA services) through CERTSEAL_TRAINING_* variables, a
temporary store directory and a SQLite registry. Warm-up tasks (two per pool process) fill each
process's caches first and are not counted. While the timed batch runs, a thread samples the
resident memory of the worker's processes; each pool process's peak is its own VmHWM.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.inputs import REPO, ched_pp
from bench.measure import child_pids, peak_rss_mb, rss_mb

CERTSEAL = str(Path(sys.executable).with_name("certseal"))
QUEUE = "certseal"  # service.worker.QUEUE; not imported: that module connects on import
READY_TIMEOUT_S = 120
SAMPLE_EVERY_S = 0.25
POLL_EVERY_S = 0.02
# Keys Celery and kombu create in a Redis database used as broker and result backend.
CREATED_KEY_PATTERNS = ("celery-task-meta-*", "_kombu.*", "unacked*", f"{QUEUE}*", "celery*")


@dataclass
class WorkerRun:
    tasks: int
    concurrency: int
    level: str
    broker: str
    warmup_tasks: int
    elapsed_s: float = 0.0
    certificates_per_s: float = 0.0
    succeeded: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=dict)
    pool_pids: list[int] = field(default_factory=list)
    pool_processes_seen: int = 0  # more than `concurrency`: a pool process was replaced
    peak_rss_mb: dict[str, float] = field(default_factory=dict)  # pid (or "main") → VmHWM
    max_pool_peak_rss_mb: float = 0.0
    rss_start_mb: dict[str, float] = field(default_factory=dict)  # after 10 % of the batch
    rss_end_mb: dict[str, float] = field(default_factory=dict)  # when the batch is done
    max_rss_growth_mb: float = 0.0
    max_rss_growth_pct: float = 0.0
    timeline: list[dict] = field(default_factory=list)  # [{t, done, rss: {pid: MB}}]

    def to_dict(self) -> dict:
        return asdict(self)


class _Redis:
    """A private redis-server, or an existing database that must be empty."""

    def __init__(self, url: str | None, directory: Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.external = url is not None
        self.url = url or ""

    def start(self) -> str:
        import redis

        if self.external:
            client = redis.Redis.from_url(self.url)
            if client.dbsize():
                raise SystemExit(f"bench: {self.url} is not an empty database; give an unused one "
                                 "(e.g. redis://127.0.0.1:6379/13) or leave --broker out")
            return self.url
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("bench: redis-server not found (apt-get install redis-server), or pass --broker URL")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        self.url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self.url
            except redis.ConnectionError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"bench: redis-server exited {self.process.returncode} (see {log.name})")
            time.sleep(0.05)
        raise SystemExit("bench: redis-server did not come up")

    def stop(self) -> None:
        import redis

        if self.external:
            client = redis.Redis.from_url(self.url)
            for pattern in CREATED_KEY_PATTERNS:
                keys = list(client.scan_iter(match=pattern, count=1000))
                if keys:
                    client.delete(*keys)
            return
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class _Worker:
    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int) -> None:
        self.env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [CERTSEAL, "worker", "--concurrency", str(self.concurrency), "--hostname", f"bench-{os.getpid()}@%h"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: certseal worker exited {self.process.returncode}:\n{self.log()[-3000:]}")
            if " ready." in self.log():
                return
            time.sleep(0.2)
        raise SystemExit(f"bench: certseal worker not ready after {READY_TIMEOUT_S} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the main process and its pool
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _worker_env(home: Path, broker: str, store: Path, registry: str, pki_dir: Path) -> dict[str, str]:
    from renderers.environment import Environment
    from signer.pki import create_pki

    # Without CA services: a B-B original of a PKI whose certificates name an OCSP responder
    # would verify as INDETERMINATE offline, and the worker refuses to store it.
    files = create_pki(Environment.TRAINING, pki_dir, services=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    env.update(
        CERTSEAL_HOME=str(home), CERTSEAL_BROKER_URL=broker, CERTSEAL_STORE=str(store), CERTSEAL_REGISTRY=registry,
        CERTSEAL_TRAINING_KEY=f"pkcs12:{files.seal_p12}",
        CERTSEAL_TRAINING_KEY_PASSPHRASE_FILE=str(files.passphrase_file),
        CERTSEAL_TRAINING_TRUST=str(files.root_pem),
        PYTHONUNBUFFERED="1",
    )
    return env


def _certificates(count: int, start: int) -> list[dict]:
    """The CHED-PP nl+en input, each with its own reference (as the stage rounds number them)."""
    chedpp = ched_pp("en")
    return [{**json.loads(chedpp.raw_for_round(start + i)), "version": 1} for i in range(count)]


class _Sampler(threading.Thread):
    """RSS of the worker's main and pool processes every SAMPLE_EVERY_S, tagged with progress."""

    def __init__(self, main_pid: int, progress) -> None:
        super().__init__(daemon=True, name="bench-rss-sampler")
        self.main_pid = main_pid
        self.progress = progress
        self.samples: list[dict] = []
        self.seen: set[int] = set()
        self.peaks: dict[int, float] = {}
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def sample(self) -> None:
        pool = child_pids(self.main_pid)
        self.seen.update(pool)
        rss = {}
        for pid in (self.main_pid, *pool):
            value = rss_mb(pid)
            if value is not None:
                rss[str(pid)] = round(value, 1)
            peak = peak_rss_mb(pid)
            if peak is not None:
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), peak)
        self.samples.append({"t": round(time.monotonic() - self._t0, 2), "done": self.progress(), "rss": rss})

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(SAMPLE_EVERY_S)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


def _wait(client, task_ids: list[str], timeout: float, on_progress=None) -> dict[str, dict]:
    """Poll the result keys in batches (one MGET per poll) until every task has a final state."""
    pending = list(task_ids)
    done: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while pending:
        values = client.mget([f"celery-task-meta-{tid}" for tid in pending])
        still = []
        for tid, raw in zip(pending, values):
            meta = json.loads(raw) if raw else None
            if meta and meta.get("status") in ("SUCCESS", "FAILURE", "REVOKED"):
                done[tid] = meta
            else:
                still.append(tid)
        pending = still
        if on_progress is not None:
            on_progress(len(done))
        if not pending:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {len(pending)} of {len(task_ids)} worker tasks not done after {timeout:.0f} s")
        time.sleep(POLL_EVERY_S)
    return done


def measure_worker(tasks: int, concurrency: int, *, broker: str | None = None, level: str = "B-B",
                   timeout_per_task: float = 30.0, log=print) -> WorkerRun:
    import redis
    from celery import Celery

    tmp = Path(tempfile.mkdtemp(prefix="certseal-bench-worker-"))
    server = _Redis(broker, tmp / "redis")
    (tmp / "redis").mkdir()
    worker: _Worker | None = None
    try:
        url = server.start()
        env = _worker_env(tmp / "home", url, tmp / "store", f"sqlite://{tmp / 'registry.db'}", tmp / "pki")
        worker = _Worker(env, tmp / "worker.log", concurrency)
        log(f"worker: starting certseal worker --concurrency {concurrency} (broker {url})")
        worker.start()
        app = Celery("bench", broker=url, backend=url)
        app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
        results = redis.Redis.from_url(url)
        options = {"level": level}

        def send(certs: list[dict]) -> list[str]:
            return [app.send_task("certseal.issue", args=[c, options], queue=QUEUE, task_id=str(uuid.uuid4())).id
                    for c in certs]

        warm = 2 * concurrency
        run = WorkerRun(tasks=tasks, concurrency=concurrency, level=level, broker=url if broker else "private redis-server",
                        warmup_tasks=warm)
        warm_done = _wait(results, send(_certificates(warm, 1)), timeout_per_task * warm)
        bad = [m for m in warm_done.values() if m["status"] != "SUCCESS"]
        if bad:
            raise SystemExit(f"bench: warm-up tasks failed: {bad[0].get('result')}\n{worker.log()[-3000:]}")
        log(f"worker: warm ({warm} tasks); timing {tasks} tasks")

        progress = {"done": 0}
        sampler = _Sampler(worker.pid, lambda: progress["done"])
        certs = _certificates(tasks, warm + 1)
        sampler.start()
        start = time.perf_counter()
        ids = send(certs)
        done = _wait(results, ids, timeout_per_task * tasks + 60,
                     on_progress=lambda n: progress.__setitem__("done", n))
        run.elapsed_s = time.perf_counter() - start
        sampler.stop()

        for meta in done.values():
            if meta["status"] == "SUCCESS":
                run.succeeded += 1
                verdict = (meta.get("result") or {}).get("verdict", "?")
                run.verdicts[verdict] = run.verdicts.get(verdict, 0) + 1
            else:
                run.failed += 1
                if len(run.failures) < 5:
                    run.failures.append(str(meta.get("result"))[:300])
        run.certificates_per_s = run.succeeded / run.elapsed_s if run.elapsed_s else 0.0
        _memory(run, sampler, worker.pid)
        return run
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _memory(run: WorkerRun, sampler: _Sampler, main_pid: int) -> None:
    run.pool_pids = sorted(p for p in sampler.seen)
    run.pool_processes_seen = len(sampler.seen)
    run.peak_rss_mb = {("main" if pid == main_pid else str(pid)): round(v, 1) for pid, v in sampler.peaks.items()}
    pool_peaks = [v for pid, v in sampler.peaks.items() if pid != main_pid]
    run.max_pool_peak_rss_mb = round(max(pool_peaks, default=0.0), 1)
    run.timeline = sampler.samples
    # Start: the first sample once a tenth of the batch is done (every process warm and busy);
    # end: the last sample. A pool process replaced in between has no pair and is left out.
    threshold = max(1, run.tasks // 10)
    start = next((s for s in sampler.samples if s["done"] >= threshold), None)
    end = sampler.samples[-1] if sampler.samples else None
    if start is None or end is None:
        return
    for pid, value in start["rss"].items():
        if pid in end["rss"] and int(pid) != main_pid:
            run.rss_start_mb[pid] = value
            run.rss_end_mb[pid] = end["rss"][pid]
    growth = [(run.rss_end_mb[p] - run.rss_start_mb[p], run.rss_start_mb[p]) for p in run.rss_start_mb]
    if growth:
        run.max_rss_growth_mb = round(max(g for g, _ in growth), 1)
        run.max_rss_growth_pct = round(max(100 * g / s for g, s in growth if s), 1)
