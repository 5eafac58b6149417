"""`certseal demo`: the whole pipeline on an embedded default, on a fresh machine.

A training PKI (made on the spot, or the one already registered), every packaged sample
certificate issued as a sealed original, and each original verified from its bytes on disk.
Training documents have no legal value, so NO_LEGAL_VALUE is the verdict a working pipeline
gives; anything else is a failure.

The training PKI comes with its CA services (TSA, OCSP, CRL); the demo serves them on loopback
for its whole run, so every original is PAdES B-LTA and verifies from its embedded data alone.
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
from service.issuing import issue, local_ca_services, seal_key_for
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
    level: str
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
    with local_ca_services(env_cfg):
        rows = _issue_all(key, env_cfg, trust, out_dir)
    _print_table(rows, out)
    bad = [r for r in rows if r.verdict != EXPECTED_VERDICT.value]
    for row in bad:
        print(f"UNEXPECTED: {row.file}: {row.verdict}: {'; '.join(row.reasons)}", file=out)
    levels = sorted({r.level for r in rows})
    print(f"{len(rows)} originals (PAdES {', '.join(levels)}) issued and verified in {out_dir}; "
          f"{'all' if not bad else len(rows) - len(bad)} {EXPECTED_VERDICT.value} as training documents should be.",
          file=out)
    return bool(rows) and not bad


def _issue_all(key: SealKey, env_cfg, trust, out_dir: Path) -> list[DemoRow]:
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
            level=original.level,
            verdict=report.verdict.value,
            milliseconds=(time.perf_counter() - started) * 1000,
            reasons=tuple(report.reasons),
        ))
    return rows


def _training_key(config: Config) -> tuple[SealKey, bool]:
    """The registered training seal key, or a fresh PKI when there is none, it is no longer
    usable, or it predates the CA services (B-LTA needs them)."""
    try:
        if config.environment(DEMO_ENVIRONMENT).local_ca is None:
            raise ConfigError("the training PKI has no CA services")
        return seal_key_for(config, DEMO_ENVIRONMENT), False
    except (ConfigError, SealingError):
        init_pki(config, DEMO_ENVIRONMENT, force=True)
        return seal_key_for(load_config(), DEMO_ENVIRONMENT), True


def _print_table(rows: list[DemoRow], out: TextIO) -> None:
    header = ("file", "reference", "languages", "level", "verdict", "ms")
    cells = [(str(r.file), r.reference, r.languages, r.level, r.verdict, f"{r.milliseconds:.0f}") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line, file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)), file=out)
