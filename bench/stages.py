"""Time each pipeline stage on one input, warm, through certseal's public stage functions.

A round runs the chain once, timing every call on its own:

    parse      bytes → Certificate          renderers.model.parse_certificate / renderers.sps.parse_sps
    html       Certificate → HTML           renderers.render.render_certificate_html
    pdf        HTML → unsigned PDF/A        renderers.pdf.html_to_pdf (layout + PDF)
    seal_bb    PAdES B-B certification      signer.pades.seal_document (service.issuing.original_seal_request)
    seal_blta  PAdES B-LTA, local TSA/OCSP  signer.pades.seal_document with SealServices
    verify     the B-LTA original           signer.verify.verify_pdf (in process)
    verify_sandboxed                        service.sandbox.verify_untrusted (what `certseal verify` runs)
    naive_pdf, naive_sign                   bench.naive (same HTML, same key)

`issue` is parse + html + pdf + seal_bb of the same round (the pipeline run once, end to end);
`naive_issue` is parse + html + naive_pdf + naive_sign. The first `warmup` rounds fill the
caches (fonts, stylesheets, templates, key) and are not counted. Each round issues the
certificate under a reference of its own (`BenchInput.raw_for_round`), as a worker does. The
pdf stage is also split into WeasyPrint's steps (`bench.render_phases`: styles, boxes, layout,
drawing, writing, other), and `issue_less_layout` is the issue without its layout step: what the
rest costs on its own.

Each job runs in a freshly spawned process (`run_isolated`), so its peak RSS is its own and
no input warms the caches of the next.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import time
import traceback
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Callable

from bench import render_phases
from bench.inputs import BenchInput
from bench.measure import Summary, children_peak_rss_mb, peak_rss_mb, reset_peak_rss
from bench.pki import PkiHandle

ISSUE_STAGES = ("parse", "html", "pdf", "seal_bb")
FULL_STAGES = (*ISSUE_STAGES, "seal_blta", "verify", "verify_sandboxed")
NAIVE_STAGES = ("naive_pdf", "naive_sign")
COMPOSITES = {
    "issue": ISSUE_STAGES,
    "naive_issue": ("parse", "html", *NAIVE_STAGES),
    "render_seal": ("pdf", "seal_bb"),
    "naive_render_sign": NAIVE_STAGES,
}
# A training original is intact and consistent but has no legal value.
EXPECTED_VERDICT = {"training": "NO_LEGAL_VALUE", "acceptance": "NO_LEGAL_VALUE", "production": "VALID"}


@dataclass(frozen=True)
class Job:
    input: BenchInput
    pki: PkiHandle
    rounds: int
    warmup: int = 1
    full: bool = True  # False: the issue chain only (the page curve)
    naive_rounds: int = 0  # counted rounds that also run the naive baseline


def _page_count(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(BytesIO(pdf), strict=False).root["/Pages"]["/Count"])


def _parser(kind: str) -> Callable[[bytes], Any]:
    if kind == "sps":
        from renderers.sps import parse_sps

        return parse_sps
    from renderers.model import parse_certificate

    return lambda raw: parse_certificate(json.loads(raw))


class _Round:
    """One pass of the chain; `ms` and peak `rss` per stage. The peak is this process's
    high-water mark, reset before the stage when the kernel allows (else it only grows); for
    the sandboxed verify it is the forked child's peak."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self.pdf_phases: dict[str, float] = {}  # bench.render_phases: the pdf stage's split
        self.rss: dict[str, float | None] = {}
        self.per_stage_rss = True

    def run(self, stage: str, fn: Callable[..., Any], *args: Any, sandboxed: bool = False) -> Any:
        self.per_stage_rss = reset_peak_rss() and self.per_stage_rss
        start = time.perf_counter()
        value = fn(*args)
        self.ms[stage] = (time.perf_counter() - start) * 1000
        self.rss[stage] = children_peak_rss_mb() if sandboxed else peak_rss_mb()
        return value


