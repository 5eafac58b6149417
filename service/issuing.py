"""The issuing path shared by the CLI, the demo and the worker: certificate → sealed original.

Keys, trust, TSA and the audit log come from configuration here, at the edge; the stages
themselves stay pure. Every seal (and every refusal to seal) appends one line to the
hash-chained audit log; an extension too.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from renderers.environment import Environment
from renderers.model import Certificate
from renderers.pdf import RenderedPdf
from renderers.render import render_certificate
from service.config import Config, ConfigError, EnvironmentConfig
from signer.appearance import FieldPlace, appearance_for, approval_place_for
from signer.audit import AuditEntry, append_entry, sha256_hex
from signer.errors import SealingError
from signer.keys import KeySpec, SealKey, load_seal_key
from signer.levels import Level, default_level
from signer.pades import SealRequest, SealResult, SealServices, seal_document
from signer.trust import load_trust_roots


@dataclass(frozen=True)
class IssuedOriginal:
    certificate: Certificate
    pdf: bytes
    page_count: int
    level: str


def seal_key_for(config: Config, env: Environment, key_uri: str | None = None) -> SealKey:
    """The seal key configured for `env` (or the one named on the command line)."""
    env_cfg = config.environment(env)
    uri = key_uri or env_cfg.key
    if not uri:
        raise ConfigError(
            f"no seal key configured for the {env.value} environment: run `certseal pki init --env {env.value}` "
            f"or set CERTSEAL_{env.name}_KEY"
        )
    return load_seal_key(KeySpec.parse(uri), env_cfg.passphrase())


def level_for(env_cfg: EnvironmentConfig, requested: str | Level | None = None) -> Level:
    """The requested level, else the configured one, else B-LTA with a TSA and B-B without."""
    if requested:
        return Level.parse(requested)
    if env_cfg.level:
        return Level.parse(env_cfg.level)
    return default_level(bool(env_cfg.tsa_url))


@contextmanager
def sealing_services(env_cfg: EnvironmentConfig, level: Level) -> Iterator[SealServices | None]:
    """The TSA and trust roots a level needs; for a `pki init` PKI with CA services, its
    responders run on loopback for the duration (and only when the level needs them)."""
    if not level.needs_tsa:
        yield None
        return
    try:
        roots = tuple(load_trust_roots(env_cfg.trust_roots))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"trust roots of the {env_cfg.environment.value} environment: {exc}") from None
    services = SealServices(tsa_url=env_cfg.tsa_url, trust_roots=roots)
    with local_ca_services(env_cfg):
        yield services


# Responders already serving, by port, with how many users: `certseal demo` keeps them up for
# its whole run while each issue() inside it also asks for them; threads of one worker share.
_serving: dict[int, list] = {}
_serving_lock = threading.Lock()


@contextmanager
def local_ca_services(env_cfg: EnvironmentConfig) -> Iterator[None]:
    """Serve the environment's local CA (OCSP, CRL, TSA) on loopback while the block runs,
    if it has one (`pki init` with services); re-entrant and shared between threads."""
    port = env_cfg.responder_port
    if env_cfg.local_ca is None or port is None:
        yield
        return
    from signer.pki import load_local_authority
    from signer.responders import LocalResponders

    with _serving_lock:
        entry = _serving.get(port)
        if entry is None:
            authority = load_local_authority(env_cfg.local_ca)
            entry = _serving[port] = [LocalResponders(authority.ca, authority.tsa, port=port).start(), 0]
        entry[1] += 1
    try:
        yield
    finally:
        with _serving_lock:
            entry[1] -= 1
            if entry[1] == 0:
                del _serving[port]
                entry[0].stop()


def record_audit(env_cfg: EnvironmentConfig, entry: AuditEntry) -> None:
    if env_cfg.audit_log is not None:
        append_entry(env_cfg.audit_log, entry)


def key_label(key: SealKey) -> str:
    return key.label


def audit_fields(operation: str, env_cfg: EnvironmentConfig, key: SealKey, unsigned: bytes, level: Level,
                 *, reference: str | None, version: int | None) -> dict:
    """What every audit line of a signing operation says before its outcome is known."""
    cert = key.certificate
    return dict(
        operation=operation, reference=reference, version=version, environment=env_cfg.environment.value,
        key_label=key.label, signer_serial=format(cert.serial_number, "x"),
        signer_issuer=cert.issuer.rfc4514_string(), unsigned_sha256=sha256_hex(unsigned), level=level.value,
    )


def seal_and_record(
    unsigned: bytes,
    key: SealKey,
    env_cfg: EnvironmentConfig,
    *,
    reference: str,
    version: int | None = None,
    level: str | Level | None = None,
    appearance=None,
    further_signature_field: str | None = None,
    further_signature_place: FieldPlace | None = None,
) -> SealResult:
    """Seal with the configured services and append the outcome to the audit log."""
    chosen = level_for(env_cfg, level)
    request = SealRequest(env_cfg.environment, reference, chosen,
                          further_signature_field=further_signature_field, appearance=appearance,
                          further_signature_place=further_signature_place)
    base = audit_fields("seal", env_cfg, key, unsigned, chosen, reference=reference, version=version)
    try:
        with sealing_services(env_cfg, chosen) as services:
            result = seal_document(unsigned, key, request, services)
    except (SealingError, ConfigError, OSError) as exc:
        record_audit(env_cfg, AuditEntry(**base, signed_sha256=None, tsa_time=None, outcome=f"refused: {exc}"))
        raise
    record_audit(env_cfg, AuditEntry(
        **base, signed_sha256=sha256_hex(result.pdf),
        tsa_time=result.timestamp.isoformat() if result.timestamp else None, outcome="sealed",
    ))
    return result


def issue(
    cert: Certificate,
    key: SealKey,
    env_cfg: EnvironmentConfig,
    *,
    level: str | Level | None = None,
) -> IssuedOriginal:
    """Render and seal `cert`: the one legal original. Level: as requested, else configured.

    A model with a later approval signature (model.toml `[signatures] approval_field`, e.g. the
    CHED Part III follow-up) gets its empty field reserved by the seal, where the template shows it."""
    rendered = render_certificate(cert, verification_base=env_cfg.verification_url)
    result = seal_rendered(rendered, key, env_cfg, level=level)
    return IssuedOriginal(certificate=cert, pdf=result.pdf, page_count=rendered.page_count, level=result.level.value)


def seal_rendered(
    rendered: RenderedPdf, key: SealKey, env_cfg: EnvironmentConfig, *, level: str | Level | None = None,
) -> SealResult:
    """Seal a rendered certificate as an original (see original_seal_request). Audited like
    every seal."""
    request = original_seal_request(rendered, level_for(env_cfg, level))
    return seal_and_record(
        rendered.data, key, env_cfg, reference=request.reference, version=rendered.certificate.version,
        level=request.level, appearance=request.appearance,
        further_signature_field=request.further_signature_field,
        further_signature_place=request.further_signature_place,
    )


class NotARendering(ValueError):
    """The PDF does not carry what sealing it as an original needs; the message says what."""


def rendered_from_pdf(data: bytes) -> RenderedPdf:
    """A certseal rendering read back from its unsigned PDF (what `certseal sign` seals): the
    certificate from the embedded certificate.json and the seal's place from Info
    /CertsealSealBox, both written by the renderer. Raises NotARendering."""
    import json
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    from renderers.model import parse_certificate
    from renderers.pdf import ATTACHMENT_NAME, SealBox
    from renderers.metadata import INFO_SEAL_BOX
    from signer.metadata import read_embedded_file

    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        embedded = read_embedded_file(reader)
        info = reader.trailer_view.get("/Info")
        box_text = None if info is None else info.get_object().get("/" + INFO_SEAL_BOX)
        pages = int(reader.root["/Pages"]["/Count"])
    except Exception as exc:  # noqa: BLE001 - pyHanko's read errors on a file that is no rendering
        raise NotARendering(f"cannot read it: {exc}") from None
    if embedded is None:
        raise NotARendering(f"it embeds no {ATTACHMENT_NAME}")
    if box_text is None:
        raise NotARendering(f"its Info dictionary has no /{INFO_SEAL_BOX}")
    try:
        cert = parse_certificate(json.loads(embedded))
        box = SealBox.from_info(str(box_text))
    except ValueError as exc:  # InputError, JSON and seal box errors alike
        raise NotARendering(f"its embedded data does not make a certificate: {exc}") from None
    return RenderedPdf(data=data, page_count=pages, certificate=cert, seal_box=box)


def original_seal_request(rendered: RenderedPdf, level: Level) -> SealRequest:
    """What sealing a rendered certificate as an original asks for: the visible seal, and the
    model's reserved approval field where the template shows it (`make bench` times exactly
    this request)."""
    cert = rendered.certificate
    approval_field = cert.model.signatures.approval_field
    return SealRequest(
        Environment(cert.environment), cert.reference, level,
        appearance=appearance_for(cert, rendered),
        further_signature_field=approval_field,
        further_signature_place=approval_place_for(rendered) if approval_field else None,
    )


def extend_original(data: bytes, env_cfg: EnvironmentConfig, trust) -> bytes:
    """Add validation data and a fresh archive timestamp (B-LTA maintenance), audited."""
    from signer.extend import extend_pdf

    base = dict(operation="extend", reference=None, version=None, environment=env_cfg.environment.value,
                key_label="-", signer_serial=None, signer_issuer=None, unsigned_sha256=sha256_hex(data),
                level=Level.B_LTA.value)
    if not env_cfg.tsa_url:
        raise ConfigError(f"no timestamp authority configured for the {env_cfg.environment.value} environment "
                          f"(tsa_url / CERTSEAL_{env_cfg.environment.name}_TSA_URL)")
    try:
        with sealing_services(env_cfg, Level.B_LTA) as services:
            result = extend_pdf(data, services, trust)
    except (SealingError, ConfigError, OSError) as exc:
        record_audit(env_cfg, AuditEntry(**base, signed_sha256=None, tsa_time=None, outcome=f"refused: {exc}"))
        raise
    record_audit(env_cfg, AuditEntry(**{**base, "reference": result.reference}, signed_sha256=sha256_hex(result.pdf),
                               tsa_time=result.timestamp.isoformat() if result.timestamp else None,
                               outcome="extended"))
    return result.pdf
