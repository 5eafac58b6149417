"""python -m bench [--quick] [--out out/bench.json] ...  (what `make bench` runs)

Per input: every stage timed on warm caches in a fresh process, the end-to-end issue, the naive
baseline and its ratio; then the page curve (CHED-P, 4 to ~30 pages) and the throughput of a
real `certseal worker`. Progress goes to stderr, the table to stdout, everything to --out.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench import inputs as bench_inputs
from bench.measure import cpu_count
from bench.pki import bench_pki
from bench.report import environment_facts, print_report, write_json
from bench.stages import Job, measure, run_isolated

DEFAULT_OUT = Path("out/bench.json")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: few rounds, two curve points, a small worker batch")
    p.add_argument("--inputs", help=f"comma-separated, from {', '.join(bench_inputs.INPUT_NAMES)} "
                   "(default: all; an empty string: none)")
    p.add_argument("--rounds", type=int, help="counted rounds per small input (default 20; quick 3)")
    p.add_argument("--long-rounds", type=int, help="counted rounds for the 300-line CHED-P (default 3; quick 1)")
    p.add_argument("--naive-rounds", type=int, help="counted rounds that also run the naive baseline "
                   "(default 5; quick 1; 0 = no baseline)")
    p.add_argument("--warmup", type=int, default=1, help="uncounted warm-up rounds first (default 1)")
    p.add_argument("--curve-rounds", type=int, help="counted rounds per page-curve point (default 3; quick 1)")
    p.add_argument("--no-curve", action="store_true", help="skip the page curve")
    p.add_argument("--no-worker", action="store_true", help="skip the worker throughput run")
    p.add_argument("--worker-tasks", type=int, help="issue tasks in the timed worker batch "
                   "(default 200; quick 20; 1000 for the leak check)")
    p.add_argument("--concurrency", type=int, default=cpu_count(), help="worker pool processes (default: one per core)")
    p.add_argument("--broker", help="an existing, empty Redis database to use (default: a private redis-server)")
    p.add_argument("--in-process", action="store_true",
                   help="measure in this process instead of a fresh one per input (debugging; RSS then cumulative)")
    return p


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quick = args.quick
    rounds = args.rounds or (3 if quick else 20)
    long_rounds = args.long_rounds or (1 if quick else 3)
    naive_rounds = args.naive_rounds if args.naive_rounds is not None else (1 if quick else 5)
    curve_rounds = args.curve_rounds or (1 if quick else 3)
    worker_tasks = args.worker_tasks or (20 if quick else 200)
    for name, value in (("--rounds", rounds), ("--long-rounds", long_rounds), ("--curve-rounds", curve_rounds),
                        ("--worker-tasks", worker_tasks), ("--concurrency", args.concurrency)):
        if value < 1:
            raise SystemExit(f"bench: {name} must be at least 1")
    if args.warmup < 0 or naive_rounds < 0:
        raise SystemExit("bench: --warmup and --naive-rounds cannot be negative")
    names = tuple(n.strip() for n in args.inputs.split(",") if n.strip()) if args.inputs is not None else bench_inputs.INPUT_NAMES
    chosen, notes = bench_inputs.main_inputs(names)
    run = measure if args.in_process else run_isolated

    results: dict = {"meta": environment_facts(), "notes": notes, "inputs": [], "page_curve": None, "worker": None}
    results["meta"]["settings"] = {
        "quick": quick, "rounds": rounds, "long_rounds": long_rounds, "naive_rounds": naive_rounds,
        "warmup": args.warmup, "curve_rounds": curve_rounds, "worker_tasks": worker_tasks,
        "concurrency": args.concurrency, "isolated": not args.in_process,
    }
    # A part that fails is reported and the others still run: one broken input should not
    # cost the numbers of all the rest.
    errors: list[str] = results.setdefault("errors", [])
    started = time.monotonic()
    with bench_pki() as pki:
        for item in chosen:
            n = long_rounds if item.large else rounds
            _log(f"{item.name}: {args.warmup} warm-up + {n} rounds")
            try:
                results["inputs"].append(run(Job(item, pki, rounds=n, warmup=args.warmup,
                                                 naive_rounds=min(naive_rounds, n))))
            except Exception as exc:  # noqa: BLE001 - recorded with its traceback
                errors.append(f"{item.name}: {exc}")
        if not args.no_curve:
            try:
                results["page_curve"] = _page_curve(pki, run, quick=quick, rounds=curve_rounds, warmup=args.warmup)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"page curve: {exc}")
    if not args.no_worker:
        from bench.worker_throughput import measure_worker

        try:
            results["worker"] = measure_worker(worker_tasks, args.concurrency, broker=args.broker, log=_log).to_dict()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - SystemExit carries the worker's log tail
            errors.append(f"worker: {exc}")
    results["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    write_json(results, args.out)
    print_report(results, sys.stdout)
    for error in errors:
        print(f"\nERROR {error}", file=sys.stderr)
    print(f"\nresults: {args.out} ({results['meta']['elapsed_s']:.0f} s)")
    return 1 if errors else 0


def _page_curve(pki, run, *, quick: bool, rounds: int, warmup: int) -> dict:
    lines = bench_inputs.QUICK_CURVE_LINES if quick else bench_inputs.CURVE_LINES
    points = []
    label = ""
    for n in lines:
        item = bench_inputs.ched_p_lines(n)
        label = item.label.replace(f"{n} lines", "N lines")
        _log(f"page curve: {n} lines, {warmup} warm-up + {rounds} rounds")
        r = run(Job(item, pki, rounds=rounds, warmup=warmup, full=False))
        issue, pdf = r["composites"]["issue"], r["stages"]["pdf"]
        points.append({
            "lines": n, "pages": r["pages"], "issue_median_ms": issue["median_ms"], "issue_p95_ms": issue["p95_ms"],
            "ms_per_page": issue["median_ms"] / r["pages"], "pdf_ms_per_page": pdf["median_ms"] / r["pages"],
            "peak_rss_mb": r["peak_rss_mb"], "stages": r["stages"],
        })
    flatness = None
    if len(points) >= 2:
        best_smaller = min(p["ms_per_page"] for p in points[:-1])
        flatness = points[-1]["ms_per_page"] / best_smaller
    return {"label": label, "rounds": rounds, "warmup": warmup, "points": points, "flatness": flatness}


if __name__ == "__main__":
    sys.exit(main())
