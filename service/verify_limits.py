"""The verification sandbox's limits (service.sandbox.Limits), as an operator sets them.

From the [verify] table of config.toml, overridden by CERTSEAL_VERIFY_* variables; what
neither sets keeps its default (service.sandbox.DEFAULT_LIMITS):

    [verify]
    cpu_seconds = 20       # processor time of one verification, whole seconds (RLIMIT_CPU)
    wall_seconds = 30      # elapsed time of one verification
    memory_mib = 768       # memory one verification may allocate, on top of what it starts with
    max_file_mib = 64      # larger files are INVALID without being parsed
    max_paths = 500000     # paths the change analysis may map per signed revision

Read once, where the process starts verifying (worker, HTTP API, `certseal verify`).
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import replace

from service.config import Config, ConfigError
from service.sandbox import DEFAULT_LIMITS, Limits

# config key → (variable, Limits field, unit in that field, whole numbers only)
_KEYS: dict[str, tuple[str, str, int, bool]] = {
    "cpu_seconds": ("CERTSEAL_VERIFY_CPU_SECONDS", "cpu_seconds", 1, True),
    "wall_seconds": ("CERTSEAL_VERIFY_WALL_SECONDS", "wall_seconds", 1, False),
    "memory_mib": ("CERTSEAL_VERIFY_MEMORY_MIB", "extra_memory_bytes", 1 << 20, True),
    "max_file_mib": ("CERTSEAL_VERIFY_MAX_FILE_MIB", "max_file_bytes", 1 << 20, True),
    "max_paths": ("CERTSEAL_VERIFY_MAX_PATHS", "max_paths", 1, True),
}


def load_verify_limits(config: Config, environ: Mapping[str, str] = os.environ) -> Limits:
    """The sandbox limits of `config`'s [verify] table and the CERTSEAL_VERIFY_* variables in
    `environ` (which win). Raises ConfigError naming the variable, or the file, table and key,
    of a value that is not a positive number (not a whole one where a whole one is needed)."""
    limits = DEFAULT_LIMITS
    for key, (variable, field, unit, whole) in _KEYS.items():
        raw, where = environ.get(variable), variable
        if raw is None or raw == "":
            raw, where = config.verify.get(key), f"{config.config_file} [verify] {key}"
        if raw is None:
            continue
        value = _positive(raw, where, whole)
        limits = replace(limits, **{field: int(value) * unit if whole else float(value)})
    return limits


def _positive(raw: object, where: str, whole: bool) -> float:
    expected = "a whole number" if whole else "a number"
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ConfigError(f"{where}: expected {expected}, got {raw!r}")
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{where}: expected {expected}, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{where}: expected {expected}, got {raw!r}")
    if value <= 0:
        raise ConfigError(f"{where}: must be positive, got {raw!r}")
    if whole and not value.is_integer():
        raise ConfigError(f"{where}: expected {expected}, got {raw!r}")
    return value
