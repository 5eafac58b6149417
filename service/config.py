"""Configuration: one home, a config directory plus `CERTSEAL_*` environment variables.

The directory (`CERTSEAL_HOME`, default `$XDG_CONFIG_HOME/certseal`, else `~/.config/certseal`)
holds `config.toml` and, when `certseal pki init` / `certseal demo` made them, the PKIs under
`pki/<environment>/`. Environment variables win over the file, so a deployment can run with no
file at all. Relative paths in the file are relative to the config directory.

    [environments.training]
    trust_roots = ["pki/training/root.pem"]        # PEM files or directories of PEM files
    key = "pkcs12:pki/training/seal.p12"
    key_passphrase_file = "pki/training/seal.passphrase"
    verification_url = "https://training.certseal.example/certificates/"

Per environment E (PRODUCTION, TRAINING, ACCEPTANCE) the variables are
`CERTSEAL_E_TRUST` (paths separated by `:`), `CERTSEAL_E_KEY`, `CERTSEAL_E_KEY_PASSPHRASE_FILE`,
`CERTSEAL_E_KEY_PASSPHRASE` (the secret itself; prefer the file) and `CERTSEAL_E_VERIFICATION_URL`.

Sealing levels (issue #4): `tsa_url` (RFC 3161 TSA; with one, originals default to PAdES B-LTA,
without one to B-B), `level` (override the default), and for a PKI made by `certseal pki init`
`local_ca` (its directory) + `responder_port`: its OCSP / CRL / TSA then run on 127.0.0.1 for as
long as a seal or an extension needs them. Variables: `CERTSEAL_E_TSA_URL`, `CERTSEAL_E_LEVEL`.
For a PKCS#11 key (`key = "pkcs11:token=…;object=…?module-path=…"`) the PIN comes from
`key_passphrase_file` / `CERTSEAL_E_KEY_PASSPHRASE(_FILE)`, never from the URI.

The audit log: `[audit] log = "audit.log"` (default `CERTSEAL_HOME/audit.log`), or
`CERTSEAL_AUDIT_LOG`.

The verification sandbox's limits: the [verify] table (`cpu_seconds`, `wall_seconds`,
`memory_mib`, `max_file_mib`) or `CERTSEAL_VERIFY_*`, parsed by service.verify_limits.
"""
from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from renderers.environment import DEFAULT_VERIFICATION_BASE, Environment

CONFIG_FILE = "config.toml"
DEFAULT_BROKER_URL = "redis://localhost:6379/0"


class ConfigError(Exception):
    """The configuration is unusable; the message names the file or variable."""


@dataclass(frozen=True)
class EnvironmentConfig:
    environment: Environment
    trust_roots: tuple[Path, ...] = ()
    key: str | None = None
    key_passphrase_file: Path | None = None
    # The secret itself, only ever taken from the process environment, never from the file.
    key_passphrase: bytes | None = field(default=None, repr=False)
    verification_url: str = ""
    tsa_url: str | None = None
    level: str | None = None  # None: B-LTA with a TSA, else B-B (signer.levels.default_level)
    local_ca: Path | None = None  # a `pki init` directory whose CA services run while sealing
    responder_port: int | None = None
    audit_log: Path | None = None  # filled from the [audit] table: every environment shares it

    def passphrase(self) -> bytes | None:
        if self.key_passphrase is not None:
            return self.key_passphrase
        if self.key_passphrase_file is None:
            return None
        try:
            return self.key_passphrase_file.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read key passphrase file {self.key_passphrase_file}: {exc.strerror}") from None


