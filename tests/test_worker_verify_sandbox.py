"""The worker verifies under the sandbox's limits, for real: a `certseal worker` process (its
pool processes are daemonic multiprocessing children, which may not start multiprocessing
children of their own) gets a file that would take far more processor time to analyse than
its configured limit (CERTSEAL_VERIFY_CPU_SECONDS), answers INVALID naming that limit, and
goes on serving with the same pool process.

The hostile file is a certseal original the worker issued, plus two updates: one adds a
later signature over a revision holding a small graph of objects (2^23 paths from the
catalog to its last node), the next changes the Info dictionary, so checking that later
signature makes pyHanko's change analysis enumerate every path.

The limits are the test's own, not the defaults: whether the defaults are reached depends on
the machine (on a fast one the file finishes inside them). 2^23 paths cost 26 s of processor
time in process (measured), 13x the 2 s given here, so the processor limit stops the analysis
on any machine (a busy one may hit the wall-clock limit first); when it does, the analysis holds
less than 256 MiB, far below the memory limit (the whole analysis would need over 1 GiB).
"""
from __future__ import annotations

import base64
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from _originals_helpers import certificate, reference
from _pki_helpers import look_alike_key, raw_sign
from _worker_helpers import (
    RedisServer,
    WorkerProcess,
    client,
    redis_server,  # noqa: F401 - fixture
    send_issue,
    worker_env,
)
from renderers.environment import Environment
from service.store import LocalStore

CPU_SECONDS = 2
WALL_SECONDS = 15
LIMITS = {
    "CERTSEAL_VERIFY_CPU_SECONDS": str(CPU_SECONDS),
    "CERTSEAL_VERIFY_WALL_SECONDS": str(WALL_SECONDS),
    # No budget on the change analysis's paths (which would answer this file at once, see
    # tests/test_verify_path_budget.py): here the sandbox itself must stop it.
    "CERTSEAL_VERIFY_MAX_PATHS": str(10**12),
    # Above the sandbox's wall-clock limit, so the sandbox, not Celery, is what stops the analysis.
    "CERTSEAL_TASK_SOFT_TIME_LIMIT": str(WALL_SECONDS + 60),
    "CERTSEAL_TASK_TIME_LIMIT": str(WALL_SECONDS + 90),
    "CERTSEAL_VISIBILITY_TIMEOUT": str(WALL_SECONDS + 120),
}


def _update(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def path_explosion(original: bytes, *, layers: int = 23, chain: int = 150) -> bytes:
    """`original` plus a revision whose catalog reaches a chain of `chain` objects and then
    `layers` arrays each holding the next one twice, signed by a look-alike key, plus an
    update after that signature."""
    def add_graph(writer) -> None:
        node = writer.add_object(generic.NullObject())
        for _ in range(layers):
            node = writer.add_object(generic.ArrayObject([node, node]))
        # Long paths make every path cost more to compare and hash; not much longer, or the
        # recursive walk meets Python's recursion limit first (deeper in a Celery task).
        for _ in range(chain):
            node = writer.add_object(generic.DictionaryObject({pdf_name("/N"): node}))
        writer.root[pdf_name("/PieceInfo")] = node
        writer.update_root()

    def retitle(writer) -> None:
        info = writer.trailer["/Info"]
        info[pdf_name("/Title")] = generic.TextStringObject("Released")
        writer.update_container(info)

    signed = raw_sign(_update(original, add_graph), look_alike_key(Environment.TRAINING).signer,
                      certify=False, field="Later", force=True)
    return _update(signed, retitle)


def _verify(app, source: dict, timeout: float) -> dict:
    return app.send_task("certseal.verify", args=[source], queue="certseal").get(timeout=timeout)


def test_a_hostile_file_costs_a_verdict_not_the_worker(tmp_path: Path, redis_server: RedisServer) -> None:  # noqa: F811
    broker = redis_server.url(7)
    store = tmp_path / "store"
    worker = WorkerProcess(worker_env(tmp_path / "home", broker, store, f"sqlite://{tmp_path / 'registry.db'}", **LIMITS),
                           tmp_path / "worker.log", concurrency=1)
    app = client(broker)
    worker.start()
    try:
        # Issuing verifies the new original before storing it: in the sandbox, in the pool process.
        issued = send_issue(app, certificate(7100)).get(timeout=180)
        assert issued["verdict"] == "NO_LEGAL_VALUE", issued
        original = LocalStore(store).get_uri(issued["uri"])
        pool = worker.pool_pids()
        assert len(pool) == 1

        hostile = path_explosion(original)
        report = _verify(app, {"pdf_base64": base64.b64encode(hostile).decode()}, timeout=WALL_SECONDS + 120)
        assert report["verdict"] == "INVALID", report
        limit = f"more than {CPU_SECONDS} s of processor time"  # the configured limits, not the defaults
        wall = f"longer than {WALL_SECONDS} s"  # a busy machine may hit this one first
        assert report["reasons"] and (limit in report["reasons"][0] or wall in report["reasons"][0]), report["reasons"]

        # Same worker, same pool process, still serving.
        assert worker.process is not None and worker.process.poll() is None
        assert worker.pool_pids() == pool
        again = _verify(app, {"uri": issued["uri"]}, timeout=60)
        assert again["verdict"] == "NO_LEGAL_VALUE" and again["reference"] == reference(7100), again
        assert "daemonic processes are not allowed to have children" not in worker.log()
    finally:
        worker.stop()