def measure(job: Job) -> dict:
    """Run the job in this process and return its results as plain data."""
    # WeasyPrint narrates layout and warns about unsupported CSS on every render.
    for chatty in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.ERROR)
    from renderers.pdf import html_to_pdf
    from renderers.render import render_certificate_html
    from service.issuing import original_seal_request
    from service.sandbox import verify_untrusted
    from signer.levels import Level
    from signer.pades import seal_document
    from signer.verify import verify_pdf

    from bench import naive

    key = job.pki.seal_key()
    services = job.pki.services() if job.full else None
    trust = job.pki.trust()
    signer = naive.naive_signer(job.pki.seal_p12, job.pki.passphrase()) if job.naive_rounds else None
    parse = _parser(job.input.kind)

    def seal(cert, rendered, level: Level, with_services):
        return seal_document(rendered.data, key, original_seal_request(rendered, level), with_services).pdf

    rounds: list[_Round] = []
    facts: dict[str, Any] = {}
    process_peak = 0.0
    for index in range(job.warmup + job.rounds):
        counted = index - job.warmup
        r = _Round()
        cert = r.run("parse", parse, job.input.raw_for_round(index))
        html = r.run("html", render_certificate_html, cert)
        with render_phases.timed(lambda: r.ms.get("pdf")) as r.pdf_phases:
            rendered = r.run("pdf", html_to_pdf, html, cert)
        sealed_bb = r.run("seal_bb", seal, cert, rendered, Level.B_B, None)
        if job.full:
            sealed_lta = r.run("seal_blta", seal, cert, rendered, Level.B_LTA, services)
            report = r.run("verify", verify_pdf, sealed_lta, trust)
            sandboxed = r.run("verify_sandboxed", verify_untrusted, sealed_lta, trust, sandboxed=True)
        if signer is not None and counted < job.naive_rounds:  # warm-up rounds too
            css = naive.stylesheet_files(cert.model)
            naive_unsigned = r.run("naive_pdf", naive.naive_pdf, html, css)
            r.run("naive_sign", naive.naive_sign, naive_unsigned, signer)
        if index == 0:
            # Checked once, outside the timings: a fast stage that produces a wrong original
            # is not worth measuring.
            env = cert.environment.value
            facts = {
                "model": cert.model.id, "reference": cert.reference, "environment": env,
                "languages": [cert.language, cert.destination_language],
                "pages": rendered.page_count, "pages_in_pdf": _page_count(rendered.data),
                "bytes": {"unsigned": len(rendered.data), "sealed_bb": len(sealed_bb)},
                "verdicts": {},
                "expected_verdict": EXPECTED_VERDICT.get(env),
            }
            if job.full:
                facts["bytes"]["sealed_blta"] = len(sealed_lta)
                facts["verdicts"]["verify"] = report.verdict.value
                facts["verdicts"]["verify_sandboxed"] = sandboxed.verdict.value
                facts["reasons"] = {"verify": report.reasons, "verify_sandboxed": sandboxed.reasons}
            if signer is not None:
                facts["naive_pages"] = _page_count(naive_unsigned)
        process_peak = max([process_peak, *(v for k, v in r.rss.items() if v and k != "verify_sandboxed")])
        if counted >= 0:
            rounds.append(r)

    stages: dict[str, dict] = {}
    for stage in (*(FULL_STAGES if job.full else ISSUE_STAGES), *(NAIVE_STAGES if signer else ())):
        samples = [r.ms[stage] for r in rounds if stage in r.ms]
        if samples:
            peaks = [r.rss[stage] for r in rounds if r.rss.get(stage) is not None]
            stages[stage] = Summary.of(samples, max(peaks) if peaks else None).to_dict()
    composites: dict[str, dict] = {}
    for name, parts in COMPOSITES.items():
        sums = [sum(r.ms[p] for p in parts) for r in rounds if all(p in r.ms for p in parts)]
        if sums:
            composites[name] = Summary.of(sums).to_dict()
    # The issue with its layout step taken out: what the rest of the pipeline costs on its own.
    less_layout = [sum(r.ms[p] for p in ISSUE_STAGES) - r.pdf_phases["layout"]
                   for r in rounds if "layout" in r.pdf_phases and all(p in r.ms for p in ISSUE_STAGES)]
    if less_layout:
        composites["issue_less_layout"] = Summary.of(less_layout).to_dict()
    pdf_phases = {phase: Summary.of(samples).to_dict() for phase in render_phases.PHASES
                  if (samples := [r.pdf_phases[phase] for r in rounds if phase in r.pdf_phases])}
    ratios = {}
    if "naive_issue" in composites:
        ratios["issue"] = composites["naive_issue"]["median_ms"] / composites["issue"]["median_ms"]
        ratios["render_sign"] = composites["naive_render_sign"]["median_ms"] / composites["render_seal"]["median_ms"]
    return {
        "name": job.input.name, "label": job.input.label, "kind": job.input.kind,
        "rounds": job.rounds, "warmup": job.warmup, **facts,
        "stages": stages, "pdf_phases": pdf_phases, "composites": composites, "naive_ratio": ratios,
        "peak_rss_mb": process_peak,
        "peak_rss_per_stage": all(r.per_stage_rss for r in rounds),
        "sandbox_peak_rss_mb": children_peak_rss_mb() if job.full else None,
    }


def _child(sender, job: Job) -> None:
    try:
        result = (True, measure(job))
    except BaseException:  # noqa: BLE001 - the parent reports it, with the traceback
        result = (False, traceback.format_exc())
    sender.send(result)
    sender.close()


def run_isolated(job: Job) -> dict:
    """`measure(job)` in a fresh interpreter (spawn: nothing inherited, caches cold)."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, job), name=f"bench-{job.input.name}")
    process.start()
    sender.close()
    try:
        ok, value = receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"bench: the process measuring {job.input.name} died (exit {process.exitcode})") from None
    finally:
        receiver.close()
    process.join()
    if not ok:
        raise RuntimeError(f"bench: measuring {job.input.name} failed:\n{value}")
    return value
