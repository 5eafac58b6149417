"""The worker on RabbitMQ, for real (a virtual host of its own on the machine's RabbitMQ,
results in a Redis of the test's own): the broker without Redis's window. A message a worker
held is handed back the moment its connection closes, so a whole worker SIGKILLed mid batch
loses nothing, and nothing needs sending again (on Redis the same kill can lose the message
being taken, and the rest wait out the visibility timeout: test_worker_faults)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from _worker_helpers import (
    RedisServer,
    check_batch,
    rabbitmq_vhost,  # noqa: F401 - fixture
    redis_server,  # noqa: F401 - fixture
    wait_all,
)
from test_worker_faults import BATCH, TIMEOUT, Rig, _pool_death_logged


def test_worker_killed_mid_batch_on_rabbitmq_loses_nothing(tmp_path: Path, redis_server: RedisServer,  # noqa: F811
                                                          rabbitmq_vhost: str) -> None:  # noqa: F811
    rig = Rig(tmp_path, rabbitmq_vhost, backend=redis_server.url(1))
    rig.worker.start()
    assert "messages handed back when a worker's connection closes" in rig.worker.log()
    sent = rig.send(3400)
    events: list[str] = []

    def during(done: int) -> None:
        if not events and done >= 2:
            os.kill(rig.worker.pool_pids()[0], signal.SIGKILL)
            events.append(f"pool process killed at {done}")
        elif len(events) == 1 and done >= BATCH // 2 and _pool_death_logged(rig):
            rig.worker.kill_all()
            events.append(f"worker killed at {done}")
            rig.worker.start()
            events.append("worker restarted")

    try:
        wait_all([r for _, r in sent], timeout=TIMEOUT, during=during)
    finally:
        rig.worker.stop()
    assert len(events) == 3, events
    check_batch(sent, rig.store, rig.registry)
