"""The `certseal` command line. Exit codes: 0 done, 1 failed, 2 bad input, 64 usage error;
`verify` exits with its verdict's code (0 VALID, 1 INVALID, 2 INDETERMINATE, 3 NO_LEGAL_VALUE)."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from renderers.environment import Environment
from renderers.errors import InputError

if TYPE_CHECKING:  # the CLI imports its heavy parts lazily, per command
    from service.sandbox import Limits
    from signer.report import Report

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_USAGE = 64

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors, which `verify` reserves for INDETERMINATE."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="certseal",
        description="Render official SPS certificates in two languages, seal them with a PAdES "
        "signature (the signed PDF is the only original), and verify received PDFs.",
        epilog="Configuration: CERTSEAL_HOME (default ~/.config/certseal) and CERTSEAL_* variables; see README.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("demo", help="make a training PKI, issue every sample certificate, verify each",
                       description="On an embedded default: create (or reuse) the training PKI in the config "
                       "directory, issue every packaged sample certificate as a sealed original, verify each "
                       "and print a table. Training documents have no legal value, so the expected verdict "
                       "is NO_LEGAL_VALUE.")
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="directory for the originals (default: out/demo)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("render", help="render a certificate to PDF, HTML or PNG (not sealed)",
                       description="Render INPUT (a certificate .json) in the officer's and the destination's language.")
    p.add_argument("input", type=Path, metavar="INPUT")
    p.add_argument("-o", "--output", type=Path, help="output file (default: INPUT with the format's suffix)")
    _add_render_options(p)
    p.add_argument("--format", choices=("pdf", "html", "png"), help="default: from the output suffix, else pdf")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("issue", help="render and seal a certificate: the signed original",
                       description="Render INPUT and seal it with a certification signature (DocMDP: no "
                       "changes allowed) using the seal key of the certificate's environment. Batch: with a "
                       "directory, a quoted glob ('in/*.json') or several INPUTs, -o is a directory and each "
                       "input becomes OUTDIR/<stem>.pdf, on --jobs processes; outputs already sealed from the "
                       "same data are skipped, so a re-run finishes an interrupted batch. Batch exit: 0 all "
                       "issued or skipped, 2 some input invalid, 1 any other failure, 130 interrupted.")
    p.add_argument("input", type=Path, nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pdf|OUTDIR",
                   help="the sealed original (.pdf); in batch, the output directory (created if missing)")
    _add_render_options(p)
    _add_key_options(p)
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="batch: worker processes (default: one per CPU)")
    p.add_argument("--overwrite", action="store_true", help="batch: re-issue inputs whose output exists "
                   "(default: skip it when sealed from the same data, fail the input when not)")
    p.set_defaults(func=cmd_issue)

    p = sub.add_parser("sign", help="seal an existing certseal PDF",
                       description="Seal IN.pdf (rendered by certseal). The environment is read from the PDF's "
                       "metadata unless --env is given; it must match the key's environment.")
    p.add_argument("input", type=Path, metavar="IN.pdf")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pdf")
    p.add_argument("--env", choices=[e.value for e in Environment], help="environment of the document")
    _add_key_options(p)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("extend", help="add validation data and a fresh archive timestamp to an original",
                       description="Keep an original verifiable for the long term (PAdES B-LTA): add the "
                       "certificates, CRLs and OCSP responses its validation needs and a new document timestamp. "
                       "The seal is untouched; the certification allows exactly these additions. Refuses a "
                       "document that does not verify.")
    p.add_argument("input", type=Path, metavar="IN.pdf")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pdf")
    p.add_argument("--env", choices=[e.value for e in Environment], help="environment of the document "
                   "(default: from its metadata)")
    p.set_defaults(func=cmd_extend)

    p = sub.add_parser("approve", help="sign the follow-up (e.g. CHED Part III) into an original as an approval",
                       description="Add the approval signature a model's certificates get after issue (CHED: "
                       "Part III follow-up) into the empty signature field the seal reserved, with a visible "
                       "bilingual block in that box. FOLLOWUP.json: {\"officer\", \"qualification\", "
                       "\"authority\", \"decision\" (an option key of the follow-up box, e.g. "
                       "compliance_confirmed), \"notes\", \"date\" (ISO 8601 with offset)}; officer and "
                       "date are required. Refuses an original that does not verify, is already approved, "
                       "or whose model takes no approval, and a key of another environment.")
    p.add_argument("input", type=Path, metavar="IN.pdf", help="the sealed original")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pdf")
    p.add_argument("--input", dest="follow_up", type=Path, required=True, metavar="FOLLOWUP.json",
                   help="the follow-up: who signs, for which authority, what was decided, when")
    _add_key_options(p)
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("audit", help="the hash-chained audit log of every signature")
    audit_sub = p.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=_Parser)
    audit_sub.required = True
    q = audit_sub.add_parser("verify", help="check the chain: detects an edited, removed or reordered line",
                             description="Exit 0 when the chain is intact, 1 when it is broken. Prints the head "
                             "(SEQ:HASH): record it elsewhere and pass it later as --expect-head to detect "
                             "lines removed from the end.")
    q.add_argument("log", type=Path, nargs="?", metavar="LOG", help="default: the configured audit log")
    q.add_argument("--expect-head", metavar="[SEQ:]HASH", help="a head recorded earlier that must still be in the log")
    q.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("verify", help="verify a received certificate PDF",
                       description="Exit 0 VALID, 1 INVALID, 2 INDETERMINATE, 3 NO_LEGAL_VALUE (training / "
                       "acceptance), 64 usage error.")
    p.add_argument("file", type=Path, metavar="FILE.pdf")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--trust", action="append", default=[], metavar="[ENV=]PEM|DIR",
                   help="trust root(s) instead of the configured ones; without ENV= they count for "
                   "--expect-env (default production). Repeatable.")
    p.add_argument("--expect-env", choices=[e.value for e in Environment], help="environment the document should come from")
    p.add_argument("--extract-signed", action="store_true",
                   help="also write the revision the seal actually covers to -o, so a person can see what was sealed")
    p.add_argument("-o", "--output", type=Path, metavar="ORIGINAL.pdf", help="with --extract-signed: where to write it")
    p.add_argument("--at", metavar="ISO-TIME", help="verify as of this time (e.g. 2046-01-01T00:00:00+00:00) with "
                   "only the embedded validation data")
    p.add_argument("--online", action="store_true", help="allow fetching missing revocation data from the URLs in "
                   "the certificates (default: embedded data only, no network)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("pki", help="manage the seal PKI of an environment")
    pki_sub = p.add_subparsers(dest="pki_command", metavar="ACTION", parser_class=_Parser)
    pki_sub.required = True
    q = pki_sub.add_parser("init", help="create a root CA and a seal key for an environment and register them",
                           description="Create a root CA and a seal certificate (PKCS#12) for ENV and register "
                           "them in the config directory, so issue and verify use them with no flags.")
    q.add_argument("--env", choices=[e.value for e in Environment], default="training")
    q.add_argument("--dir", type=Path, help="where to write it (default: CONFIG/pki/ENV)")
    q.add_argument("--force", action="store_true", help="replace an existing PKI in that directory")
    q.add_argument("--services", action=argparse.BooleanOptionalAction, default=None,
                   help="also make a TSA and OCSP / CRL responders served on 127.0.0.1 while certseal seals "
                   "(default: yes for training and acceptance, no for production)")
    q.add_argument("--port", type=int, help="loopback port of those services (default: a free one, recorded in config)")
    q.set_defaults(func=cmd_pki_init)

    p = sub.add_parser("serve", help="HTTP API and verification page",
                       description="Serve the verification page (GET /), POST /verify, GET /certificates/REF, "
                       "and, for callers with a configured API token, POST /render and POST /issue. "
                       "OpenAPI at /openapi.json.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="Celery worker: issue, verify, preview and cancel originals",
                       description="Run the Celery worker (app service.worker:app, queue 'certseal') against "
                       "CERTSEAL_BROKER_URL, storing originals in CERTSEAL_STORE and registering them in "
                       "CERTSEAL_REGISTRY. With no seal key configured it makes a training PKI on first use.")
    p.add_argument("-c", "--concurrency", type=int, metavar="N", help="pool processes (default: one per CPU)")
    p.add_argument("--loglevel", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                   help="default: INFO")
    p.add_argument("-n", "--hostname", help="node name, unique per worker (default: celery@HOST)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("preview", help="preview a model's template with sample data, in any language pair",
                       description="Render a model's sample certificate (never sealed; a training document "
                       "unless --env says otherwise) to FILE.html|pdf|png, serve every model x sample x language "
                       "pair on localhost with --serve (re-rendered when templates, CSS or catalogs change), or "
                       "write a contact sheet of every model's first page.")
    p.add_argument("model", nargs="?", metavar="MODEL", help="e.g. CHED-PP (see `certseal schema`)")
    p.add_argument("--lang", help="first language (default: the sample's)")
    p.add_argument("--dest-lang", help="second language (default: the sample's)")
    p.add_argument("--sample", help="sample name (default: the model's first)")
    p.add_argument("--env", choices=[e.value for e in Environment], default="training")
    p.add_argument("--page", type=int, default=1, help="with a .png output: which page (default 1)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", type=Path, metavar="FILE", help="FILE.html, FILE.pdf or FILE.png")
    out.add_argument("--serve", action="store_true", help="serve previews on http://HOST:PORT/")
    out.add_argument("--contact-sheet", type=Path, metavar="FILE.png", help="page 1 of every model in one PNG")
    p.add_argument("--host", default="127.0.0.1", help="with --serve (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="with --serve (default 8765)")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("schema", help="print the JSON Schema of the certificate input")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("i18n", help="translation catalogs")
    i18n_sub = p.add_subparsers(dest="i18n_command", metavar="ACTION", parser_class=_Parser)
    i18n_sub.required = True
    q = i18n_sub.add_parser("check", help="fail when any catalog lacks, or has a fuzzy entry for, any label")
    q.set_defaults(func=cmd_i18n_check)
    return parser


def _add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", help="certifying officer's language (overrides the input's `language`)")
    p.add_argument("--dest-lang", help="destination language (overrides the input's `destination_language`)")
    p.add_argument("--env", choices=[e.value for e in Environment], help="overrides the input's `environment`")


def _add_key_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key", metavar="pkcs12:PATH|pkcs11:URI", help="seal key (default: the environment's configured "
                   "key); its passphrase or PIN comes from CERTSEAL_<ENV>_KEY_PASSPHRASE(_FILE) or the config")
    p.add_argument("--level", choices=LEVELS, default=None, help="PAdES baseline level (default: the configured "
                   "level, else B-LTA when a TSA is configured and B-B when not)")


# --- commands -------------------------------------------------------------------------------

def cmd_render(args: argparse.Namespace) -> int:
    from renderers.render import render_certificate, render_certificate_html, render_png
    from service.config import load_config
    from service.files import write_atomic
    from service.inputs import read_certificate_file

    fmt = args.format or (args.output.suffix.lstrip(".").lower() if args.output else "pdf")
    if fmt not in ("pdf", "html", "png"):
        raise UsageError(f"cannot tell the format from {args.output}; give --format pdf|html|png")
    output = args.output or args.input.with_suffix("." + fmt)
    cert = read_certificate_file(args.input, language=args.lang, destination_language=args.dest_lang, environment=args.env)
    base = load_config().environment(cert.environment).verification_url
    if fmt == "html":
        data = render_certificate_html(cert, verification_base=base).encode()
    else:
        rendered = render_certificate(cert, verification_base=base)
        data = rendered.data if fmt == "pdf" else render_png(rendered)
    write_atomic(output, data)
    print(f"{output}: {cert.model.id} {cert.reference} ({cert.language}+{cert.destination_language}, {cert.environment.value})")
    return EXIT_OK


def cmd_issue(args: argparse.Namespace) -> int:
    from service.batch import is_batch_invocation
    from service.config import load_config
    from service.files import write_atomic
    from service.inputs import read_certificate_file
    from service.issuing import issue, seal_key_for

    if is_batch_invocation(args.input):
        return _cmd_issue_batch(args)
    cert = read_certificate_file(args.input[0], language=args.lang, destination_language=args.dest_lang, environment=args.env)
    config = load_config()
    key = seal_key_for(config, cert.environment, args.key)
    original = issue(cert, key, config.environment(cert.environment), level=args.level)
    write_atomic(args.output, original.pdf)
    print(f"{args.output}: sealed original of {cert.reference} ({cert.environment.value}, PAdES {original.level}, "
          f"{original.page_count} page{'s' if original.page_count != 1 else ''})")
    return EXIT_OK


def _cmd_issue_batch(args: argparse.Namespace) -> int:
    from service.batch import BatchOptions, BatchUsageError, default_jobs, run_batch

    options = BatchOptions(output_dir=args.output, jobs=args.jobs if args.jobs is not None else default_jobs(),
                           language=args.lang, destination_language=args.dest_lang, environment=args.env,
                           key=args.key, level=args.level, overwrite=args.overwrite)
    try:
        summary = run_batch(args.input, options)
    except BatchUsageError as exc:
        raise UsageError(str(exc)) from None
    if summary.interrupted:
        return 130
    if summary.failed > summary.bad_input:
        return EXIT_FAILED
    return EXIT_BAD_INPUT if summary.bad_input else EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    from service.config import load_config
    from service.files import write_atomic
    from service.issuing import NotARendering, rendered_from_pdf, seal_and_record, seal_key_for, seal_rendered

    unsigned, env, meta = _read_certseal_pdf(args.input, args.env, labels=True)
    config = load_config()
    key = seal_key_for(config, env, args.key)
    try:
        # A certseal rendering is sealed as `issue` seals it: the visible seal in its box and,
        # for the CHED models, the reserved Part III approval field.
        rendered, missing = rendered_from_pdf(unsigned), None
    except NotARendering as exc:
        rendered, missing = None, str(exc)
    if rendered is not None:
        result = seal_rendered(rendered, key, config.environment(env), level=args.level)
    else:
        result = seal_and_record(unsigned, key, config.environment(env),
                                 reference=meta.reference or args.input.stem, level=args.level)
    write_atomic(args.output, result.pdf)
    if missing:
        print(f"{args.input}: sealed without a visible seal or approval field: {missing}", file=sys.stderr)
    print(f"{args.output}: sealed ({env.value}, PAdES {result.level.value})")
    return EXIT_OK


def cmd_extend(args: argparse.Namespace) -> int:
    from service.config import load_config
    from service.files import write_atomic
    from service.issuing import extend_original
    from service.trust import trust_store

    data, env, _ = _read_certseal_pdf(args.input, args.env, labels=False)
    config = load_config()
    extended = extend_original(data, config.environment(env), trust_store(config))
    write_atomic(args.output, extended)
    print(f"{args.output}: extended ({env.value}, PAdES B-LTA, archive timestamp added)")
    return EXIT_OK


def cmd_approve(args: argparse.Namespace) -> int:
    from service.approving import approve_original, read_follow_up_file
    from service.config import load_config
    from service.files import write_atomic
    from service.issuing import seal_key_for
    from service.trust import trust_store

    follow_up = read_follow_up_file(args.follow_up)
    data, env, meta = _read_certseal_pdf(args.input, None, labels=True)
    config = load_config()
    key = seal_key_for(config, env, args.key)
    result = approve_original(data, follow_up, key, config.environment(env), trust_store(config),
                              level=args.level, reference=meta.reference)
    write_atomic(args.output, result.pdf)
    print(f"{args.output}: approved ({env.value}, field {result.field}, PAdES {result.level.value})")
    return EXIT_OK


def _read_certseal_pdf(path: Path, env_option: str | None, *, labels: bool):
    """A certseal PDF to seal or extend: its bytes, its environment (--env, else its metadata)
    and, when asked for or needed for the environment, its metadata labels (else None)."""
    from signer.metadata import DocumentReadError, read_document_metadata

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    meta = None
    if labels or not env_option:
        try:
            meta = read_document_metadata(data)
        except DocumentReadError as exc:
            raise InputError(str(path), f"not a readable PDF: {exc}") from None
    env_value = env_option or meta.environment
    if not env_value:
        raise InputError(str(path), "the PDF names no certseal environment in its metadata; give --env")
    return data, Environment.parse(env_value, field="--env"), meta


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from service.config import load_config
    from signer.audit import verify_log

    log = args.log or load_config().environment(Environment.PRODUCTION).audit_log
    if not log.exists():
        raise UsageError(f"no audit log at {log}")
    check = verify_log(log, expect_head=args.expect_head)
    for problem in check.problems:
        print(f"{log}: {problem}", file=sys.stderr)
    state = "intact" if check.ok else "BROKEN"
    print(f"{log}: {check.lines} lines, chain {state}; head {check.head_seq}:{check.head_hash}")
    return EXIT_OK if check.ok else EXIT_FAILED


def cmd_verify(args: argparse.Namespace) -> int:
    from service.config import load_config
    from service.sandbox import verify_untrusted
    from service.trust import trust_store
    from service.verify_limits import load_verify_limits
    from signer.report import Report, render_text
    from signer.trust import TrustStore, load_trust_roots

    expect = Environment(args.expect_env) if args.expect_env else None
    # No config file is fine (defaults); with --trust, it is read for the [verify] limits only.
    config = load_config()
    limits = load_verify_limits(config)
    if args.trust:
        by_env: dict[Environment, list[Path]] = {}
        for item in args.trust:
            env_name, sep, path = item.rpartition("=")
            env = Environment.parse(env_name, field="--trust") if sep else (expect or Environment.PRODUCTION)
            by_env.setdefault(env, []).append(Path(path))
        try:
            trust = TrustStore({env: load_trust_roots(paths) for env, paths in by_env.items()})
        except (OSError, ValueError) as exc:
            raise UsageError(f"--trust: {exc}") from None
    else:
        trust = trust_store(config)
    if args.extract_signed and not args.output:
        raise UsageError("--extract-signed needs -o ORIGINAL.pdf")
    data = _read_untrusted(args.file, limits)
    if isinstance(data, Report):
        report = data
    else:
        at = _parse_at(args.at) if args.at else None
        report = verify_untrusted(data, trust, expect_env=expect, at=at, allow_fetching=args.online, limits=limits)
        if args.extract_signed:
            _write_signed_revision(data, args.output, limits)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return report.verdict.exit_code


def _parse_at(text: str):
    from datetime import datetime, timezone

    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at: not an ISO 8601 time: {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _read_untrusted(path: Path, limits: Limits) -> bytes | Report:
    """The file's bytes, or an INVALID report when it is too large to be an original (not read into memory)."""
    import hashlib

    from service.sandbox import oversized_report

    try:
        size = path.stat().st_size
        if size <= limits.max_file_bytes:
            return path.read_bytes()
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return oversized_report(digest.hexdigest(), size, limits)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _write_signed_revision(data: bytes, output: Path, limits: Limits) -> None:
    from service.files import write_atomic
    from service.sandbox import LimitExceeded, run_limited
    from signer.extract import signed_revision

    try:
        revision = run_limited(signed_revision, data, limits=limits)
    except LimitExceeded as exc:
        print(f"certseal verify: no signed revision written: {exc}", file=sys.stderr)
        return
    write_atomic(output, revision)
    note = "the whole file" if len(revision) == len(data) else f"{len(revision)} of {len(data)} bytes"
    print(f"certseal verify: the sealed revision ({note}) written to {output}", file=sys.stderr)


