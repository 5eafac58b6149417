"""Property: whatever happens to the bytes of a genuine original, the verifier answers with a
report (no exception escapes) and never says VALID unless the bytes are unchanged."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderers.environment import Environment
from renderers.model import parse_certificate
from renderers.render import render_certificate
from renderers.samples import list_samples, load_sample
from signer.keys import KeySpec, load_seal_key
from signer.pades import seal_pdf
from signer.pki import create_pki
from signer.report import Report, Verdict
from signer.trust import TrustStore, load_trust_roots
from signer.verify import verify_pdf

# CI runs the full count; FUZZ_EXAMPLES lets a developer run more (or fewer) locally.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2500"))


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, TrustStore]:
    """A production B-B original of the smallest sample, and the trust that makes it VALID."""
    files = create_pki(Environment.PRODUCTION, tmp_path_factory.mktemp("fuzz-pki"), services=False)
    key = load_seal_key(KeySpec.parse(f"pkcs12:{files.seal_p12}"), files.passphrase_file.read_bytes().strip())
    sample = min(list_samples(), key=lambda s: s.path.stat().st_size)
    cert = parse_certificate(dict(load_sample(sample.model, sample.name), environment="production"))
    pdf = seal_pdf(render_certificate(cert).data, key, environment=Environment.PRODUCTION,
                   reference=cert.reference, level="B-B")
    trust = TrustStore({Environment.PRODUCTION: load_trust_roots([files.root_pem])})
    report = verify_pdf(pdf, trust)
    assert report.verdict is Verdict.VALID, report.reasons  # the property below means nothing otherwise
    return pdf, trust


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple]:
    """One to three edits of the kinds an attacker or a broken transfer makes."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate", "append"]))
        pos = draw(st.integers(0, size - 1))
        if kind == "flip":
            edits.append((kind, pos, draw(st.integers(1, 255))))
        elif kind in ("overwrite", "insert", "append"):
            edits.append((kind, pos, draw(st.binary(min_size=1, max_size=64))))
        elif kind == "delete":
            edits.append((kind, pos, draw(st.integers(1, 256))))
        else:
            edits.append((kind, pos, None))
    return edits


def apply(data: bytes, edits: list[tuple]) -> bytes:
    buf = bytearray(data)
    for kind, pos, arg in edits:
        pos = min(pos, max(len(buf) - 1, 0))
        if kind == "flip" and buf:
            buf[pos] ^= arg
        elif kind == "overwrite":
            buf[pos:pos + len(arg)] = arg
        elif kind == "insert":
            buf[pos:pos] = arg
        elif kind == "delete":
            del buf[pos:pos + arg]
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "append":
            buf += arg
    return bytes(buf)


def test_mutated_originals_are_never_valid_and_never_crash(genuine: tuple[bytes, TrustStore]) -> None:
    pdf, trust = genuine
    seen = {"cases": 0, "changed": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(edits=mutations(len(pdf)))
    def check(edits: list[tuple]) -> None:
        mutated = apply(pdf, edits)
        report = verify_pdf(mutated, trust)  # must not raise
        assert isinstance(report, Report)
        seen["cases"] += 1
        if mutated != pdf:
            seen["changed"] += 1
            assert report.verdict is not Verdict.VALID, (edits, report.reasons)
            assert report.reasons

    check()
    assert seen["cases"] >= EXAMPLES and seen["changed"] >= EXAMPLES * 0.95
