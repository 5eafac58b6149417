"""The issuing path shared by the CLI, the demo and (later) the worker: certificate → sealed original.

Keys and trust come from configuration here, at the edge; the stages themselves stay pure.
"""
from __future__ import annotations

from dataclasses import dataclass

from renderers.environment import Environment
from renderers.model import Certificate
from renderers.render import render_certificate
from service.config import Config, ConfigError, EnvironmentConfig
from signer.keys import KeySpec, SealKey, load_seal_key
from signer.pades import seal_pdf


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


def issue(cert: Certificate, key: SealKey, env_cfg: EnvironmentConfig, *, level: str = "B-B") -> IssuedOriginal:
    rendered = render_certificate(cert, verification_base=env_cfg.verification_url)
    sealed = seal_pdf(rendered.data, key, environment=cert.environment, reference=cert.reference, level=level)
    return IssuedOriginal(certificate=cert, pdf=sealed, page_count=rendered.page_count, level=level)

