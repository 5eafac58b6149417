"""The Celery app `service.worker:app`, and `certseal worker`.

Delivery guarantees come from three places together:
- the broker: a message is acknowledged only after its task finished (acks_late), handed back
  when the pool process running it dies (reject_on_worker_lost), and, when a whole worker is
  killed, redelivered by RabbitMQ as its connection closes, by Redis once nobody acknowledged
  it within the visibility timeout;
- one message at a time per pool process (prefetch 1), so a dead worker strands few;
- `service.originals`: any number of deliveries of one issue make one original.

JSON only, in both directions: task messages carry certificate data and option names, never a
key or a PIN (the worker takes those from its own configuration).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from celery import Celery

from service.config import load_config
from service.worker_settings import WorkerSettings

log = logging.getLogger(__name__)

# One queue of its own, so the workflow's other tasks on the same broker never reach this
# worker (nor ours theirs). Callers send with queue="certseal".
QUEUE = "certseal"
TASK_MODULE = "service.tasks"


def make_app(settings: WorkerSettings) -> Celery:
    app = Celery("certseal", broker=settings.broker_url, backend=settings.result_backend, include=[TASK_MODULE])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task that failed (bad input, refused seal, hard time limit) is acknowledged: it
        # reports its error instead of coming back forever.
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.soft_time_limit,
        task_time_limit=settings.time_limit,
        worker_max_memory_per_child=settings.max_memory_per_child,
        task_track_started=True,
        broker_transport_options=_broker_transport_options(settings),
        result_backend_transport_options={"visibility_timeout": settings.effective_visibility_timeout},
        # A broker restart is an outage to wait out, never a reason to exit or drop a result.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_channel_error_retry=True,
        result_backend_always_retry=True,
        redis_retry_on_timeout=True,
        redis_socket_keepalive=True,
        # Keep tasks running through a lost connection; their messages come back (Redis after the
        # visibility timeout, RabbitMQ at once) and the repeat returns the stored original.
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


def _broker_transport_options(settings: WorkerSettings) -> dict[str, object]:
    if settings.broker_is_amqp:
        # A retry is a new message published before the old one is acknowledged: wait for
        # RabbitMQ to confirm it is stored, or a broker crash in between loses the task.
        return {"confirm_publish": True}
    return {
        "visibility_timeout": settings.effective_visibility_timeout,
        # Look for abandoned messages every `restore_interval` seconds (throttle 1: each time).
        "unacked_restore_interval": settings.restore_interval,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": settings.restore_mutex_expire,
    }


settings = WorkerSettings.load(load_config())
app = make_app(settings)


def worker_argv(*, concurrency: int | None = None, loglevel: str = "INFO", hostname: str | None = None) -> list[str]:
    argv = ["worker", f"--loglevel={loglevel}", "--pool=prefork", f"--queues={QUEUE}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    return argv


def run_worker(*, concurrency: int | None = None, loglevel: str = "INFO", hostname: str | None = None,
               extra: Sequence[str] = ()) -> int:
    """Check the store and registry, tidy what crashed attempts left, serve any local CA for
    the whole pool, then run the Celery worker until it is stopped."""
    from service.services import open_services
    from service.sweep import sweep_store

    config = load_config()
    services = open_services(config, stale_claim_seconds=settings.stale_claim_seconds)
    try:
        sweep_store(services, older_than_seconds=settings.stale_claim_seconds)
    finally:
        services.close()
    redelivery = ("messages handed back when a worker's connection closes" if settings.broker_is_amqp
                  else f"visibility timeout {settings.effective_visibility_timeout:g} s")
    print(f"certseal worker: broker {_redacted(settings.broker_url)}, store {config.store_url}, "
          f"registry {services.registry!r}; hard time limit {settings.time_limit:g} s, {redelivery}", flush=True)
    with contextlib.ExitStack() as stack:
        _serve_local_cas(config, stack)
        app.worker_main([*worker_argv(concurrency=concurrency, loglevel=loglevel, hostname=hostname), *extra])
    return 0


def _serve_local_cas(config, stack: contextlib.ExitStack) -> None:
    """A PKI made with CA services (`certseal demo`, `pki init`) answers OCSP/CRL/TSA on one
    fixed loopback port while sealing. Started here, in the parent, the pool's processes
    inherit it running instead of each trying to bind the same port."""
    try:
        from service.issuing import local_ca_services
    except ImportError:  # pragma: no cover - an issuing module without local CA services
        return
    for env_cfg in config.environments.values():
        if getattr(env_cfg, "local_ca", None) is None:
            continue
        try:
            stack.enter_context(local_ca_services(env_cfg))
        except OSError as exc:
            log.warning("cannot serve the %s local CA: %s", env_cfg.environment.value, exc)


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
