"""The HTTP API and the verification page (`certseal serve`).

Routes, and who may call them:

    GET  /                          verification page           open (token-protected by config)
    POST /verify                    upload → verify report      open (token-protected by config)
    GET  /certificates/{reference}  registry status (QR target)  open (token-protected by config)
    POST /render                    certificate → PDF / PNG     bearer token, role previewer or issuer
    POST /issue                     certificate → sealed PDF    bearer token, role issuer
    GET  /health, GET /metrics      operations                  open
    GET  /openapi.json              the API description         open

Tokens come from configuration (`service.api_config`), each bound to one environment and one
role; the environment of the certificate must be the token's, so a training token can never
obtain a production seal. The order is fixed: authenticate (401), authorise the role (403),
parse the input (4xx), authorise the environment (403) — and only then render or seal.
"""
from __future__ import annotations

import base64
import logging
import os
import socket
import threading
import time
from os import PathLike
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from renderers.environment import Environment
from renderers.errors import InputError
from service.api_certificates import CertificateInput, parse_certificate_body, status_document
from service.api_config import ApiConfig, ApiToken, Role, load_api_config
from service.api_metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics
from service.api_page import certificate_page, choose_language, verify_page, web_dir
from service.api_upload import media_type, read_limited_body, read_pdf_upload
from service.api_verify import Verifier
from service.config import Config, ConfigError, load_config
from service.trust import trust_store
from service.verify_limits import load_verify_limits
from signer.report import headline
from signer.trust import TrustStore

log = logging.getLogger("certseal.api")

# Nothing the page needs comes from elsewhere; the thumbnail is a data: URL.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

_bearer = HTTPBearer(auto_error=False, description="API token from the configured tokens file")


# --- state ------------------------------------------------------------------------------------

class TrustSource:
    """The configured trust roots, reloaded when config.toml changes (e.g. `certseal pki init`
    or the worker's first training PKI registered a new root), so a long-running server never
    verifies against stale roots."""

    def __init__(self, config: Config, environ: Mapping[str, str]) -> None:
        self._home = config.home
        self._environ = environ
        self._lock = threading.Lock()
        self._stamp = _stamp(config.config_file)
        self._trust = trust_store(config)

    def __call__(self) -> TrustStore:
        with self._lock:
            stamp = _stamp(self._home / "config.toml")
            if stamp != self._stamp:
                try:
                    self._trust = trust_store(load_config(self._environ, home=self._home))
                    self._stamp = stamp
                except ConfigError as exc:  # keep the last good roots; say why
                    log.warning("trust roots not reloaded: %s", exc)
            return self._trust


def _stamp(path: PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


@dataclass
class ApiState:
    config: Config
    api: ApiConfig
    verifier: Verifier
    metrics: Metrics
    environ: Mapping[str, str]
    _services: Any = field(default=None, repr=False)

    def services(self) -> Any:
        """The worker's issuing services (store + registry), opened on first use.

        Opened lazily so that a verification-only deployment (no store, no registry) starts
        and serves the page; the endpoints that need them answer 503 with the reason."""
        if self._services is None:
            try:
                from service.originals import open_services
            except ImportError:
                raise HTTPException(503, "issuing is not available in this installation") from None
            try:
                self._services = open_services(self.config, environ=self.environ)
            except Exception as exc:  # a missing or unreachable store / registry, a bad URL
                log.warning("cannot open store / registry: %s", exc)
                raise HTTPException(503, f"store or registry unavailable: {_short(exc)}") from None
        return self._services

    def close(self) -> None:
        self.verifier.close()
        closer = getattr(self._services, "close", None)
        if callable(closer):
            closer()


def _state(request: Request) -> ApiState:
    return request.app.state.certseal


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]


# --- who may do what --------------------------------------------------------------------------

def _refuse(state: ApiState, status: int, detail: str) -> HTTPException:
    state.metrics.auth_refusals.labels(str(status)).inc()
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, detail, headers=headers)


def authenticate(state: ApiState, credentials: HTTPAuthorizationCredentials | None) -> ApiToken:
    if not state.api.tokens:
        raise _refuse(state, 401, "this endpoint is disabled on this server: no API tokens are configured")
    if credentials is None or not credentials.credentials:
        raise _refuse(state, 401, "a bearer token is required")
    token = state.api.find_token(credentials.credentials)
    if token is None:
        raise _refuse(state, 401, "the bearer token is not valid")
    return token


def authorise_role(state: ApiState, token: ApiToken, role: Role) -> None:
    if not token.may(role):
        raise _refuse(state, 403, f"token {token.name!r} ({token.role.value}) may not do this; it needs the {role.value} role")


