"""Prometheus metrics of one API process: requests, verdicts, and operation latencies.

Each app gets its own CollectorRegistry, so several apps in one process (tests) never share
or double-register counters. Labels use the route template (`/certificates/{reference}`),
never the raw path, so a caller cannot blow up the number of series.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Verification of a multi-page original takes a second or two; rendering and sealing longer.
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("certseal_http_requests", "HTTP requests handled",
                                ("method", "route", "status"), registry=self.registry)
        self.verdicts = Counter("certseal_verify_verdicts", "Verification verdicts returned",
                                ("verdict",), registry=self.registry)
        self.render_seconds = Histogram("certseal_render_seconds", "Time to render a certificate",
                                        buckets=_BUCKETS, registry=self.registry)
        self.sign_seconds = Histogram("certseal_sign_seconds", "Time to issue a sealed original "
                                      "(render, seal, store, register)", buckets=_BUCKETS, registry=self.registry)
        self.verify_seconds = Histogram("certseal_verify_seconds", "Time to verify an uploaded PDF",
                                        buckets=_BUCKETS, registry=self.registry)
        self.auth_refusals = Counter("certseal_auth_refusals", "Requests refused for want of a valid token",
                                     ("status",), registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
