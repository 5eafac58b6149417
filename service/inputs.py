"""Reading certificate input files at the edge: bytes on disk → a validated `Certificate`."""
from __future__ import annotations

import json
from pathlib import Path

from renderers.errors import InputError
from renderers.model import Certificate, parse_certificate
from renderers.sps import looks_like_xml, parse_sps


def read_certificate_file(
    path: Path,
    *,
    language: str | None = None,
    destination_language: str | None = None,
    environment: str | None = None,
) -> Certificate:
    """Parse INPUT; command-line overrides are applied before validation so they are checked too."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read input file: {exc.strerror}") from None
    suffix = path.suffix.lower()
    if suffix == ".xml" or looks_like_xml(raw):
        # UN/CEFACT SPS XML (bare SPSCertificate or a TRACES NT response): the XML carries no
        # environment (default training) nor document languages (default from the issuing and
        # destination countries); see renderers.sps.
        return parse_sps(raw, language=language, destination_language=destination_language,
                         environment=environment)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(str(path), "the certificate must be a JSON object")
    overrides = {"language": language, "destination_language": destination_language, "environment": environment}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return parse_certificate(data)
