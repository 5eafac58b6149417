"""What issuing needs, opened once per process: configuration, store, registry, and the seal
keys and trust roots, loaded on first use and kept.

One `Services` per process: the registry's connections must not cross a fork (they notice and
reopen), and seal keys are expensive to load. The configuration file is watched (one `stat`
per use): when `certseal pki init` or another worker process registered a PKI, keys and trust
roots are reloaded, so a trust root made by a sibling process is trusted here too.
"""
from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from renderers.environment import Environment
from renderers.model import Certificate
from service.config import Config, ConfigError, load_config
from service.registry import Registry, open_registry
from service.store import LocalStore, Store, StoreError, open_store
from signer.errors import SealingError
from signer.keys import SealKey
from signer.report import Report
from signer.trust import TrustStore

if TYPE_CHECKING:
    from service.sandbox import Limits

log = logging.getLogger(__name__)

DEFAULT_STALE_CLAIM_SECONDS = 240.0  # the worker passes its own: hard time limit + margin
VERDICT_TTL_SECONDS = 300.0
_VERDICT_CACHE_SIZE = 4096


class Services:
    def __init__(
        self, config: Config, store: Store, registry: Registry, *,
        stale_claim_seconds: float = DEFAULT_STALE_CLAIM_SECONDS,
        verify_limits: Limits | None = None,
    ) -> None:
        from service.sandbox import DEFAULT_LIMITS

        self.config = config
        self.store = store
        self.registry = registry
        # A claim older than this belongs to an attempt that is dead for sure (see
        # service.worker_settings): only then may its (reference, version) be taken over.
        self.stale_claim_seconds = stale_claim_seconds
        # The sandbox's limits for untrusted files ([verify] / CERTSEAL_VERIFY_*, read at start).
        self.verify_limits = verify_limits or DEFAULT_LIMITS
        self._lock = threading.RLock()
        self._keys: dict[Environment, SealKey] = {}
        self._trust: TrustStore | None = None
        self._config_stamp = _stamp(config.config_file)
        # sha256 → (when, verdict): a repeated issue of the same original within minutes need
        # not verify the same bytes again (verifying a PAdES file costs more than rendering it).
        self._verdicts: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._previews: Store | None = None

    def __repr__(self) -> str:
        return f"Services(store={self.store!r}, registry={self.registry!r})"

    @property
    def owner(self) -> str:
        """Who holds a claim, for an operator reading the registry: host and process."""
        return f"{socket.gethostname()}:{os.getpid()}"

    # -- keys and trust -----------------------------------------------------------------

    def seal_key(self, env: Environment) -> SealKey:
        with self._lock:
            self._reload_if_changed()
            key = self._keys.get(env)
            if key is None:
                key = self._keys[env] = self._load_key(env)
            return key

    def _load_key(self, env: Environment) -> SealKey:
        from service.issuing import seal_key_for

        if env is Environment.TRAINING:
            # A new user's worker has no PKI at all: make the training one, as the demo does.
            self.config = ensure_training_pki(self.config)
            self._trust = None
            self._config_stamp = _stamp(self.config.config_file)
        return seal_key_for(self.config, env)

    def trust(self) -> TrustStore:
        from service.trust import trust_store

        with self._lock:
            self._reload_if_changed()
            if self._trust is None:
                self._trust = trust_store(self.config)
            return self._trust

    def _reload_if_changed(self) -> None:
        stamp = _stamp(self.config.config_file)
        if stamp == self._config_stamp:
            return
        log.info("configuration %s changed: reloading keys and trust roots", self.config.config_file)
        self.config = load_config(home=self.config.home)
        self._config_stamp = stamp
        self._keys.clear()
        self._trust = None

    # -- the pipeline ---------------------------------------------------------------------

    def seal(self, cert: Certificate, level: str | None) -> bytes:
        """Render and seal: a candidate original (not stored, not registered)."""
        from service.issuing import issue

        key = self.seal_key(cert.environment)
        return issue(cert, key, self.config.environment(cert.environment), level=level).pdf

    def verify(self, data: bytes) -> Report:
        """Verify under the sandbox's size, time and memory limits (a forked child), as the
        command line and the HTTP API do: a hostile upload costs a verdict, never the worker."""
        from service.sandbox import verify_untrusted

        return verify_untrusted(data, self.trust(), limits=self.verify_limits)

    def check_sealed(self, data: bytes) -> Report:
        """Verify a candidate original this process has just rendered and sealed, in process:
        these bytes are our own output, not untrusted input, and the sandbox's fork, limits and
        pipe cost about 90 ms a certificate (measured on a 4-page CHED-PP), a tenth of issuing."""
        from signer.verify import verify_pdf

        return verify_pdf(data, self.trust())

    def remembered_verdict(self, sha256: str) -> str | None:
        with self._lock:
            hit = self._verdicts.get(sha256)
            if hit is None or time.monotonic() - hit[0] > VERDICT_TTL_SECONDS:
                return None
            return hit[1]

    def remember_verdict(self, sha256: str, verdict: str) -> None:
        with self._lock:
            self._verdicts[sha256] = (time.monotonic(), verdict)
            self._verdicts.move_to_end(sha256)
            while len(self._verdicts) > _VERDICT_CACHE_SIZE:
                self._verdicts.popitem(last=False)

    @property
    def previews(self) -> Store:
        """Unsealed previews: a store of their own beside the originals (previews/ under the
        store's directory), never registered, so no preview is ever taken for an original."""
        if self._previews is None:
            if not isinstance(self.store, LocalStore):
                raise StoreError(f"previews need a local store directory, not {self.store!r}")
            self._previews = LocalStore(self.store.root / "previews")
        return self._previews

    def close(self) -> None:
        for key in self._keys.values():
            key.close()
        self._keys.clear()
        self.registry.close()


