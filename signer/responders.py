"""An environment's CA services (OCSP, CRL, TSA) served over HTTP on loopback, for as long as
a `with LocalResponders(...)` block runs: in tests, `certseal demo`, and when a local PKI
issues or extends originals.

Loopback only, on a port fixed when the PKI was made (the URLs are inside the certificates).
The server binds 127.0.0.1 and nothing else; it is a convenience for a training PKI, not a
production service.

    POST /ocsp          application/ocsp-request   → application/ocsp-response
    GET  /ocsp/<b64>    (RFC 6960 appendix A GET form)
    GET  /crl           application/pkix-crl
    POST /tsa           application/timestamp-query → application/timestamp-reply
"""
from __future__ import annotations

import base64
import logging
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from signer.authority import CertificateAuthority, TimestampAuthority

LOOPBACK = "127.0.0.1"
MAX_REQUEST_BYTES = 64 << 10

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResponderUrls:
    """The URLs that go into certificates (AIA, CRL DP) and into the config (TSA)."""

    port: int

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ocsp(self) -> str:
        return f"{self.base}/ocsp"

    @property
    def crl(self) -> str:
        return f"{self.base}/crl"

    @property
    def tsa(self) -> str:
        return f"{self.base}/tsa"


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        if not 0 < length <= MAX_REQUEST_BYTES:
            return None
        return self.rfile.read(length)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = urllib.parse.urlsplit(self.path).path
        ca = self.server.ca
        if path == "/crl":
            self._reply(200, "application/pkix-crl", ca.crl())
        elif path.startswith("/ocsp/"):
            try:
                request = base64.b64decode(urllib.parse.unquote(path[len("/ocsp/"):]), validate=False)
            except ValueError:
                request = b""
            self._reply(200, "application/ocsp-response", ca.ocsp_response(request))
        else:
            self._reply(404, "text/plain", b"not found\n")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        if body is None:
            self._reply(400, "text/plain", b"bad request\n")
            return
        if path == "/ocsp":
            self._reply(200, "application/ocsp-response", self.server.ca.ocsp_response(body))
        elif path == "/tsa" and self.server.tsa is not None:
            self._reply(200, "application/timestamp-reply", self.server.tsa.respond(body))
        else:
            self._reply(404, "text/plain", b"not found\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, ca: CertificateAuthority, tsa: TimestampAuthority | None):
        self.ca = ca
        self.tsa = tsa
        super().__init__((LOOPBACK, port), _Handler)


class LocalResponders:
    """OCSP + CRL (+ TSA) of one CA on 127.0.0.1:`port` while the context is open.

    Port 0 picks a free port (see `urls` once started), for tests that build their own PKI.
    """

    def __init__(self, ca: CertificateAuthority, tsa: TimestampAuthority | None = None, *, port: int = 0):
        self.ca = ca
        self.tsa = tsa
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def urls(self) -> ResponderUrls:
        if self._server is None:
            raise RuntimeError("the responders are not running")
        return ResponderUrls(self._server.server_address[1])

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "LocalResponders":
        if self._server is not None:
            return self
        try:
            self._server = _Server(self._port, self.ca, self.tsa)
        except OSError as e:
            raise OSError(e.errno, f"cannot serve the local CA on {LOOPBACK}:{self._port}: {e.strerror}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"certseal-responders-{self.urls.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "LocalResponders":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def free_loopback_port() -> int:
    """A port that is free on 127.0.0.1 right now (for a PKI whose URLs are fixed at creation)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]
