"""`make bench`: per-stage and end-to-end timings of certseal's pipeline, a naive baseline on
the same inputs, and the throughput of the real Celery worker.

Run as `python -m bench` (see `python -m bench --help`). Nothing here is imported by
certseal itself; it drives the public stage functions the way the issuing path does.
"""