def open_services(config: Config | None = None, *, stale_claim_seconds: float | None = None,
                  environ: Mapping[str, str] = os.environ) -> Services:
    """Store and registry from the configuration (CERTSEAL_STORE, CERTSEAL_REGISTRY), and the
    verification sandbox's limits ([verify], CERTSEAL_VERIFY_*); raises StoreError /
    RegistryError naming what is unreachable, ConfigError naming a bad limit."""
    from service.verify_limits import load_verify_limits

    config = config or load_config(environ)
    verify_limits = load_verify_limits(config, environ)
    store = open_store(config.store_url)
    registry = open_registry(config.registry_url)
    return Services(config, store, registry,
                    stale_claim_seconds=stale_claim_seconds or DEFAULT_STALE_CLAIM_SECONDS,
                    verify_limits=verify_limits)


def ensure_training_pki(config: Config) -> Config:
    """The configuration with a usable training seal key, making the training PKI when there is
    none or it is no longer usable (expired, unreadable).

    Several worker processes may start together: a lock file makes one of them create it and
    the others load what it made. Made without CA services (plain PAdES B-B): loopback
    responders cannot be shared by the processes of a worker pool, nor reached from another
    machine. A PKI already there (e.g. from `certseal demo`) is kept as it is.
    """
    from service.issuing import seal_key_for
    from service.pki import init_pki

    if _usable_training_key(config, seal_key_for):
        return config
    lock_path = config.home / "pki" / ".training.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = load_config(home=config.home)
        if _usable_training_key(config, seal_key_for):
            return config
        log.warning("no usable training seal key: creating a training PKI in %s", config.home / "pki" / "training")
        init_pki(config, Environment.TRAINING, force=True, services=False)
        return load_config(home=config.home)


def _usable_training_key(config: Config, seal_key_for) -> bool:
    try:
        seal_key_for(config, Environment.TRAINING).close()
    except (ConfigError, SealingError):
        return False
    return True


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)