def authorise_environment(state: ApiState, token: ApiToken, env: Environment) -> None:
    if token.environment is not env:
        log.warning("refused: token %r of %s asked for a %s certificate", token.name, token.environment.value, env.value)
        raise _refuse(state, 403, f"token {token.name!r} is bound to the {token.environment.value} environment; "
                                  f"this certificate is a {env.value} certificate")


def open_endpoint_guard(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """/verify and /certificates: open to border staff unless configuration requires a token."""
    state = _state(request)
    if state.api.verify_requires_token:
        authenticate(state, credentials)


# --- OpenAPI descriptions of bodies the handlers read themselves --------------------------------

_PDF_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary", "description": "the PDF to verify"}},
            }},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


def _certificate_body() -> dict[str, Any]:
    from renderers.model import certificate_schema

    schema = {k: v for k, v in certificate_schema().items() if k not in ("$schema", "$id")}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema},
        "application/xml": {"schema": {"type": "string", "description": "UN/CEFACT SPS XML (SPSCertificate)"}},
    }}}


_REPORT_EXAMPLE = {
    "verdict": "VALID", "reasons": [], "file_sha256": "…", "reference": "CHEDPP.BE.2026.0001234",
    "environment": {"signer": "production", "metadata": "production", "watermark": None, "consistent": True},
    "signatures": [], "embedded_data": {"present": True, "matches_visible": True},
}


