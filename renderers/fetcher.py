"""The only way WeasyPrint may load anything: packaged assets under `templates/`.

Certificate values are escaped text, so no URL from input should ever reach WeasyPrint; this
fetcher makes sure that even if one did (a template bug), nothing is read from the file
system, the network or a data: URL. Everything except `certseal://assets/<path>` is refused
and recorded.
"""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

from weasyprint import URLFetcher
from weasyprint.urls import URLFetcherResponse

from renderers.resources import templates_dir

ASSET_SCHEME = "certseal"
ASSET_HOST = "assets"
ASSET_BASE = f"{ASSET_SCHEME}://{ASSET_HOST}/"

# What a template may reference; model files, samples and templates are not assets.
_MIME_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


class RefusedURL(ValueError):
    pass


class AssetFetcher(URLFetcher):
    """Serves `certseal://assets/<path below templates/>`; refuses everything else.

    `strict=True` makes a refusal stop the rendering (WeasyPrint's FatalURLFetchingError)
    instead of WeasyPrint logging it and leaving the resource out: an official document must
    not come out silently incomplete.
    """

    def __init__(self, *, strict: bool = True) -> None:
        super().__init__(timeout=1, allowed_protocols=(ASSET_SCHEME,), allow_redirects=False,
                         fail_on_errors=strict)
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != ASSET_SCHEME or parts.netloc != ASSET_HOST or parts.query:
            self._refuse(url, "only packaged assets may be loaded")
        root = templates_dir().resolve()
        path = (root / unquote(parts.path).lstrip("/")).resolve()
        if not path.is_relative_to(root) or path.suffix not in _MIME_TYPES or not path.is_file():
            self._refuse(url, "no such packaged asset")
        self.served.append(url)
        return URLFetcherResponse(url, body=path.read_bytes(),
                                  headers={"Content-Type": _MIME_TYPES[path.suffix]})

    def _refuse(self, url: str, reason: str) -> None:
        self.refused.append(url)
        # Never echo more than a prefix of a possibly hostile URL into logs.
        raise RefusedURL(f"{reason}: {url[:80]!r}")
