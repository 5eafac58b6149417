"""The `certseal` command line. Exit codes: 0 done, 1 failed, 2 bad input, 64 usage error;
`verify` exits with its verdict's code (0 VALID, 1 INVALID, 2 INDETERMINATE, 3 NO_LEGAL_VALUE)."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from renderers.environment import Environment
from renderers.errors import InputError

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
                       "changes allowed) using the seal key of the certificate's environment.")
    p.add_argument("input", type=Path, metavar="INPUT")
    p.add_argument("-o", "--output", type=Path, required=True, help="the sealed original (.pdf)")
    _add_render_options(p)
    _add_key_options(p)
    p.set_defaults(func=cmd_issue)

    p = sub.add_parser("sign", help="seal an existing certseal PDF",
                       description="Seal IN.pdf (rendered by certseal). The environment is read from the PDF's "
                       "metadata unless --env is given; it must match the key's environment.")
    p.add_argument("input", type=Path, metavar="IN.pdf")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pdf")
    p.add_argument("--env", choices=[e.value for e in Environment], help="environment of the document")
    _add_key_options(p)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify", help="verify a received certificate PDF",
                       description="Exit 0 VALID, 1 INVALID, 2 INDETERMINATE, 3 NO_LEGAL_VALUE (training / "
                       "acceptance), 64 usage error.")
    p.add_argument("file", type=Path, metavar="FILE.pdf")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--trust", action="append", default=[], metavar="[ENV=]PEM|DIR",
                   help="trust root(s) instead of the configured ones; without ENV= they count for "
                   "--expect-env (default production). Repeatable.")
    p.add_argument("--expect-env", choices=[e.value for e in Environment], help="environment the document should come from")
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
    q.set_defaults(func=cmd_pki_init)

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
    p.add_argument("--key", metavar="pkcs12:PATH", help="seal key (default: the environment's configured key); "
                   "its passphrase comes from CERTSEAL_<ENV>_KEY_PASSPHRASE(_FILE) or the config")
    p.add_argument("--level", choices=LEVELS, default="B-B", help="PAdES baseline level (default B-B)")


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
    from service.config import load_config
    from service.files import write_atomic
    from service.inputs import read_certificate_file
    from service.issuing import issue, seal_key_for

    cert = read_certificate_file(args.input, language=args.lang, destination_language=args.dest_lang, environment=args.env)
    config = load_config()
    key = seal_key_for(config, cert.environment, args.key)
    original = issue(cert, key, config.environment(cert.environment), level=args.level)
    write_atomic(args.output, original.pdf)
    print(f"{args.output}: sealed original of {cert.reference} ({cert.environment.value}, PAdES {original.level}, "
          f"{original.page_count} page{'s' if original.page_count != 1 else ''})")
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    from service.config import load_config
    from service.files import write_atomic
    from service.issuing import seal_key_for
    from signer.metadata import DocumentReadError, read_document_metadata
    from signer.pades import seal_pdf

    try:
        unsigned = args.input.read_bytes()
    except OSError as exc:
        raise InputError(str(args.input), f"cannot read: {exc.strerror}") from None
    try:
        meta = read_document_metadata(unsigned)
    except DocumentReadError as exc:
        raise InputError(str(args.input), f"not a readable PDF: {exc}") from None
    env_value = args.env or meta.environment
    if not env_value:
        raise InputError(str(args.input), "the PDF names no certseal environment in its metadata; give --env")
    env = Environment.parse(env_value, field="--env")
    config = load_config()
    key = seal_key_for(config, env, args.key)
    sealed = seal_pdf(unsigned, key, environment=env, reference=meta.reference or args.input.stem, level=args.level)
    write_atomic(args.output, sealed)
    print(f"{args.output}: sealed ({env.value}, PAdES {args.level})")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from service.config import load_config
    from service.trust import trust_store
    from signer.report import render_text
    from signer.trust import TrustStore, load_trust_roots
    from signer.verify import verify_pdf

    expect = Environment(args.expect_env) if args.expect_env else None
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
        trust = trust_store(load_config())
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    report = verify_pdf(data, trust, expect_env=expect)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return report.verdict.exit_code


def cmd_pki_init(args: argparse.Namespace) -> int:
    from service.config import load_config
    from service.pki import init_pki

    env = Environment(args.env)
    files = init_pki(load_config(), env, directory=args.dir, force=args.force)
    print(f"{env.value} PKI in {files.directory}: root {files.root_cert.name}, seal key {files.seal_p12.name}; "
          f"registered in {load_config().config_file}")
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


def cmd_demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo

    return EXIT_OK if run_demo(args.out, out=sys.stdout) else EXIT_FAILED


# --- entry point ----------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    from service.config import ConfigError
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
    except (ConfigError, SealingError) as exc:
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