@dataclass(frozen=True)
class Config:
    home: Path
    environments: Mapping[Environment, EnvironmentConfig]
    # The raw [api] table of config.toml; the HTTP API parses its own keys (service.api_config).
    api: Mapping[str, object] = field(default_factory=dict)
    # Issuing services (service.originals, service.worker), from the [worker] table or
    # CERTSEAL_BROKER_URL / CERTSEAL_STORE / CERTSEAL_REGISTRY; None = the default under `home`.
    broker_url: str = DEFAULT_BROKER_URL
    store: str | None = None
    registry: str | None = None
    # The raw [worker] table; the worker parses its tuning keys itself (service.worker_settings).
    worker: Mapping[str, object] = field(default_factory=dict)
    # The raw [verify] table: the sandbox's limits, parsed by service.verify_limits.
    verify: Mapping[str, object] = field(default_factory=dict)

    @property
    def store_url(self) -> str:
        """Where originals are stored (a directory; default <home>/store)."""
        return self.store or str(self.home / "store")

    @property
    def registry_url(self) -> str:
        """The registry of originals (default: the SQLite file <home>/registry.db)."""
        return self.registry or f"sqlite://{self.home / 'registry.db'}"

    def environment(self, env: Environment) -> EnvironmentConfig:
        return self.environments[env]

    @property
    def config_file(self) -> Path:
        return self.home / CONFIG_FILE


