"""A throw-away training PKI with its CA services (OCSP, CRL, TSA) on loopback, as `certseal
demo` and the tests use: the B-LTA stage needs a TSA and revocation data to embed.

The parent process owns the temporary directory and the responders; measuring processes get a
`PkiHandle` (paths and URLs only) and load the key themselves, as a worker does at start.
"""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from renderers.environment import Environment

ENVIRONMENT = Environment.TRAINING  # every sample is a training document


@dataclass(frozen=True)
class PkiHandle:
    environment: str
    seal_p12: Path
    passphrase_file: Path
    root_pem: Path
    tsa_url: str

    def seal_key(self):
        from signer.keys import KeySpec, load_seal_key, passphrase_from_file

        return load_seal_key(KeySpec.parse(f"pkcs12:{self.seal_p12}"), passphrase_from_file(self.passphrase_file))

    def root(self):
        from signer.trust import load_trust_roots

        return load_trust_roots([self.root_pem])[0]

    def trust(self):
        from signer.trust import TrustStore

        return TrustStore({Environment(self.environment): [self.root()]})

    def services(self):
        from signer.pades import SealServices

        return SealServices(tsa_url=self.tsa_url, trust_roots=(self.root(),))

    def passphrase(self) -> bytes:
        from signer.keys import passphrase_from_file

        return passphrase_from_file(self.passphrase_file)


@contextmanager
def bench_pki() -> Iterator[PkiHandle]:
    """Create the PKI in a temporary directory and serve its CA while the block runs; the
    directory (it holds private keys) is removed afterwards."""
    from signer.pki import create_pki, load_local_authority
    from signer.responders import LocalResponders

    directory = Path(tempfile.mkdtemp(prefix="certseal-bench-pki-"))
    try:
        files = create_pki(ENVIRONMENT, directory / ENVIRONMENT.value, services=True)
        authority = load_local_authority(files.directory)
        with LocalResponders(authority.ca, authority.tsa, port=files.services.port):
            yield PkiHandle(ENVIRONMENT.value, files.seal_p12, files.passphrase_file, files.root_pem,
                            files.services.tsa)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
