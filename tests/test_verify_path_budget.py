"""The change analysis maps at most `max_paths` paths per signed revision
(signer._reverse_xref.MAX_PATHS, `[verify] max_paths`): a file whose objects share children
(2^n paths for n layers) is INVALID at once, saying why, instead of running into the sandbox's
limits; certseal's own originals stay far below the budget."""
from __future__ import annotations

import resource
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from _pki_helpers import certseal_original, certseal_original_at_level, pkis, service_pki  # noqa: F401
from renderers.environment import Environment
from service.sandbox import Limits, verify_untrusted
from signer import _reverse_xref as rx
from signer.report import Verdict
from signer.verify import MAX_PATHS, verify_pdf
from test_worker_verify_sandbox import path_explosion

PROD = Environment.PRODUCTION


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _unanalysable(report) -> list[str]:
    return [r for r in report.reasons if "could not be analysed" in r and "paths reach the objects" in r]


def test_a_path_explosion_is_invalid_at_once(pkis):
    hostile = path_explosion(certseal_original(env=Environment.TRAINING), layers=23)  # 2^23 paths
    start = _cpu()
    report = verify_pdf(hostile, pkis.trust)
    spent = _cpu() - start
    assert report.verdict is Verdict.INVALID
    assert _unanalysable(report) == [
        "changed after signing: what was added after the approval signature could not be analysed "
        f"(more than {MAX_PATHS:,} paths reach the objects of the signed revision, too many to map)"]
    # Mapping all 2^23 paths took 26 s of CPU on the machine this was written on; stopping at
    # the budget takes well under one. A loose bound: this only has to tell the two apart.
    assert spent < 10, f"{spent:.1f} s of CPU"


def test_the_budget_comes_from_the_verify_limits(pkis):
    hostile = path_explosion(certseal_original(env=Environment.TRAINING), layers=12)  # 4,096 paths
    assert not _unanalysable(verify_untrusted(hostile, pkis.trust))
    tight = verify_untrusted(hostile, pkis.trust, limits=Limits(max_paths=1_000))
    assert tight.verdict is Verdict.INVALID
    assert any("more than 1,000 paths" in r for r in _unanalysable(tight)), tight.reasons


@pytest.mark.parametrize("model", ["CHED-PP", "CHED-P", "INTRA"])
def test_certseal_originals_are_far_below_the_budget(model):
    data = certseal_original(model, PROD)
    resolver = PdfFileReader(BytesIO(data), strict=False).get_historical_resolver(0)
    rx._load_reverse_xref_cache(resolver)
    paths = sum(len(resolver._get_usages_of_ref(ref)) for ref in resolver._indirect_object_access_cache)
    assert 0 < paths < MAX_PATHS // 40
    with rx.paths_budget(paths - 1):  # one fewer than it needs: refused, as a budget should
        with pytest.raises(rx.TooManyPaths):
            rx._load_reverse_xref_cache(PdfFileReader(BytesIO(data), strict=False).get_historical_resolver(0))


def test_a_b_lta_original_stays_valid_under_the_budget(service_pki):
    # Its change analysis maps two revisions (the seal's and the document timestamp's).
    data = certseal_original_at_level("B-LTA", env=Environment.TRAINING)
    report = verify_pdf(data, service_pki.trust, max_paths=MAX_PATHS)
    assert report.verdict is Verdict.NO_LEGAL_VALUE, report.reasons  # training: valid, no legal value
