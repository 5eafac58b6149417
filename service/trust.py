"""The configured trust roots of every environment, as the verifier takes them."""
from __future__ import annotations

from service.config import Config, ConfigError
from signer.trust import TrustStore, load_trust_roots


def trust_store(config: Config) -> TrustStore:
    roots = {}
    for env, env_cfg in config.environments.items():
        try:
            roots[env] = load_trust_roots(env_cfg.trust_roots)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"trust roots of the {env.value} environment: {exc}") from None
    return TrustStore(roots)