def _responses(*codes: int, ok: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    words = {400: "malformed request", 401: "no or invalid bearer token", 403: "token lacks the role or environment",
             404: "not found", 413: "upload larger than the configured limit", 415: "unsupported content type",
             422: "invalid certificate input (names the field)", 503: "a needed service or key is unavailable",
             409: "conflicts with the original already registered for this reference and version"}
    out: dict[int | str, dict[str, Any]] = {c: {"description": words[c]} for c in codes}
    if ok:
        out[200] = ok
    return out


# --- the app ----------------------------------------------------------------------------------

def create_app(config: Config | None = None, *, environ: Mapping[str, str] = os.environ) -> FastAPI:
    """Build the app. Configuration errors surface here, before the server accepts a request."""
    config = config or load_config(environ)
    api_cfg = load_api_config(config, environ)
    state = ApiState(
        config=config, api=api_cfg, environ=environ, metrics=Metrics(),
        verifier=Verifier(TrustSource(config, environ), timeout_seconds=api_cfg.verify_timeout_seconds,
                          limits=load_verify_limits(config, environ)),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        title="certseal", version="1", lifespan=lifespan,
        description="Verify received certificate PDFs; render and issue sealed originals (authenticated). "
                    "Verdicts as `certseal verify`: VALID, INVALID, INDETERMINATE, NO_LEGAL_VALUE.",
        docs_url=None, redoc_url=None,  # the Swagger UI would load scripts from a CDN
    )
    app.state.certseal = state
    app.mount("/static", StaticFiles(directory=str(web_dir() / "static")), name="static")
    app.middleware("http")(_observe)
    _routes(app)
    return app


async def _observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Count every request by route template, and add the security headers to every answer."""
    state: ApiState = request.app.state.certseal
    try:
        response = await call_next(request)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = JSONResponse({"detail": "internal error"}, status_code=500)
    route = request.scope.get("route")
    template = getattr(route, "path", None) or ("/static" if request.url.path.startswith("/static/") else "other")
    state.metrics.requests.labels(request.method, template, str(response.status_code)).inc()
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.headers.get("content-type", "").startswith("text/html"):
        response.headers.setdefault("Content-Security-Policy", CSP)
    return response


def _routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, summary="The verification page for border staff")
    def page(request: Request, lang: str | None = Query(None, max_length=16, description="page language")) -> HTMLResponse:
        state = _state(request)
        chosen = choose_language(lang, request.headers.get("accept-language"))
        html = verify_page(chosen, token_required=state.api.verify_requires_token,
                           max_upload_bytes=state.api.max_upload_bytes)
        return HTMLResponse(html, headers={"Content-Language": chosen, "Vary": "Accept-Language"})

    @app.post("/verify", summary="Verify a received PDF", openapi_extra=_PDF_BODY,
              responses=_responses(400, 401, 413, 415, 422, ok={
                  "description": "the verify report (same verdicts as `certseal verify --json`)",
                  "content": {"application/json": {"example": _REPORT_EXAMPLE}}}),
              dependencies=[Depends(open_endpoint_guard)])
    async def verify(request: Request,
                     thumbnail: bool = Query(False, description="add a PNG data URL of page 1 as sealed")) -> JSONResponse:
        state = _state(request)
        upload = await read_pdf_upload(request, state.api.max_upload_bytes)
        done = await state.verifier.verify(upload.data, thumbnail=thumbnail)
        report = done.report
        state.metrics.verify_seconds.observe(done.seconds)
        body = report.to_dict()
        # Additions to the stable keys: the page words its headline from the finding kind.
        body["headline"] = headline(report)
        body["findings"] = [{"kind": f.kind.name, "verdict": f.verdict.value, "message": f.message}
                            for f in report.findings]
        body = await run_in_threadpool(_with_registry, state, body)
        state.metrics.verdicts.labels(body["verdict"]).inc()
        if thumbnail:
            body["thumbnail"] = ("data:image/png;base64," + base64.b64encode(done.thumbnail_png).decode()
                                 if done.thumbnail_png else None)
        return JSONResponse(body, headers={"X-Certseal-Verdict": body["verdict"], "Cache-Control": "no-store"})

    @app.post("/render", summary="Render a certificate (unsealed preview)", openapi_extra=_certificate_body(),
              responses=_responses(400, 401, 403, 413, 415, 422, ok={
                  "description": "the rendered certificate",
                  "content": {"application/pdf": {}, "image/png": {}}}),
              response_class=Response)
    async def render(request: Request,
                     format: Literal["pdf", "png"] = Query("pdf", description="pdf, or png of page 1"),
                     credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Response:
        state = _state(request)
        token = authenticate(state, credentials)
        authorise_role(state, token, Role.PREVIEWER)
        given = await _certificate(request, state)
        authorise_environment(state, token, given.certificate.environment)
        base = state.config.environment(given.certificate.environment).verification_url
        started = time.perf_counter()
        try:
            data = await run_in_threadpool(_render, given, base, format)
        except InputError as exc:
            raise HTTPException(422, {"field": exc.field, "message": exc.message}) from None
        state.metrics.render_seconds.observe(time.perf_counter() - started)
        kind = "application/pdf" if format == "pdf" else "image/png"
        name = f"{given.certificate.reference}-preview.{format}"
        return Response(data, media_type=kind, headers={"Content-Disposition": f'inline; filename="{name}"'})

    @app.post("/issue", summary="Issue the sealed original of a certificate (idempotent)",
              openapi_extra=_certificate_body(), response_class=Response,
              responses=_responses(400, 401, 403, 409, 413, 415, 422, 503, ok={
                  "description": "the sealed original that is registered for this reference and version",
                  "content": {"application/pdf": {}}}))
    async def issue(request: Request,
                    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = Query(
                        None, description="PAdES baseline level (default: the environment's configured level)"),
                    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Response:
        state = _state(request)
        token = authenticate(state, credentials)
        authorise_role(state, token, Role.ISSUER)
        given = await _certificate(request, state)
        authorise_environment(state, token, given.certificate.environment)
        services = state.services()
        started = time.perf_counter()
        options = {"level": level} if level else {}
        record, pdf = await run_in_threadpool(_issue, given, options, services)
        state.metrics.sign_seconds.observe(time.perf_counter() - started)
        log.info("issued %s v%s (%s) for token %r: %s", record.reference, record.version,
                 given.certificate.environment.value, token.name, "new" if record.created else "existing")
        return Response(pdf, status_code=201 if record.created else 200, media_type="application/pdf", headers={
            "X-Certseal-Reference": record.reference, "X-Certseal-Version": str(record.version),
            "X-Certseal-Sha256": record.sha256, "X-Certseal-Created": "true" if record.created else "false",
            "Content-Disposition": f'attachment; filename="{record.reference}-v{record.version}.pdf"',
        })

    @app.get("/certificates/{reference}", summary="Status of a reference: issued, replaced or cancelled",
             responses=_responses(401, 404, 503, ok={"description": "status and versions (HTML for browsers)",
                                                     "content": {"application/json": {}, "text/html": {}}}),
             dependencies=[Depends(open_endpoint_guard)], response_class=Response)
    async def certificate_status(request: Request,
                                 reference: str = Path(..., max_length=128),
                                 format: Literal["html", "json"] | None = Query(None),
                                 lang: str | None = Query(None, max_length=16)) -> Response:
        state = _state(request)
        registry = state.services().registry
        try:
            entries = await run_in_threadpool(registry.versions, reference)
        except Exception as exc:
            raise HTTPException(503, f"registry unavailable: {_short(exc)}") from None
        document = status_document(reference, entries)
        code = 200 if document["found"] else 404
        if _wants_json(request, format):
            return JSONResponse(document, status_code=code)
        chosen = choose_language(lang, request.headers.get("accept-language"))
        return HTMLResponse(certificate_page(chosen, document), status_code=code,
                            headers={"Content-Language": chosen, "Vary": "Accept, Accept-Language"})

    @app.get("/health", summary="Reachability of broker, store, registry and seal keys",
             responses={503: {"description": "a configured component is unreachable"}})
    async def health(request: Request) -> JSONResponse:
        checks = await run_in_threadpool(_health_checks, _state(request))
        failed = any(c["status"] == "error" for c in checks.values())
        return JSONResponse({"status": "degraded" if failed else "ok", "checks": checks},
                            status_code=503 if failed else 200, headers={"Cache-Control": "no-store"})

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
    def metrics(request: Request) -> Response:
        return Response(_state(request).metrics.exposition(), media_type=METRICS_CONTENT_TYPE)


# --- handlers' helpers --------------------------------------------------------------------------

async def _certificate(request: Request, state: ApiState) -> CertificateInput:
    raw = await read_limited_body(request, state.api.max_upload_bytes)
    return parse_certificate_body(raw, media_type(request))


def _render(given: CertificateInput, verification_base: str, fmt: str) -> bytes:
    from renderers.render import render_certificate, render_png

    rendered = render_certificate(given.certificate, verification_base=verification_base)
    return rendered.data if fmt == "pdf" else render_png(rendered)


def _issue(given: CertificateInput, options: dict[str, Any], services: Any) -> tuple[Any, bytes]:
    """The worker task's code path: idempotent on (reference, version), stored, registered."""
    from service.originals import issue_original
    from signer.errors import SealingError

    try:
        record = issue_original(given.payload, options, services=services)
        return record, services.store.get(record.sha256)
    except InputError as exc:
        raise HTTPException(422, {"field": exc.field, "message": exc.message}) from None
    except ConfigError as exc:  # e.g. no seal key configured for this environment
        raise HTTPException(503, _short(exc)) from None
    except SealingError as exc:
        raise HTTPException(503, f"sealing refused: {_short(exc)}") from None
    except Exception as exc:
        from service.registry import RegistryError
        from service.store import StoreError

        if isinstance(exc, RegistryError) and not exc.transient:
            raise HTTPException(409, _short(exc)) from None
        if isinstance(exc, (RegistryError, StoreError)):
            raise HTTPException(503, f"store or registry unavailable: {_short(exc)}") from None
        raise


def _with_registry(state: ApiState, body: dict[str, Any]) -> dict[str, Any]:
    """As the worker's verify task: a registered original that was since replaced or cancelled
    is INVALID however intact its seal. A file the registry does not know keeps the command
    line's verdict; without a reachable registry the report says so and keeps it too."""
    from service.lifecycle import with_registry_status

    try:
        registry = state.services().registry
        checked = with_registry_status(body, registry)
    except Exception as exc:  # HTTPException from services(), a registry fault: never a 500
        return {**body, "registry": {"found": False, "available": False, "detail": _short(getattr(exc, "detail", exc))}}
    added = checked["reasons"][len(body["reasons"]):]
    status = checked["registry"].get("status")
    checked["findings"] = [*body["findings"], *({"kind": str(status).upper(), "verdict": checked["verdict"],
                                                "message": reason} for reason in added)]
    if added:
        checked["headline"] = f"NOT VALID — this certificate was {status}"
    return checked


def _wants_json(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _health_checks(state: ApiState) -> dict[str, dict[str, str]]:
    checks = {"broker": _check_broker(state.config.broker_url)}
    try:
        services = state.services()
    except HTTPException as exc:
        checks["store"] = checks["registry"] = {"status": "error", "detail": str(exc.detail)}
    else:
        checks["store"] = _probe(lambda: services.store.exists("0" * 64))
        checks["registry"] = _probe(lambda: services.registry.versions("certseal-health-check"))
    from service.issuing import seal_key_for

    for env in Environment:
        if state.config.environment(env).key:
            checks[f"key_{env.value}"] = _probe(lambda env=env: seal_key_for(state.config, env))
        else:
            checks[f"key_{env.value}"] = {"status": "not configured"}
    return checks


def _probe(action: Callable[[], object]) -> dict[str, str]:
    try:
        action()
    except Exception as exc:  # reported, never raised: /health must answer
        return {"status": "error", "detail": _short(exc)}
    return {"status": "ok"}


def _check_broker(url: str) -> dict[str, str]:
    """A TCP connect with a short timeout: enough to tell a stopped or unreachable broker."""
    parts = urlsplit(url)
    port = parts.port or {"redis": 6379, "rediss": 6380, "amqp": 5672, "amqps": 5671}.get(parts.scheme)
    if not parts.hostname or port is None:
        return {"status": "error", "detail": f"cannot tell host and port of the broker URL (scheme {parts.scheme!r})"}
    try:
        with socket.create_connection((parts.hostname, port), timeout=1.0):
            pass
    except OSError as exc:
        return {"status": "error", "detail": f"{parts.hostname}:{port}: {exc.strerror or exc}"}
    return {"status": "ok"}


# --- running it -----------------------------------------------------------------------------------

def serve(host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> None:
    import uvicorn

    app = create_app()
    # The access log shows method, path and status, never headers: tokens are not logged.
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)
