"""What an issue / preview request carries, checked at the edge before anything is rendered.

The certificate is a decoded JSON object (what a Celery task receives), or bytes holding JSON
or UN/CEFACT SPS XML (what the HTTP API receives). Options travel in task messages, which
brokers keep and logs print, so they may name a PAdES level but never a key, a PIN or a
passphrase: those come from the worker's own configuration only.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass

from renderers.environment import Environment
from renderers.errors import InputError
from renderers.model import Certificate, parse_certificate

ISSUE_OPTIONS = ("level",)
PREVIEW_OPTIONS = ("language", "destination_language")
# Option names that smell of a secret are refused with their own message, so a caller who
# tries to send a key learns why instead of reading "unknown option".
_SECRET_HINTS = ("key", "pin", "pass", "secret", "token", "pkcs", "p12", "credential")


@dataclass(frozen=True)
class IssueOptions:
    level: str | None = None  # None: the environment's configured level


@dataclass(frozen=True)
class PreviewOptions:
    language: str | None = None
    destination_language: str | None = None


def parse_issue_options(options: object) -> IssueOptions:
    found = _options(options, ISSUE_OPTIONS)
    level = found.get("level")
    if level is not None:
        from signer.errors import SealingError
        from signer.levels import Level

        try:
            level = Level.parse(str(level)).value
        except SealingError as exc:
            raise InputError("options.level", str(exc)) from None
    return IssueOptions(level=level)


def parse_preview_options(options: object) -> PreviewOptions:
    found = _options(options, PREVIEW_OPTIONS)
    return PreviewOptions(**{k: str(v) for k, v in found.items() if v is not None})


def _options(options: object, allowed: tuple[str, ...]) -> dict[str, object]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InputError("options", "expected an object")
    for name, value in options.items():
        lowered = str(name).lower()
        if name not in allowed and any(hint in lowered for hint in _SECRET_HINTS):
            raise InputError(f"options.{name}", "keys, PINs and passphrases never travel in a request; "
                             "the worker takes them from its own configuration")
        if name not in allowed:
            raise InputError(f"options.{name}", f"unknown option (allowed: {', '.join(allowed)})")
        if value is not None and not isinstance(value, str):
            raise InputError(f"options.{name}", f"expected a string, got {value!r}")
    return dict(options)


def read_certificate(
    payload: object,
    *,
    environment: Environment | None = None,
    language: str | None = None,
    destination_language: str | None = None,
) -> Certificate:
    """A validated Certificate from a JSON object, or from JSON / SPS XML bytes (or text).

    The keyword overrides replace the input's own values before validation (previews force
    the training environment and may switch languages)."""
    from renderers.sps import looks_like_xml, parse_sps

    overrides = {"environment": environment.value if environment else None, "language": language,
                 "destination_language": destination_language}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        raw = bytes(payload)
        if looks_like_xml(raw):
            return parse_sps(raw, **overrides)
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError("$", f"neither SPS XML nor valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InputError("$", "the certificate must be a JSON object (or SPS XML)")
    data = copy.deepcopy(payload) if overrides else payload
    data.update(overrides)
    return parse_certificate(data)
