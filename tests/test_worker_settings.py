"""The worker's configuration, Celery settings, fault classification and error payloads (no
broker needed), and the verification sandbox's limits ([verify], CERTSEAL_VERIFY_*)."""
from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from renderers.errors import InputError
from service.config import ConfigError, load_config
from service.faults import is_transient
from service.sandbox import DEFAULT_LIMITS, Limits
from service.registry import RegistryError
from service.store import StoreCorrupt, StoreError, StoreNotFound
from service.task_errors import InvalidInput, TaskError, task_error, unavailable
from service.verify_limits import load_verify_limits
from service.worker import QUEUE, make_app, worker_argv
from service.worker_settings import WorkerSettings
from signer.errors import SealingError


def config(tmp_path: Path, environ: dict[str, str] | None = None, toml: str = ""):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(toml)
    return load_config(environ=environ or {}, home=home)


def test_defaults_hang_together(tmp_path: Path) -> None:
    c = config(tmp_path)
    assert c.broker_url == "redis://localhost:6379/0"
    assert c.store_url == str(c.home / "store") and c.registry_url == f"sqlite://{c.home / 'registry.db'}"
    s = WorkerSettings.load(c, environ={})
    assert (s.soft_time_limit, s.time_limit, s.result_backend) == (120, 180, c.broker_url)
    assert s.effective_visibility_timeout > s.time_limit + s.retry_backoff_max
    assert s.stale_claim_seconds > s.time_limit


def test_file_and_variables(tmp_path: Path) -> None:
    toml = ('[worker]\nbroker_url = "redis://broker:6379/2"\nstore = "originals"\nregistry = "reg.db"\n'
            'time_limit = 100\nsoft_time_limit = 80\n')
    c = config(tmp_path, toml=toml)
    assert (c.broker_url, c.store_url, c.registry_url) == (
        "redis://broker:6379/2", str(c.home / "originals"), str(c.home / "reg.db"))
    assert WorkerSettings.load(c, environ={}).time_limit == 100
    env = {"CERTSEAL_STORE": "/srv/store", "CERTSEAL_REGISTRY": "postgresql://db/certseal",
           "CERTSEAL_BROKER_URL": "redis://other/0", "CERTSEAL_TASK_TIME_LIMIT": "90"}
    c = config(tmp_path, env, toml)
    assert (c.broker_url, c.store_url, c.registry_url) == ("redis://other/0", "/srv/store", "postgresql://db/certseal")
    assert WorkerSettings.load(c, environ=env).time_limit == 90


