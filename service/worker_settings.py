"""The worker's tuning: time limits, retries, broker visibility timeout, memory per child.

From the [worker] table of config.toml, overridden by CERTSEAL_* variables. The numbers hang
together, and `load` refuses a set that does not:

- soft limit < hard limit: the soft one raises inside the task (which then retries), the hard
  one kills the process;
- a claim older than `stale_claim_seconds` (hard limit + a margin) belongs to a dead attempt,
  since a live one cannot outlast the hard limit;
- Redis redelivers a message nobody acknowledged within `visibility_timeout`. That must be
  longer than the hard limit (or a running task is handed to a second worker) plus the longest
  retry countdown (a retried message sits unacknowledged in a worker until its countdown ends).
  RabbitMQ hands a message back when the connection of the worker holding it closes, and has
  no such timeout;
- RabbitMQ keeps no task results: with an AMQP broker the result backend must be named.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from service.config import Config, ConfigError

# Seconds, except max_memory_per_child (KiB, as Celery counts it) and max_retries.
_KEYS: dict[str, tuple[str, type]] = {
    "soft_time_limit": ("CERTSEAL_TASK_SOFT_TIME_LIMIT", float),
    "time_limit": ("CERTSEAL_TASK_TIME_LIMIT", float),
    "visibility_timeout": ("CERTSEAL_VISIBILITY_TIMEOUT", float),
    "max_memory_per_child": ("CERTSEAL_WORKER_MAX_MEMORY_PER_CHILD", int),
    "retry_backoff": ("CERTSEAL_RETRY_BACKOFF", float),
    "retry_backoff_max": ("CERTSEAL_RETRY_BACKOFF_MAX", float),
    "max_retries": ("CERTSEAL_TASK_MAX_RETRIES", int),
    "restore_interval": ("CERTSEAL_UNACKED_RESTORE_INTERVAL", int),
    "restore_mutex_expire": ("CERTSEAL_UNACKED_MUTEX_EXPIRE", int),
}
STALE_MARGIN_SECONDS = 60.0
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def is_amqp(url: str) -> bool:
    return scheme(url) in AMQP_SCHEMES


@dataclass(frozen=True)
class WorkerSettings:
    broker_url: str
    result_backend: str
    soft_time_limit: float = 120.0
    time_limit: float = 180.0
    visibility_timeout: float | None = None  # None: time_limit + retry_backoff_max + 60
    max_memory_per_child: int = 768_000  # KiB; a child is replaced after the task that crossed it
    retry_backoff: float = 2.0  # first retry after about this long, doubling each time
    retry_backoff_max: float = 60.0
    # About an hour of retries at the cap: long enough for an operator to free a full disk.
    max_retries: int = 60
    # How often a worker looks for messages whose visibility timeout ran out (kombu's default
    # is 10 s x a throttle of 10, i.e. up to 100 s late).
    restore_interval: int = 10
    # Workers take turns at that look under a Redis lock that expires after this long. A worker
    # killed while holding it (SIGKILL, OOM) blocks every other worker's look until then:
    # kombu's default, 300 s, stranded a killed worker's tasks for five minutes. The look takes
    # milliseconds, and two workers looking at once restore nothing twice (each restore is a
    # transaction watching the unacked set), so a short expiry costs nothing.
    restore_mutex_expire: int = 10

    @property
    def effective_visibility_timeout(self) -> float:
        if self.visibility_timeout is not None:
            return self.visibility_timeout
        return self.time_limit + self.retry_backoff_max + 60.0

    @property
    def broker_is_amqp(self) -> bool:
        """RabbitMQ, rather than Redis with kombu's visibility timeout and unacked restore."""
        return is_amqp(self.broker_url)

    @property
    def stale_claim_seconds(self) -> float:
        return self.time_limit + STALE_MARGIN_SECONDS

    @classmethod
    def load(cls, config: Config, environ: Mapping[str, str] = os.environ) -> WorkerSettings:
        values: dict[str, object] = {}
        for key, (variable, kind) in _KEYS.items():
            raw, where = environ.get(variable), variable
            if raw is None or raw == "":
                raw, where = config.worker.get(key), f"{config.config_file} [worker] {key}"
            if raw is None:
                continue
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: expected a number, got {raw!r}") from None
            if value <= 0:
                raise ConfigError(f"{where}: must be positive, got {raw!r}")
            values[key] = value
        backend = environ.get("CERTSEAL_RESULT_BACKEND") or config.worker.get("result_backend")
        if not backend and is_amqp(config.broker_url):
            raise ConfigError(f"the broker {scheme(config.broker_url)}:// is RabbitMQ, which keeps no task "
                              f"results: name a result backend (CERTSEAL_RESULT_BACKEND or {config.config_file} "
                              "[worker] result_backend), e.g. redis://localhost:6379/0")
        backend = backend or config.broker_url
        settings = cls(broker_url=config.broker_url, result_backend=str(backend), **values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if self.soft_time_limit >= self.time_limit:
            raise ConfigError(f"the soft time limit ({self.soft_time_limit:g} s) must be below "
                              f"the hard one ({self.time_limit:g} s)")
        if is_amqp(self.result_backend):
            raise ConfigError(f"the result backend {scheme(self.result_backend)}:// is RabbitMQ, which "
                              "keeps no task results: name another, e.g. redis://localhost:6379/0")
        needed = self.time_limit + self.retry_backoff_max
        if not self.broker_is_amqp and self.effective_visibility_timeout <= needed:
            raise ConfigError(
                f"the broker visibility timeout ({self.effective_visibility_timeout:g} s) must exceed the "
                f"hard time limit plus the longest retry countdown ({needed:g} s), or Redis hands "
                "running and waiting tasks to a second worker")
