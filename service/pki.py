"""Creating an environment's PKI on disk and registering it in the configuration."""
from __future__ import annotations

from pathlib import Path

from renderers.environment import Environment
from service.config import Config, register_environment
from signer.pki import PkiFiles, create_pki


def pki_directory(config: Config, env: Environment) -> Path:
    return config.home / "pki" / env.value


def init_pki(config: Config, env: Environment, *, directory: Path | None = None, force: bool = False) -> PkiFiles:
    directory = (directory or pki_directory(config, env)).resolve()
    files = create_pki(env, directory, overwrite=force)
    register_environment(
        config, env, trust_root=files.root_cert, pkcs12_file=files.seal_p12, key_passphrase_file=files.passphrase_file
    )
    return files
