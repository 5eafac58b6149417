"""Trust roots per environment.

Each environment has its own root CA, so "which configured root does the seal chain to" is
the strongest of the three environment signals. A root configured for two environments would
make that signal meaningless, so `TrustStore` refuses it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from renderers.environment import Environment

PEM_SUFFIXES = (".pem", ".crt", ".cer")


class TrustConfigError(ValueError):
    """Trust roots cannot be loaded or are configured inconsistently."""


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def load_trust_roots(paths: Iterable[Path | str]) -> list[x509.Certificate]:
    """Every certificate in the given PEM files, or in the PEM files (*.pem, *.crt, *.cer) of
    the given directories (not recursive). Duplicates are dropped; order is kept."""
    certs: list[x509.Certificate] = []
    seen: set[bytes] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in PEM_SUFFIXES and p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise TrustConfigError(f"trust root path {path} does not exist")
        for file in files:
            try:
                loaded = x509.load_pem_x509_certificates(file.read_bytes())
            except (OSError, ValueError) as e:
                raise TrustConfigError(f"cannot read trust roots from {file}: {e}") from None
            for cert in loaded:
                fp = _fingerprint(cert)
                if fp not in seen:
                    seen.add(fp)
                    certs.append(cert)
    return certs


@dataclass(frozen=True)
class TrustStore:
    roots: Mapping[Environment, tuple[x509.Certificate, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        frozen = {Environment(env): tuple(certs) for env, certs in dict(self.roots).items()}
        owner: dict[bytes, Environment] = {}
        for env, certs in frozen.items():
            for cert in certs:
                fp = _fingerprint(cert)
                if owner.setdefault(fp, env) is not env:
                    raise TrustConfigError(
                        f"root {cert.subject.rfc4514_string()} is configured for both "
                        f"{owner[fp].value} and {env.value}"
                    )
        object.__setattr__(self, "roots", MappingProxyType(frozen))
        object.__setattr__(self, "_owner", owner)

    @classmethod
    def from_paths(cls, paths: Mapping[Environment, Iterable[Path | str]]) -> "TrustStore":
        return cls({env: load_trust_roots(p) for env, p in paths.items()})

    def all_roots(self) -> list[x509.Certificate]:
        return [cert for certs in self.roots.values() for cert in certs]

    def environment_of_root(self, cert: x509.Certificate) -> Environment | None:
        return self._owner.get(_fingerprint(cert))  # type: ignore[attr-defined]

    def __bool__(self) -> bool:
        return any(self.roots.values())
