"""The `certseal.preview` task's work: rendered, never sealed, always a training document, stored.

The training environment is forced whatever the input says, so every preview carries the
NO LEGAL VALUE watermark; previews go to their own area of the store and are never
registered, so none can ever be taken for an original.
"""
from __future__ import annotations

from renderers.environment import Environment
from service.issue_input import parse_preview_options, read_certificate
from service.services import Services


def preview_certificate(certificate: dict | bytes, options: dict | None, *, services: Services) -> str:
    """Render `certificate` as a training document; returns the stored PDF's URI."""
    from renderers.render import render_certificate

    opts = parse_preview_options(options)
    cert = read_certificate(certificate, environment=Environment.TRAINING, language=opts.language,
                            destination_language=opts.destination_language)
    base = services.config.environment(Environment.TRAINING).verification_url
    rendered = render_certificate(cert, verification_base=base)
    store = services.previews
    return store.promote(store.put_pending(rendered.data))