def default_home(environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get("CERTSEAL_HOME"):
        return Path(environ["CERTSEAL_HOME"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "certseal"


def load_config(environ: Mapping[str, str] = os.environ, home: Path | None = None) -> Config:
    home = (home or default_home(environ)).resolve()
    file_data = _read_file(home / CONFIG_FILE)
    envs_table = file_data.get("environments", {})
    if not isinstance(envs_table, dict):
        raise ConfigError(f"{home / CONFIG_FILE}: [environments] must be a table")
    environments = {env: _environment_config(env, envs_table.get(env.value, {}), home, environ) for env in Environment}
    api_table = file_data.get("api", {})
    if not isinstance(api_table, dict):
        raise ConfigError(f"{home / CONFIG_FILE}: [api] must be a table")
    verify_table = file_data.get("verify", {})
    if not isinstance(verify_table, dict):
        raise ConfigError(f"{home / CONFIG_FILE}: [verify] must be a table")
    return Config(home=home, environments=environments, api=api_table, verify=verify_table,
                  **_issuing(file_data, home, environ))


def _issuing(file_data: dict, home: Path, environ: Mapping[str, str]) -> dict[str, object]:
    """broker_url / store / registry of the [worker] table, overridden by CERTSEAL_* variables.
    Relative paths are relative to the config directory in the file, to the working directory
    in a variable (as for keys)."""
    table = file_data.get("worker", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{home / CONFIG_FILE}: [worker] must be a table")
    found: dict[str, object] = {"worker": table}
    for key, variable in (("broker_url", "CERTSEAL_BROKER_URL"), ("store", "CERTSEAL_STORE"),
                          ("registry", "CERTSEAL_REGISTRY")):
        from_env = environ.get(variable)
        value, base = (from_env, Path.cwd()) if from_env else (table.get(key), home)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{home / CONFIG_FILE} [worker] {key}: expected a non-empty string")
        if key != "broker_url" and "://" not in value:
            value = str(_resolve(value, base))  # a plain path: SQLite file / store directory
        found[key] = value
    return found


def register_environment(
    config: Config,
    env: Environment,
    *,
    trust_root: Path,
    pkcs12_file: Path,
    key_passphrase_file: Path,
    replace_trust: bool = False,
    local_ca: Path | None = None,
    responder_port: int | None = None,
    tsa_url: str | None = None,
) -> Config:
    """Record a PKI in config.toml (atomically) and return the updated configuration.

    Earlier roots stay trusted unless `replace_trust`: documents sealed under a previous
    demo PKI remain verifiable.
    """
    data = _read_file(config.config_file)
    envs = data.setdefault("environments", {})
    table = envs.setdefault(env.value, {})
    roots = [] if replace_trust else [str(p) for p in table.get("trust_roots", [])]
    root_text = _relative(trust_root, config.home)
    if root_text not in roots:
        roots.append(root_text)
    table["trust_roots"] = roots
    table["key"] = "pkcs12:" + _relative(pkcs12_file, config.home)
    table["key_passphrase_file"] = _relative(key_passphrase_file, config.home)
    # A PKI with its own CA services replaces the previous one's; one without drops them.
    for key in ("local_ca", "responder_port", "tsa_url"):
        table.pop(key, None)
    if local_ca is not None and responder_port is not None:
        table["local_ca"] = _relative(local_ca, config.home)
        table["responder_port"] = responder_port
        table["tsa_url"] = tsa_url
    _write_file(config.config_file, data)
    return load_config(home=config.home)


def _environment_config(env: Environment, table: object, home: Path, environ: Mapping[str, str]) -> EnvironmentConfig:
    where = f"{home / CONFIG_FILE} [environments.{env.value}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    prefix = f"CERTSEAL_{env.name}_"
    cfg = EnvironmentConfig(environment=env, verification_url=DEFAULT_VERIFICATION_BASE[env])

    roots = table.get("trust_roots", [])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError(f"{where}: trust_roots must be a list of paths")
    cfg = replace(cfg, trust_roots=tuple(_resolve(r, home) for r in roots))
    if isinstance(table.get("key"), str):
        cfg = replace(cfg, key=_resolve_key(table["key"], home))
    if isinstance(table.get("key_passphrase_file"), str):
        cfg = replace(cfg, key_passphrase_file=_resolve(table["key_passphrase_file"], home))
    if isinstance(table.get("verification_url"), str):
        cfg = replace(cfg, verification_url=table["verification_url"])

    if environ.get(prefix + "TRUST"):
        cfg = replace(cfg, trust_roots=tuple(Path(p).expanduser() for p in environ[prefix + "TRUST"].split(os.pathsep) if p))
    if environ.get(prefix + "KEY"):
        cfg = replace(cfg, key=_resolve_key(environ[prefix + "KEY"], Path.cwd()))
    if environ.get(prefix + "KEY_PASSPHRASE_FILE"):
        cfg = replace(cfg, key_passphrase_file=Path(environ[prefix + "KEY_PASSPHRASE_FILE"]).expanduser())
    if prefix + "KEY_PASSPHRASE" in environ:
        cfg = replace(cfg, key_passphrase=environ[prefix + "KEY_PASSPHRASE"].encode())
    if environ.get(prefix + "VERIFICATION_URL"):
        cfg = replace(cfg, verification_url=environ[prefix + "VERIFICATION_URL"])
    return _sealing_config(cfg, table, where, home, environ)


def _sealing_config(cfg: EnvironmentConfig, table: dict, where: str, home: Path, environ: Mapping[str, str]) -> EnvironmentConfig:
    """TSA, level, local CA services and audit log (issue #4)."""
    prefix = f"CERTSEAL_{cfg.environment.name}_"
    for key in ("tsa_url", "level", "local_ca"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    if "responder_port" in table and (not isinstance(table["responder_port"], int) or not 0 < table["responder_port"] < 65536):
        raise ConfigError(f"{where}: responder_port must be a port number")
    cfg = replace(
        cfg,
        tsa_url=environ.get(prefix + "TSA_URL") or table.get("tsa_url") or None,
        level=environ.get(prefix + "LEVEL") or table.get("level") or None,
        local_ca=_resolve(table["local_ca"], home) if table.get("local_ca") else None,
        responder_port=table.get("responder_port"),
    )
    audit = _read_file(home / CONFIG_FILE).get("audit", {})
    log = environ.get("CERTSEAL_AUDIT_LOG") or (audit.get("log") if isinstance(audit, dict) else None) or "audit.log"
    return replace(cfg, audit_log=_resolve(str(log), home))


def _resolve_key(uri: str, base: Path) -> str:
    scheme, sep, rest = uri.partition(":")
    if sep and scheme == "pkcs12":
        return "pkcs12:" + str(_resolve(rest, base))
    return uri


def _resolve(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def _relative(path: Path, home: Path) -> str:
    path = path.resolve()
    try:
        return str(path.relative_to(home))
    except ValueError:
        return str(path)


def _read_file(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None


def _write_file(path: Path, data: dict) -> None:
    from service.files import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, _to_toml(data).encode())


def _to_toml(data: dict) -> str:
    """Serialise the config's shape (tables of strings and string lists); JSON strings are TOML basic strings."""
    lines: list[str] = []

    def emit(table: dict, name: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if scalars and name:
            lines.append(f"[{name}]")
        for key, value in scalars.items():
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        if scalars:
            lines.append("")
        for key, value in table.items():
            if isinstance(value, dict):
                emit(value, f"{name}.{key}" if name else key)

    emit(data, "")
    return "\n".join(lines)
