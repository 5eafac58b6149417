"""`certseal demo`: the whole pipeline on an embedded default, on a fresh machine.

A training PKI (made on the spot, or the one already registered), every packaged sample
certificate issued as a sealed original, and each original verified from its bytes on disk.
Training documents have no legal value, so NO_LEGAL_VALUE is the verdict a working pipeline
gives; anything else is a failure.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from renderers.environment import Environment
from renderers.model import parse_certificate
from renderers.samples import list_samples, load_sample
from service.config import Config, ConfigError, load_config
from service.files import write_atomic
from service.issuing import issue, seal_key_for
from service.trust import trust_store
from service.pki import init_pki
from signer.errors import SealingError
from signer.keys import SealKey
from signer.report import Verdict
from signer.verify import verify_pdf

DEMO_ENVIRONMENT = Environment.TRAINING
EXPECTED_VERDICT = Verdict.NO_LEGAL_VALUE


@dataclass(frozen=True)
class DemoRow:
    file: Path
    reference: str
    languages: str
    verdict: str
    milliseconds: float
    reasons: tuple[str, ...]


def run_demo(out_dir: Path, *, out: TextIO) -> bool:
    config = load_config()
    key, created = _training_key(config)
    config = load_config()
    print(f"training PKI: {'created' if created else 'reused'} in {config.home / 'pki' / DEMO_ENVIRONMENT.value} "
          f"(seal: {key.certificate.subject.rfc4514_string()})", file=out)
    trust = trust_store(config)
    env_cfg = config.environment(DEMO_ENVIRONMENT)
    out_dir.mkdir(parents=True, exist_ok=True)

    rows: list[DemoRow] = []
    for sample in list_samples():
        started = time.perf_counter()
        data = dict(load_sample(sample.model, sample.name), environment=DEMO_ENVIRONMENT.value)
        cert = parse_certificate(data)
        original = issue(cert, key, env_cfg)
        target = out_dir / f"{sample.path.parent.parent.name}-{sample.name}.pdf"
        write_atomic(target, original.pdf)
        report = verify_pdf(target.read_bytes(), trust)
        rows.append(DemoRow(
            file=target,
            reference=cert.reference,
            languages=f"{cert.language}+{cert.destination_language}",
            verdict=report.verdict.value,
            milliseconds=(time.perf_counter() - started) * 1000,
            reasons=tuple(report.reasons),
        ))
    _print_table(rows, out)
    bad = [r for r in rows if r.verdict != EXPECTED_VERDICT.value]
    for row in bad:
        print(f"UNEXPECTED: {row.file}: {row.verdict}: {'; '.join(row.reasons)}", file=out)
    print(f"{len(rows)} originals issued and verified in {out_dir}; "
          f"{'all' if not bad else len(rows) - len(bad)} {EXPECTED_VERDICT.value} as training documents should be.",
          file=out)
    return bool(rows) and not bad


def _training_key(config: Config) -> tuple[SealKey, bool]:
    """The registered training seal key, or a fresh PKI when there is none or it is no longer usable."""
    try:
        return seal_key_for(config, DEMO_ENVIRONMENT), False
    except (ConfigError, SealingError):
        init_pki(config, DEMO_ENVIRONMENT, force=True)
        return seal_key_for(load_config(), DEMO_ENVIRONMENT), True


def _print_table(rows: list[DemoRow], out: TextIO) -> None:
    header = ("file", "reference", "languages", "verdict", "ms")
    cells = [(str(r.file), r.reference, r.languages, r.verdict, f"{r.milliseconds:.0f}") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line, file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)), file=out)
