"""Creating an environment's PKI on disk and registering it in the configuration.

With CA services (the default for training and acceptance) the PKI also gets a TSA and
OCSP / CRL responders on 127.0.0.1 at a port chosen now and recorded in config.toml; certseal
runs them while it seals, so originals default to PAdES B-LTA. Without (the default for
production, whose real TSA and revocation services belong to the authority) the level
defaults to B-B until a `tsa_url` is configured.
"""
from __future__ import annotations

from pathlib import Path

from renderers.environment import Environment
from service.config import Config, register_environment
from signer.pki import PkiFiles, create_pki
from signer.responders import ResponderUrls, free_loopback_port


def pki_directory(config: Config, env: Environment) -> Path:
    return config.home / "pki" / env.value


def services_by_default(env: Environment) -> bool:
    return not env.has_legal_value


def init_pki(
    config: Config,
    env: Environment,
    *,
    directory: Path | None = None,
    force: bool = False,
    services: bool | None = None,
    port: int | None = None,
) -> PkiFiles:
    directory = (directory or pki_directory(config, env)).resolve()
    with_services = services_by_default(env) if services is None else services
    urls = ResponderUrls(port or free_loopback_port()) if with_services else None
    files = create_pki(env, directory, overwrite=force, services=urls)
    register_environment(
        config, env, trust_root=files.root_cert, pkcs12_file=files.seal_p12, key_passphrase_file=files.passphrase_file,
        local_ca=files.directory if urls else None,
        responder_port=urls.port if urls else None,
        tsa_url=urls.tsa if urls else None,
    )
    return files
