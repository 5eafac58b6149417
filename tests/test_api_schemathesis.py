"""Property-based fuzzing of every operation in /openapi.json against the real server: whatever
the generated request, the answer is never a 5xx. The number of examples is bounded so the run
takes well under a minute; a previewer token is sent so /render is exercised past
authentication too.

Schemathesis builds the requests from the published schema (its Hypothesis strategies are
driven here directly, one operation after another, rather than through its pytest plugin)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from _api_server import bearer, start_server, world

EXAMPLES = 30


def _has_originals() -> bool:
    try:
        import service.originals  # noqa: F401
    except ImportError:
        return False
    return True


# Until the worker's issuing path (service/originals.py) is installed, /certificates and /health
# answer a deliberate, documented 503 ("issuing is not available in this installation").
# Once it is there, every 5xx fails.
TOLERATED = set() if _has_originals() else {503}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    yield from start_server(world(), tmp_path_factory.mktemp("api-fuzz"))


@pytest.fixture(scope="module")
def operations(live) -> list:
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_schema_lists_every_public_operation(operations: list) -> None:
    paths = {op.path for op in operations}
    assert {"/verify", "/render", "/issue", "/certificates/{reference}", "/health", "/metrics", "/"} <= paths


def test_no_operation_answers_5xx(operations: list, live) -> None:
    failures: list[str] = []
    for operation in operations:
        # Anonymous for /issue (a valid request would seal), a previewer token for the rest.
        headers = {} if operation.path == "/issue" else bearer("previewer-training")

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=live.url, headers=headers, timeout=120)
            if response.status_code >= 500 and response.status_code not in TOLERATED:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:300]}")

        check()
    assert not failures, "\n".join(failures)
