"""The Celery tasks (names and payloads as in DESIGN.md, "Worker contract").

    certseal.issue(certificate: dict, options: dict) -> {"reference", "version", "sha256", "uri",
                                                         "verdict", "created", "status"}
    certseal.verify({"uri": …} | {"pdf_base64": …})  -> verify report + "registry"
    certseal.preview(certificate, options)           -> {"uri"}
    certseal.cancel(reference: str, version: int)    -> the registry row (status "cancelled")

Every task does its work through `_run`: transient faults (service.faults) are retried with
exponential backoff and jitter; known permanent ones fail at once with a JSON error
(service.task_errors); anything else is a bug and fails with its traceback.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import random
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from celery import Task
from celery.signals import worker_process_shutdown

from renderers.errors import InputError
from service.faults import is_transient
from service.lifecycle import cancel_original, status_dict, with_registry_status
from service.originals import issue_original
from service.stored_preview import preview_certificate
from service.services import Services, open_services
from service.store import StoreError, StoreNotFound
from service.task_errors import InvalidInput, TaskError, task_error, unavailable
from service.worker import app, settings

log = logging.getLogger(__name__)
T = TypeVar("T")
# WeasyPrint narrates every layout step at INFO, fontTools every subsetted font: dozens of
# lines per certificate in the worker log.
for _chatty in ("weasyprint.progress", "fontTools"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)

_services: Services | None = None
_services_pid: int | None = None


def services() -> Services:
    """This process's services, opened on first use (a pool process never shares the parent's
    database connections)."""
    global _services, _services_pid
    if _services is None or _services_pid != os.getpid():
        _services = open_services(stale_claim_seconds=settings.stale_claim_seconds)
        _services_pid = os.getpid()
    return _services


@worker_process_shutdown.connect
def _close_services(**_: object) -> None:
    if _services is not None and _services_pid == os.getpid():
        _services.close()


def backoff(retries: int) -> float:
    """Exponential, capped, with jitter: workers that failed together do not retry together."""
    ceiling = min(settings.retry_backoff_max, settings.retry_backoff * (2 ** retries))
    return random.uniform(ceiling / 2, ceiling)


def _run(task: Task, action: Callable[[Services], T]) -> T:
    try:
        return action(services())
    except TaskError:
        raise
    except Exception as exc:
        if is_transient(exc):
            retries = task.request.retries
            if retries >= task.max_retries:
                raise unavailable(exc, retries) from exc
            countdown = backoff(retries)
            log.warning("%s[%s]: transient fault, retry %d in %.1f s: %s", task.name, task.request.id,
                        retries + 1, countdown, exc)
            # The RETRY state carries the error, so a caller watching sees why it waits.
            raise task.retry(exc=TaskError({"error": "unavailable", "transient": True, "message": str(exc)}),
                             countdown=countdown) from None
        error = task_error(exc)
        if error is None:
            raise
        raise error from exc


_TASK_OPTIONS: dict[str, Any] = {"bind": True, "max_retries": settings.max_retries, "throws": (TaskError,)}


@app.task(name="certseal.issue", **_TASK_OPTIONS)
def issue(self: Task, certificate: dict, options: dict | None = None) -> dict[str, Any]:
    return _run(self, lambda s: issue_original(certificate, options or {}, services=s).to_dict())


@app.task(name="certseal.verify", **_TASK_OPTIONS)
def verify(self: Task, source: dict) -> dict[str, Any]:
    def action(s: Services) -> dict[str, Any]:
        report = s.verify(_source_bytes(source, s)).to_dict()
        return with_registry_status(report, s.registry)

    return _run(self, action)


@app.task(name="certseal.preview", **_TASK_OPTIONS)
def preview(self: Task, certificate: dict, options: dict | None = None) -> dict[str, str]:
    return _run(self, lambda s: {"uri": preview_certificate(certificate, options or {}, services=s)})


@app.task(name="certseal.cancel", **_TASK_OPTIONS)
def cancel(self: Task, reference: str, version: int) -> dict[str, Any]:
    if not isinstance(reference, str) or isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput({"error": "invalid_input", "field": "reference" if not isinstance(reference, str)
                            else "version", "message": "expected a reference string and an integer version"})
    return _run(self, lambda s: status_dict(cancel_original(reference, version, s.registry)))


def _source_bytes(source: object, s: Services) -> bytes:
    if not isinstance(source, Mapping) or len(source) != 1 or not {"uri", "pdf_base64"} & set(source):
        raise InputError("$", 'expected {"uri": …} (a stored original) or {"pdf_base64": …}')
    if "pdf_base64" in source:
        try:
            return base64.b64decode(str(source["pdf_base64"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError("pdf_base64", f"not valid base64: {exc}") from None
    try:
        return s.store.get_uri(str(source["uri"]))
    except StoreError as exc:
        if isinstance(exc, StoreNotFound) or exc.transient or type(exc) is not StoreError:
            raise
        raise InputError("uri", str(exc)) from None  # not a URI of this store
