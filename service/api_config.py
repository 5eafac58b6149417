"""Configuration of the HTTP API: who may call what, and how much a caller may upload.

Keys live in the `[api]` table of config.toml; `CERTSEAL_API_*` variables win over it:

    [api]
    tokens_file = "api-tokens.toml"     # CERTSEAL_API_TOKENS_FILE; relative to CERTSEAL_HOME
    verify_requires_token = false       # CERTSEAL_API_VERIFY_REQUIRES_TOKEN (1/true/yes)
    max_upload_bytes = 20971520         # CERTSEAL_API_MAX_UPLOAD_BYTES
    verify_timeout_seconds = 120        # CERTSEAL_API_VERIFY_TIMEOUT_SECONDS

The tokens file holds one `[[tokens]]` table per caller. Each token is bound to exactly one
environment and one role, so a training token can never obtain a production seal:

    [[tokens]]
    name = "traces-training"            # what logs and metrics show; the token never appears
    role = "issuer"                     # issuer: /issue and /render; previewer: /render only
    environment = "training"
    sha256 = "9f86d0…"                  # hex SHA-256 of the token (preferred), or: token = "…"

Any configured token, whatever its role, also opens `/verify` and `/certificates/…` when
`verify_requires_token` is set.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from renderers.environment import Environment
from service.config import Config, ConfigError

DEFAULT_MAX_UPLOAD_BYTES = 20 << 20
DEFAULT_VERIFY_TIMEOUT_S = 120.0


class Role(StrEnum):
    ISSUER = "issuer"  # render and issue (seal) in its environment
    PREVIEWER = "previewer"  # render unsealed previews in its environment
    VERIFIER = "verifier"  # only the open endpoints, when those are token-protected


@dataclass(frozen=True)
class ApiToken:
    name: str
    role: Role
    environment: Environment
    # Only the digest is kept in memory: comparing digests of equal length in constant time
    # leaks neither the token nor its length.
    digest: bytes = field(repr=False)

    def may(self, role: Role) -> bool:
        if role is Role.PREVIEWER:
            return self.role in (Role.ISSUER, Role.PREVIEWER)
        return self.role is role


@dataclass(frozen=True)
class ApiConfig:
    tokens: tuple[ApiToken, ...] = ()
    verify_requires_token: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    verify_timeout_seconds: float = DEFAULT_VERIFY_TIMEOUT_S

    def find_token(self, presented: str) -> ApiToken | None:
        """The configured token equal to `presented`, compared in constant time.

        Every configured token is compared (no early exit), so timing does not tell which
        token, or how many, matched."""
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: ApiToken | None = None
        for token in self.tokens:
            if hmac.compare_digest(digest, token.digest) and found is None:
                found = token
        return found


def load_api_config(config: Config, environ: Mapping[str, str] = os.environ) -> ApiConfig:
    table = dict(config.api)
    where = f"{config.config_file} [api]"
    tokens_file = environ.get("CERTSEAL_API_TOKENS_FILE") or table.get("tokens_file")
    if tokens_file is not None and not isinstance(tokens_file, str):
        raise ConfigError(f"{where}: tokens_file must be a path")
    tokens: tuple[ApiToken, ...] = ()
    if tokens_file:
        path = Path(tokens_file).expanduser()
        tokens = read_tokens_file(path if path.is_absolute() else config.home / path)

    requires = environ.get("CERTSEAL_API_VERIFY_REQUIRES_TOKEN")
    verify_requires_token = (
        requires.strip().lower() in ("1", "true", "yes", "on") if requires is not None
        else table.get("verify_requires_token", False)
    )
    if not isinstance(verify_requires_token, bool):
        raise ConfigError(f"{where}: verify_requires_token must be true or false")
    max_upload = _number(environ.get("CERTSEAL_API_MAX_UPLOAD_BYTES", table.get("max_upload_bytes")),
                         DEFAULT_MAX_UPLOAD_BYTES, "max_upload_bytes", where, integer=True)
    timeout = _number(environ.get("CERTSEAL_API_VERIFY_TIMEOUT_SECONDS", table.get("verify_timeout_seconds")),
                      DEFAULT_VERIFY_TIMEOUT_S, "verify_timeout_seconds", where, integer=False)
    if verify_requires_token and not tokens:
        raise ConfigError(f"{where}: verify_requires_token is set but no API tokens are configured")
    return ApiConfig(tokens=tokens, verify_requires_token=verify_requires_token,
                     max_upload_bytes=int(max_upload), verify_timeout_seconds=float(timeout))


def read_tokens_file(path: Path) -> tuple[ApiToken, ...]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"API tokens file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"API tokens file {path}: not valid TOML: {exc}") from None
    entries = data.get("tokens", [])
    if not isinstance(entries, list):
        raise ConfigError(f"API tokens file {path}: expected [[tokens]] tables")
    tokens: list[ApiToken] = []
    for n, entry in enumerate(entries, start=1):
        # Messages name the entry by position and name, never by its secret.
        where = f"API tokens file {path}, token #{n}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        name = entry.get("name") or f"token-{n}"
        try:
            role = Role(str(entry.get("role", "")).strip().lower())
        except ValueError:
            raise ConfigError(f"{where} ({name}): role must be one of {', '.join(r.value for r in Role)}") from None
        try:
            env = Environment(str(entry.get("environment", "")).strip().lower())
        except ValueError:
            raise ConfigError(f"{where} ({name}): environment must be one of "
                              f"{', '.join(e.value for e in Environment)}") from None
        digest = _digest(entry, f"{where} ({name})")
        tokens.append(ApiToken(name=str(name), role=role, environment=env, digest=digest))
    return tuple(tokens)


def _digest(entry: dict, where: str) -> bytes:
    if isinstance(entry.get("sha256"), str):
        try:
            digest = bytes.fromhex(entry["sha256"].strip())
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ConfigError(f"{where}: sha256 must be 64 hex digits")
        return digest
    if isinstance(entry.get("token"), str) and len(entry["token"]) >= 16:
        return hashlib.sha256(entry["token"].encode()).digest()
    raise ConfigError(f"{where}: give sha256 (hex SHA-256 of the token) or token (at least 16 characters)")


def _number(value: object, default: float, key: str, where: str, *, integer: bool) -> float:
    if value is None or value == "":
        return default
    try:
        number = int(value) if integer else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a positive number") from None
    if number <= 0:
        raise ConfigError(f"{where}: {key} must be a positive number")
    return number
