"""The failures a task reports to its caller, as JSON objects.

Celery stores a failed task's exception as its type name and `args`; the one argument here is
a JSON object, so the caller gets it intact whether or not it has certseal installed (Celery
then makes up an exception class of the same name): `error = exc.args[0]`, with
`error["error"]` one of the codes below and `error["message"]` a sentence for an operator.

    invalid_input      the certificate or the options (`field` names which); never retried
    conflict           that version was already issued from other data; never retried
    not_found          no such original / URI
    original_rejected  the sealed bytes did not verify as expected (`verdict`, `reasons`)
    sealing_refused    the key or the document cannot be sealed
    configuration      no key configured for the environment, unreadable trust roots, ...
    store / registry   a permanent store or registry failure (corrupt blob, refused transition)
    unavailable        a transient fault outlasted every retry (`transient`: true)
"""
from __future__ import annotations

from typing import Any

from renderers.errors import InputError
from service.config import ConfigError
from service.registry import RegistryError
from service.store import StoreError, StoreNotFound
from signer.errors import SealingError


class TaskError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error)

    @property
    def error(self) -> dict[str, Any]:
        return self.args[0]

    def __str__(self) -> str:
        return f"{self.error.get('error')}: {self.error.get('message')}"


class InvalidInput(TaskError):
    """Bad certificate or options: retrying the same message can never succeed."""


def task_error(exc: BaseException) -> TaskError | None:
    """The caller-facing error for a known, non-transient failure; None for anything else (a
    bug, which Celery then reports with its traceback)."""
    from service.lifecycle import NotRegistered
    from service.originals import Conflict, OriginalRejected

    message = str(exc)
    if isinstance(exc, InputError):
        return InvalidInput({"error": "invalid_input", "field": exc.field, "message": exc.message})
    if isinstance(exc, Conflict):
        return TaskError({"error": "conflict", "message": message})
    if isinstance(exc, (NotRegistered, StoreNotFound)):
        return TaskError({"error": "not_found", "message": message})
    if isinstance(exc, OriginalRejected):
        return TaskError({"error": "original_rejected", "message": message, "verdict": exc.verdict,
                          "reasons": exc.reasons})
    if isinstance(exc, SealingError):
        return TaskError({"error": "sealing_refused", "message": message})
    if isinstance(exc, ConfigError):
        return TaskError({"error": "configuration", "message": message})
    if isinstance(exc, StoreError):
        return TaskError({"error": "store", "message": message})
    if isinstance(exc, RegistryError):
        return TaskError({"error": "registry", "message": message})
    return None


def unavailable(exc: BaseException, retries: int) -> TaskError:
    return TaskError({"error": "unavailable", "transient": True, "retries": retries,
                      "message": f"{type(exc).__name__}: {exc}"})
