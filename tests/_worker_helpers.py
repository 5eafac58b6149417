"""Test support for the worker tests: a Redis broker of our own, real `certseal worker`
processes, a production test PKI, and a workflow-side Celery client.

Nothing here touches the machine's shared Redis: each test module starts its own
`redis-server` on a free loopback port, with an append-only file fsynced on every write so a
killed broker comes back with every message it had acknowledged to a sender.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from celery import Celery
from celery.result import AsyncResult

REPO = Path(__file__).resolve().parent.parent
CERTSEAL = str(Path(sys.executable).with_name("certseal"))

# Tight limits so a killed worker's messages come back within half a minute (the visibility
# timeout must exceed hard limit + longest retry countdown; service.worker_settings checks).
WORKER_LIMITS = {
    "CERTSEAL_TASK_SOFT_TIME_LIMIT": "15",
    "CERTSEAL_TASK_TIME_LIMIT": "25",
    "CERTSEAL_RETRY_BACKOFF": "0.5",
    "CERTSEAL_RETRY_BACKOFF_MAX": "2",
    "CERTSEAL_VISIBILITY_TIMEOUT": "30",
    "CERTSEAL_UNACKED_RESTORE_INTERVAL": "1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server not installed")
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited {self.process.returncode}")
            time.sleep(0.05)
        raise AssertionError("redis-server did not come up")

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to flush anything it has not already fsynced."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class RabbitMQNode:
    """A RabbitMQ node of the test's own (its own name, ports and data directory, nothing from
    the machine's configuration), so that it can be crashed: SIGKILL to its Erlang VM, whose
    pid file the node writes. Started again on the same directory, it recovers its durable
    queues and the persistent messages it had confirmed. Debian's rabbitmq-server runs the node
    as the rabbitmq user, so this needs root, and a directory that user can reach (pytest's
    tmp_path is under a directory only root may enter): one of its own under /tmp, removed by
    `remove`."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="certseal-rabbitmq-"))
        self.port = free_port()
        self.dist_port = free_port()
        self.name = f"certseal-test-{os.getpid()}-{os.urandom(3).hex()}@localhost"
        self.process: subprocess.Popen | None = None

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self, timeout: float = 120) -> None:
        exe = shutil.which("rabbitmq-server")
        if exe is None:
            pytest.skip("rabbitmq-server not installed")
        if os.geteuid() != 0:
            pytest.skip("a RabbitMQ node of the test's own needs root (it runs as the rabbitmq user)")
        for sub in ("mnesia", "log"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        for path in (self.directory, self.directory / "mnesia", self.directory / "log"):
            shutil.chown(path, "rabbitmq", "rabbitmq")
        env = {**os.environ, "RABBITMQ_NODENAME": self.name, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
               "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
               "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"), "RABBITMQ_LOG_BASE": str(self.directory / "log"),
               "RABBITMQ_CONFIG_FILE": str(self.directory / "no-config"),
               "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "no-plugins"),
               "RABBITMQ_PID_FILE": str(self.directory / "pid")}
        with (self.directory / "server.out").open("ab") as out:
            self.process = subprocess.Popen([exe], env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._answers_amqp():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"rabbitmq-server exited {self.process.returncode}: "
                                     f"{(self.directory / 'server.out').read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        raise AssertionError(f"RabbitMQ node {self.name} did not come up in {timeout:g} s")

    def _answers_amqp(self) -> bool:
        """The AMQP 0-9-1 greeting answered with a method frame (Connection.Start)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                return s.recv(1) == b"\x01"
        except OSError:
            return False

    def kill(self) -> None:
        """A crash: SIGKILL to the Erlang VM, nothing flushed that it had not already."""
        pid_file = self.directory / "pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _running(pid):
                time.sleep(0.05)
            pid_file.unlink()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(20)
            self.process = None

    def remove(self) -> None:
        """Killed, and its directory gone."""
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def _running(pid: int) -> bool:
    """Alive, not a zombie waiting for its parent to read its exit."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


@dataclass
class WorkerProcess:
    env: dict[str, str]
    log_path: Path
    concurrency: int = 2
    name: str = "w1"
    process: subprocess.Popen | None = None
    starts: int = field(default=0)

    def start(self, timeout: float = 90) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [CERTSEAL, "worker", "--concurrency", str(self.concurrency), "--hostname", f"{self.name}@%h"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"certseal worker exited {self.process.returncode}:\n{self.log()[-4000:]}")
            if " ready." in self.log(offset):
                return
            time.sleep(0.2)
        raise AssertionError(f"certseal worker did not get ready:\n{self.log()[-4000:]}")

    def log(self, offset: int = 0) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                return fh.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def pool_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill_all(self) -> None:
        """The whole worker (main process and pool) killed at once, as by the OOM killer or a
        power cut: SIGKILL to its process group."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def worker_env(home: Path, broker: str, store: Path | str, registry: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    env.update(CERTSEAL_HOME=str(home), CERTSEAL_BROKER_URL=broker, CERTSEAL_STORE=str(store),
               CERTSEAL_REGISTRY=registry, PYTHONUNBUFFERED="1", **WORKER_LIMITS)
    env.update(extra)
    return env


@dataclass(frozen=True)
class ProductionPki:
    env: dict[str, str]  # CERTSEAL_PRODUCTION_* for the worker
    root_pem: Path


def production_pki(directory: Path) -> ProductionPki:
    """A production test PKI, given to the worker through configuration (as production keys
    are: never made by certseal on the fly)."""
    from renderers.environment import Environment
    from signer.pki import create_pki

    files = create_pki(Environment.PRODUCTION, directory)
    return ProductionPki(
        env={"CERTSEAL_PRODUCTION_KEY": f"pkcs12:{files.seal_p12}",
             "CERTSEAL_PRODUCTION_KEY_PASSPHRASE_FILE": str(files.passphrase_file),
             "CERTSEAL_PRODUCTION_TRUST": str(files.root_pem)},
        root_pem=files.root_pem,
    )


def client(broker: str, backend: str | None = None) -> Celery:
    """The workflow's side: a plain Celery app that knows nothing of certseal's code."""
    app = Celery("workflow", broker=broker, backend=backend or broker)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                    broker_connection_retry_on_startup=True, result_backend_always_retry=True,
                    redis_retry_on_timeout=True)
    if broker.startswith("amqp"):
        app.conf.broker_transport_options = {"confirm_publish": True}  # as the README tells a workflow
    return app


def send_issue(app: Celery, certificate: dict, options: dict | None = None) -> AsyncResult:
    return app.send_task("certseal.issue", args=[certificate, options or {}], queue="certseal")


def is_ready(result: AsyncResult) -> bool:
    try:
        return result.ready()
    except Exception:  # noqa: BLE001 - broker down for a moment: ask again later
        return False


def wait_all(results: Iterable[AsyncResult], *, timeout: float, during: Callable[[int], None] | None = None) -> None:
    """Until every result is ready. `during(done)` is called between polls (to kill things);
    connection errors (a broker being restarted) are waited out like anything else."""
    pending = list(results)
    total = len(pending)
    deadline = time.monotonic() + timeout
    while pending:
        pending = [r for r in pending if not is_ready(r)]
        if during is not None:
            during(total - len(pending))
        if not pending:
            return
        if time.monotonic() > deadline:
            states = {}
            for r in pending[:5]:
                try:
                    states[r.id] = (r.state, r.info)
                except Exception as exc:  # noqa: BLE001
                    states[r.id] = ("?", exc)
            raise AssertionError(f"{len(pending)} of {total} tasks not done after {timeout:.0f} s: {states}")
        time.sleep(0.3)


def task_ids_held_by_broker(broker: str, queue: str = "certseal") -> set[str] | None:
    """The ids of the tasks whose message the Redis broker still holds, queued or recorded as
    unacknowledged (kombu's `unacked` hash, which the visibility timeout restores from);
    None while the broker cannot be asked."""
    import json

    import redis
    from kombu.transport.redis import Channel

    try:
        client = redis.Redis.from_url(broker, socket_timeout=5)
        queued = client.lrange(queue, 0, -1)
        unacked = client.hvals(Channel.unacked_key)
    except redis.RedisError:
        return None
    ids = {json.loads(raw)["headers"]["id"] for raw in queued}
    ids.update(json.loads(raw)[0]["headers"]["id"] for raw in unacked)
    return ids


def stored_objects(store_root: Path) -> dict[str, bytes]:
    objects = {}
    for fan in (store_root / "objects").iterdir():
        for path in fan.iterdir():
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == fan.name + path.name, f"{path} does not hash to its name"
            objects[fan.name + path.name] = data
    return objects


def check_batch(results: list[tuple[str, AsyncResult]], store_root: Path, registry_url: str) -> dict[str, dict]:
    """Every task succeeded; all deliveries of one version returned the same original; the
    store holds exactly the registered originals, whole, with nothing pending or half-written.
    Returns reference → the result."""
    from service.registry import Status, open_registry
    from service.store import LocalStore

    by_ref: dict[str, list[dict]] = {}
    for ref, r in results:
        assert r.state == "SUCCESS", (ref, r.state, r.info)
        by_ref.setdefault(ref, []).append(r.result)
    for ref, answers in by_ref.items():
        keys = {(a["reference"], a["version"], a["sha256"], a["uri"], a["verdict"]) for a in answers}
        assert len(keys) == 1, f"{ref}: deliveries disagree: {keys}"
        assert sum(a["created"] for a in answers) <= 1, f"{ref}: two deliveries created an original"
    registry = open_registry(registry_url)
    try:
        rows = {ref: registry.get(ref, by_ref[ref][0]["version"]) for ref in by_ref}
    finally:
        registry.close()
    for ref, row in rows.items():
        assert row is not None and row.status is Status.ISSUED and row.sha256 == by_ref[ref][0]["sha256"], (ref, row)
    objects = stored_objects(store_root)
    assert set(objects) == {row.sha256 for row in rows.values()}, "objects ≠ registered originals"
    store = LocalStore(store_root)
    assert store.list_pending() == [], f"pending left: {store.list_pending()}"
    assert store.temp_files() == [], f"half-written files: {store.temp_files()}"
    return {ref: answers[0] for ref, answers in by_ref.items()}


def verify_originals(answers: Iterable[dict], store_root: Path, trust_roots: dict) -> dict[str, str]:
    """Verify stored originals here, independently of the worker: sha256 → verdict."""
    from service.store import LocalStore
    from signer.trust import TrustStore, load_trust_roots
    from signer.verify import verify_pdf

    trust = TrustStore({env: load_trust_roots([path]) for env, path in trust_roots.items()})
    store = LocalStore(store_root)
    return {a["sha256"]: verify_pdf(store.get_uri(a["uri"]), trust).verdict.value for a in answers}


@pytest.fixture(scope="module")
def rabbitmq_vhost() -> Iterator[str]:
    """A virtual host of its own on the machine's RabbitMQ (127.0.0.1:5672, guest), deleted
    after the module: queues and messages never meet another test's or the machine's."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.skip("rabbitmqctl not installed")
    name = f"certseal-test-{os.getpid()}-{os.urandom(3).hex()}"

    def run(*args: str) -> None:
        done = subprocess.run([ctl, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)} failed (is RabbitMQ running? "
                                 f"`rabbitmq-server -detached` starts it): {done.stderr.strip()}")

    run("add_vhost", name)
    try:
        run("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{name}"
    finally:
        run("delete_vhost", name)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