@pytest.mark.parametrize("env, message", [
    ({"CERTSEAL_TASK_SOFT_TIME_LIMIT": "200"}, "soft time limit"),
    ({"CERTSEAL_VISIBILITY_TIMEOUT": "200"}, "visibility timeout"),
    ({"CERTSEAL_TASK_TIME_LIMIT": "soon"}, "CERTSEAL_TASK_TIME_LIMIT"),
    ({"CERTSEAL_TASK_MAX_RETRIES": "-1"}, "CERTSEAL_TASK_MAX_RETRIES"),
])
def test_settings_that_do_not_hang_together_are_refused(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WorkerSettings.load(config(tmp_path, env), environ=env)


def test_celery_app_settings(tmp_path: Path) -> None:
    settings = WorkerSettings.load(config(tmp_path), environ={})
    conf = make_app(settings).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"] and conf.task_serializer == conf.result_serializer == "json"
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (120, 180)
    assert conf.worker_max_memory_per_child == settings.max_memory_per_child
    assert conf.broker_transport_options["visibility_timeout"] == settings.effective_visibility_timeout
    assert conf.task_default_queue == QUEUE and f"--queues={QUEUE}" in worker_argv(concurrency=2)
    assert conf.broker_connection_max_retries is None and conf.result_backend_always_retry


def test_a_rabbitmq_broker_needs_a_result_backend_and_no_visibility_timeout(tmp_path: Path) -> None:
    env = {"CERTSEAL_BROKER_URL": "amqp://guest:guest@localhost:5672//"}
    with pytest.raises(ConfigError, match="RabbitMQ, which keeps no task results.*CERTSEAL_RESULT_BACKEND"):
        WorkerSettings.load(config(tmp_path, env), environ=env)
    both_amqp = {**env, "CERTSEAL_RESULT_BACKEND": "amqp://localhost//"}
    with pytest.raises(ConfigError, match="result backend amqp:// is RabbitMQ"):
        WorkerSettings.load(config(tmp_path, both_amqp), environ=both_amqp)
    # A visibility timeout shorter than the limits is Redis's problem, not RabbitMQ's.
    env.update(CERTSEAL_RESULT_BACKEND="redis://localhost:6379/1", CERTSEAL_VISIBILITY_TIMEOUT="200")
    settings = WorkerSettings.load(config(tmp_path, env), environ=env)
    assert settings.broker_is_amqp and settings.result_backend == "redis://localhost:6379/1"
    options = make_app(settings).conf.broker_transport_options
    assert options == {"confirm_publish": True}
    redis_options = make_app(WorkerSettings.load(config(tmp_path), environ={})).conf.broker_transport_options
    assert "visibility_timeout" in redis_options and "confirm_publish" not in redis_options


def test_a_killed_workers_restore_lock_expires_in_seconds_not_minutes(tmp_path: Path) -> None:
    from kombu.transport.redis import Channel

    options = make_app(WorkerSettings.load(config(tmp_path), environ={})).conf.broker_transport_options
    assert Channel.unacked_mutex_expire == 300, "kombu's default changed: is the setting still needed?"
    assert options["unacked_mutex_expire"] == 10
    env = {"CERTSEAL_UNACKED_MUTEX_EXPIRE": "3"}
    assert make_app(WorkerSettings.load(config(tmp_path, env), environ=env)).conf.broker_transport_options[
        "unacked_mutex_expire"] == 3
    with pytest.raises(ConfigError, match="CERTSEAL_UNACKED_MUTEX_EXPIRE"):
        WorkerSettings.load(config(tmp_path), environ={"CERTSEAL_UNACKED_MUTEX_EXPIRE": "0"})


def test_transient_or_not() -> None:
    from celery.exceptions import SoftTimeLimitExceeded
    from kombu.exceptions import OperationalError

    transient = [
        StoreError("read-only", transient=True), RegistryError("db down", transient=True),
        SealingError("the timestamp authority did not answer usefully: timeout"), SoftTimeLimitExceeded(),
        OperationalError("broker"), ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
    ]
    permanent = [
        StoreCorrupt("bad bytes"), StoreNotFound("gone"), RegistryError("refused transition"),
        SealingError("a training key cannot seal a production document"), InputError("f", "bad"),
        ValueError("bug"), OSError(errno.ENOENT, "no such file"),
    ]
    assert [is_transient(e) for e in transient] == [True] * len(transient)
    assert [is_transient(e) for e in permanent] == [False] * len(permanent)


def test_error_payloads_are_json_objects() -> None:
    err = task_error(InputError("fields.consignor.country", "unknown country 'XX'"))
    assert isinstance(err, InvalidInput)
    assert err.args[0] == {"error": "invalid_input", "field": "fields.consignor.country",
                           "message": "unknown country 'XX'"}
    assert task_error(StoreNotFound("no object")).error["error"] == "not_found"
    assert task_error(ConfigError("no key")).error["error"] == "configuration"
    assert task_error(ValueError("bug")) is None
    gave_up = unavailable(StoreError("disk full", transient=True), 60)
    assert isinstance(gave_up, TaskError) and gave_up.error["transient"] is True and gave_up.error["retries"] == 60
    # What a caller without certseal gets back: Celery rebuilds the exception from its args.
    rebuilt = type("InvalidInput", (Exception,), {})(*err.args)
    assert rebuilt.args[0]["field"] == "fields.consignor.country"


def test_worker_command_says_what_is_unreachable(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    env.update(CERTSEAL_HOME=str(tmp_path / "home"), CERTSEAL_STORE=str(tmp_path / "store"),
               CERTSEAL_REGISTRY="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    certseal = str(Path(sys.executable).with_name("certseal"))
    proc = subprocess.run([certseal, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "certseal worker: registry postgresql://nobody@127.0.0.1:1/none" in proc.stderr
    usage = subprocess.run([certseal, "worker", "--concurrency", "0"], env=env, capture_output=True, text=True)
    assert usage.returncode == 64


# --- the verification sandbox's limits ----------------------------------------------------------

def test_verify_limits_default_then_file_then_variables(tmp_path: Path) -> None:
    assert load_verify_limits(config(tmp_path), environ={}) == DEFAULT_LIMITS
    toml = "[verify]\ncpu_seconds = 5\nwall_seconds = 7.5\nmemory_mib = 256\nmax_file_mib = 2\n"
    assert load_verify_limits(config(tmp_path, toml=toml), environ={}) == Limits(
        max_file_bytes=2 << 20, wall_seconds=7.5, cpu_seconds=5, extra_memory_bytes=256 << 20)
    env = {"CERTSEAL_VERIFY_CPU_SECONDS": "3", "CERTSEAL_VERIFY_MAX_FILE_MIB": "1", "CERTSEAL_VERIFY_WALL_SECONDS": ""}
    limits = load_verify_limits(config(tmp_path, env, toml), environ=env)
    assert limits == Limits(max_file_bytes=1 << 20, wall_seconds=7.5, cpu_seconds=3, extra_memory_bytes=256 << 20)
    assert isinstance(limits.cpu_seconds, int)  # RLIMIT_CPU takes whole seconds
    # Only some keys set: the others keep their defaults.
    only_wall = load_verify_limits(config(tmp_path), environ={"CERTSEAL_VERIFY_WALL_SECONDS": "12"})
    assert only_wall == Limits(wall_seconds=12.0)
    paths = load_verify_limits(config(tmp_path, toml="[verify]\nmax_paths = 20000\n"), environ={})
    assert paths == Limits(max_paths=20_000)
    assert load_verify_limits(config(tmp_path), environ={"CERTSEAL_VERIFY_MAX_PATHS": "7"}).max_paths == 7


@pytest.mark.parametrize("env, toml, message", [
    ({"CERTSEAL_VERIFY_CPU_SECONDS": "lots"}, "", "CERTSEAL_VERIFY_CPU_SECONDS: expected a whole number, got 'lots'"),
    ({"CERTSEAL_VERIFY_CPU_SECONDS": "1.5"}, "", "CERTSEAL_VERIFY_CPU_SECONDS: expected a whole number"),
    ({"CERTSEAL_VERIFY_CPU_SECONDS": "0"}, "", "CERTSEAL_VERIFY_CPU_SECONDS: must be positive"),
    ({"CERTSEAL_VERIFY_WALL_SECONDS": "-3"}, "", "CERTSEAL_VERIFY_WALL_SECONDS: must be positive"),
    ({"CERTSEAL_VERIFY_WALL_SECONDS": "nan"}, "", "CERTSEAL_VERIFY_WALL_SECONDS: expected a number"),
    ({"CERTSEAL_VERIFY_MEMORY_MIB": "512M"}, "", "CERTSEAL_VERIFY_MEMORY_MIB: expected a whole number"),
    ({"CERTSEAL_VERIFY_MAX_FILE_MIB": "0"}, "", "CERTSEAL_VERIFY_MAX_FILE_MIB: must be positive"),
    ({"CERTSEAL_VERIFY_MAX_PATHS": "2.5"}, "", "CERTSEAL_VERIFY_MAX_PATHS: expected a whole number"),
    ({}, "[verify]\nmemory_mib = 0\n", r"config.toml \[verify\] memory_mib: must be positive"),
    ({}, '[verify]\nwall_seconds = "soon"\n', r"config.toml \[verify\] wall_seconds: expected a number"),
    ({}, "[verify]\ncpu_seconds = true\n", r"config.toml \[verify\] cpu_seconds: expected a whole number"),
    ({}, "[verify]\nmax_file_mib = 0.5\n", r"config.toml \[verify\] max_file_mib: expected a whole number"),
])
def test_bad_verify_limits_name_the_variable_or_the_key(tmp_path: Path, env: dict, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_verify_limits(config(tmp_path, env, toml), environ=env)


def test_a_verify_table_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[verify\] must be a table"):
        config(tmp_path, toml='verify = "fast"\n')


def _oversized(tmp_path: Path) -> Path:
    path = tmp_path / "big.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"%" * (2 << 20))  # just over 2 MiB
    return path


def test_the_configured_limits_reach_the_workers_sandbox(tmp_path: Path) -> None:
    from service.services import open_services

    env = {"CERTSEAL_STORE": str(tmp_path / "store"), "CERTSEAL_REGISTRY": f"sqlite://{tmp_path / 'r.db'}",
           "CERTSEAL_VERIFY_MAX_FILE_MIB": "1"}
    services = open_services(config(tmp_path, env, "[verify]\nwall_seconds = 9\n"), environ=env)
    try:
        assert services.verify_limits == Limits(max_file_bytes=1 << 20, wall_seconds=9.0)
        report = services.verify(_oversized(tmp_path).read_bytes())
    finally:
        services.close()
    assert report.verdict.value == "INVALID"
    assert [f.message for f in report.findings] == [
        "the file is 2 MiB, larger than any certificate original (1 MiB limit)"]


def test_certseal_verify_takes_its_limits_from_the_environment_with_no_config_file(tmp_path: Path) -> None:
    import json
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    env.update(CERTSEAL_HOME=str(tmp_path / "no-such-home"), CERTSEAL_VERIFY_MAX_FILE_MIB="1")
    certseal = str(Path(sys.executable).with_name("certseal"))
    big = _oversized(tmp_path)
    proc = subprocess.run([certseal, "verify", "--json", str(big)], env=env, capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (1, ""), proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == "INVALID" and report["reasons"] == [
        "the file is 2 MiB, larger than any certificate original (1 MiB limit)"]
    assert not (tmp_path / "no-such-home").exists()
    env["CERTSEAL_VERIFY_MAX_FILE_MIB"] = "lots"
    bad = subprocess.run([certseal, "verify", str(big)], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "CERTSEAL_VERIFY_MAX_FILE_MIB: expected a whole number" in bad.stderr, bad.stderr
