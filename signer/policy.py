"""How an environment is bound to a seal certificate: one certificate policy OID per environment.

The OIDs live under `2.999`, the arc ITU-T X.660 reserves for examples and documentation,
so demo certificates can never be mistaken for a real authority's policy:

    2.999.7243.1            certseal seal policies (arc)
    2.999.7243.1.1          production seal   — documents with legal value
    2.999.7243.1.2          training seal     — no legal value
    2.999.7243.1.3          acceptance seal   — no legal value

A real deployment replaces the arc with the authority's own registered OID; nothing else
changes. The environment name is repeated in the subject's OU for humans; the code reads the
policy OID (an exact identifier, not free text) and refuses a certificate whose OU contradicts
it. Anyone can copy the OID into a self-made certificate, so it only counts together with the
chain: verification takes the environment from the trust root the seal chains to and requires
the policy OID to agree (`signer.verify`).
"""
from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from renderers.environment import Environment

POLICY_ARC = "2.999.7243.1"

ENVIRONMENT_POLICY_OIDS: dict[Environment, x509.ObjectIdentifier] = {
    Environment.PRODUCTION: x509.ObjectIdentifier(f"{POLICY_ARC}.1"),
    Environment.TRAINING: x509.ObjectIdentifier(f"{POLICY_ARC}.2"),
    Environment.ACCEPTANCE: x509.ObjectIdentifier(f"{POLICY_ARC}.3"),
}
_ENVIRONMENT_BY_OID = {oid: env for env, oid in ENVIRONMENT_POLICY_OIDS.items()}


class PolicyError(ValueError):
    """The certificate's environment binding is missing or contradictory."""


def policy_environments(cert: x509.Certificate) -> set[Environment]:
    """Every certseal environment named by the certificate's policies (may be empty)."""
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.CERTIFICATE_POLICIES)
    except x509.ExtensionNotFound:
        return set()
    return {
        _ENVIRONMENT_BY_OID[info.policy_identifier]
        for info in ext.value
        if info.policy_identifier in _ENVIRONMENT_BY_OID
    }


def certificate_environment(cert: x509.Certificate) -> Environment:
    """The one environment a seal certificate is bound to.

    Raises PolicyError if no certseal policy is present, if several are (a certificate valid
    for two environments would defeat the separation), or if the OU names another environment.
    """
    envs = policy_environments(cert)
    if not envs:
        raise PolicyError("the certificate carries no certseal environment policy")
    if len(envs) > 1:
        names = ", ".join(sorted(envs))
        raise PolicyError(f"the certificate names several environments in its policies ({names})")
    (env,) = envs
    ous = {
        str(attr.value).strip().lower()
        for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    }
    other = ous & ({e.value for e in Environment} - {env.value})
    if other:
        raise PolicyError(
            f"the certificate policy says {env.value} but its OU says {', '.join(sorted(other))}"
        )
    return env
