"""The worker on RabbitMQ, for real, results in a Redis of the test's own: the broker without
Redis's window. A message a worker held is handed back the moment its connection closes, and a
message stays on its queue until acknowledged, so a whole worker SIGKILLed mid batch (on the
machine's RabbitMQ, a virtual host of its own) or the broker itself crashing (a node of the
test's own) loses nothing, and nothing needs sending again. On Redis the same faults can lose
the message being taken, and a killed worker's others wait out the visibility timeout:
test_worker_faults."""
from __future__ import annotations

from pathlib import Path

from _worker_helpers import (
    RabbitMQNode,
    RedisServer,
    check_batch,
    rabbitmq_vhost,  # noqa: F401 - fixture
    redis_server,  # noqa: F401 - fixture
    wait_all,
)
from test_worker_faults import TIMEOUT, Rig, crash_broker_once, kill_pool_then_worker


def test_worker_killed_mid_batch_on_rabbitmq_loses_nothing(tmp_path: Path, redis_server: RedisServer,  # noqa: F811
                                                          rabbitmq_vhost: str) -> None:  # noqa: F811
    rig = Rig(tmp_path, rabbitmq_vhost, backend=redis_server.url(1))
    rig.worker.start()
    assert "messages handed back when a worker's connection closes" in rig.worker.log()
    sent = rig.send(3400)
    events: list[str] = []
    try:
        wait_all([r for _, r in sent], timeout=TIMEOUT, during=kill_pool_then_worker(rig, events))
    finally:
        rig.worker.stop()
    assert len(events) == 3, events
    check_batch(sent, rig.store, rig.registry)


def test_broker_crash_and_restart_mid_batch_on_rabbitmq_loses_nothing(tmp_path: Path,  # noqa: F811
                                                                      redis_server: RedisServer) -> None:  # noqa: F811
    node = RabbitMQNode()
    try:
        node.start()
        rig = Rig(tmp_path, node.url(), backend=redis_server.url(2))
        rig.worker.start()
        sent = rig.send(3500)  # each confirmed by the node, hence on its disk, before it returns
        events: list[str] = []
        try:
            wait_all([r for _, r in sent], timeout=TIMEOUT, during=crash_broker_once(node.kill, node.start, events))
        finally:
            rig.worker.stop()
    finally:
        node.remove()
    assert len(events) == 2, events
    assert rig.worker.starts == 1, "the worker rode out the outage without a restart"
    check_batch(sent, rig.store, rig.registry)