def cmd_pki_init(args: argparse.Namespace) -> int:
    from service.config import load_config
    from service.pki import init_pki

    env = Environment(args.env)
    files = init_pki(load_config(), env, directory=args.dir, force=args.force, services=args.services, port=args.port)
    print(f"{env.value} PKI in {files.directory}: root {files.root_cert.name}, seal key {files.seal_p12.name}; "
          f"registered in {load_config().config_file}")
    if files.services is not None:
        print(f"CA services (TSA, OCSP, CRL) on {files.services.base} while certseal seals: "
              "originals default to PAdES B-LTA")
    else:
        print("note: no timestamp authority configured, so originals default to PAdES B-B; set tsa_url for "
              f"the {env.value} environment (or CERTSEAL_{env.name}_TSA_URL) for B-LTA")
    return EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    from service.files import write_atomic
    from service.preview import FORMATS, PreviewRequest, contact_sheet, make_server, render_preview

    env = Environment(args.env)
    if args.contact_sheet:
        models = contact_sheet(args.contact_sheet)
        print(f"{args.contact_sheet}: page 1 of {len(models)} models ({', '.join(models)})")
        return EXIT_OK
    if args.serve:
        server = make_server(args.host, args.port, environment=env)
        print(f"previews on http://{args.host}:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
        return EXIT_OK
    if not args.model:
        raise UsageError("give MODEL (or --serve / --contact-sheet)")
    fmt = args.output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise UsageError(f"{args.output}: the suffix must be one of .html, .pdf, .png")
    request = PreviewRequest(args.model, sample=args.sample, language=args.lang,
                             destination_language=args.dest_lang, environment=env)
    write_atomic(args.output, render_preview(request, fmt, page=args.page))
    print(f"{args.output}: preview of {args.model} ({env.value})")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from renderers.model import certificate_schema

    print(json.dumps(certificate_schema(), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_i18n_check(args: argparse.Namespace) -> int:
    from renderers.i18n import missing_translations, supported_languages

    failures = 0
    for lang in supported_languages():
        missing = missing_translations(lang)
        if missing:
            failures += 1
            shown = "; ".join(missing[:5]) + (f"; … {len(missing) - 5} more" if len(missing) > 5 else "")
            print(f"{lang}: {len(missing)} missing or fuzzy: {shown}", file=sys.stderr)
    print(f"{len(supported_languages())} catalogs, {failures} incomplete")
    return EXIT_FAILED if failures else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from service.api import serve

    serve(args.host, args.port)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from service.registry import RegistryError
    from service.store import StoreError
    from service.worker import run_worker

    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    try:
        return run_worker(concurrency=args.concurrency, loglevel=args.loglevel, hostname=args.hostname)
    except (StoreError, RegistryError) as exc:  # unreachable or unusable at start: say which, exit 1
        print(f"certseal worker: {exc}", file=sys.stderr)
        return EXIT_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo

    return EXIT_OK if run_demo(args.out, out=sys.stdout) else EXIT_FAILED


# --- entry point ----------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    from service.config import ConfigError
    from signer.audit import AuditLogError
    from signer.errors import SealingError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"certseal {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        print(f"certseal {args.command}: invalid input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ConfigError, SealingError, AuditLogError) as exc:
        print(f"certseal {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        name = f" {exc.filename}" if exc.filename else ""
        print(f"certseal {args.command}: cannot write or read{name}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
