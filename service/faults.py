"""Which failures are worth a retry: transient faults of the things around the pipeline.

Retrying helps when something outside us may recover by itself or by an operator's hand: the
broker, the store (`StoreError.transient`: full or read-only disk, ...), the registry
(`RegistryError.transient`: database down, locked, ...), a timestamp authority that did not
answer, a soft time limit hit while waiting on one of them. It never helps bad input, a
refused seal or a bug: those fail at once.
"""
from __future__ import annotations

import errno

from service.registry import RegistryError
from service.store import StoreError
from signer.errors import SealingError

_NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EHOSTUNREACH,
    errno.ENETUNREACH, errno.EPIPE, errno.EADDRINUSE,  # EADDRINUSE: a local CA's responder port, busy for now
})


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (StoreError, RegistryError)):
        return exc.transient
    if isinstance(exc, SealingError):
        return _tsa_unreachable(exc)
    if _soft_time_limit(exc) or _broker_down(exc):
        return True
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


def _tsa_unreachable(exc: SealingError) -> bool:
    """signer.pades words a TSA failure this way; the causes tell a network fault apart."""
    if getattr(exc, "transient", False):
        return True
    if str(exc).startswith("the timestamp authority did not answer"):
        return True
    cause = exc.__cause__ or exc.__context__
    seen = 0
    while cause is not None and seen < 8:
        if isinstance(cause, (ConnectionError, TimeoutError)) or type(cause).__name__ in (
                "ClientConnectorError", "ServerTimeoutError", "ClientOSError", "ServerDisconnectedError"):
            return True
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return False


def _soft_time_limit(exc: BaseException) -> bool:
    from celery.exceptions import SoftTimeLimitExceeded

    return isinstance(exc, SoftTimeLimitExceeded)


def _broker_down(exc: BaseException) -> bool:
    from kombu.exceptions import OperationalError

    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis comes with celery[redis]
        return isinstance(exc, OperationalError)
    return isinstance(exc, (OperationalError, RedisConnectionError, RedisTimeoutError))
