"""Certificate name values prepared once per process (signer._name_prep): the same prepared
values, hashes and equality as asn1crypto's own preparation, for every string type."""
from __future__ import annotations

import pytest
from asn1crypto import x509

import signer._name_prep as name_prep

_NAMES = [
    {"common_name": "certseal training seal", "country_name": "BE", "organization_name": "FASFC"},
    {"common_name": "  Ünïcödé   Ńame  ", "organizational_unit_name": "Border Control Post"},
    {"common_name": "e\u0301te\u0301", "locality_name": "ÉTÉ"},  # combining accents vs composed
    {"common_name": "\u4e2d\u6587\u540d\u79f0", "email_address": "seal@example.org"},
    {"common_name": "ﬁnance\u00a0office", "serial_number": "0042"},  # compatibility forms, NBSP
]


def _fresh(name: x509.Name) -> x509.Name:
    return x509.Name.load(name.dump())  # a new parse: no preparation cached on the objects


def _prepared_by_asn1crypto(name: x509.Name) -> list[str]:
    return [name_prep._prepare(ntv) for rdn in _fresh(name).chosen for ntv in rdn]


@pytest.mark.parametrize("fields, printable", [(fields, False) for fields in _NAMES] + [(_NAMES[0], True)])
def test_prepared_values_are_asn1crypto_s(fields, printable):
    assert name_prep.ACTIVE, name_prep.source_sha256()
    name = x509.Name.build(fields, use_printable=printable)
    expected = _prepared_by_asn1crypto(name)
    for _ in range(2):  # first from asn1crypto, then from the process-wide memory
        fresh = _fresh(name)
        assert [ntv.prepped_value for rdn in fresh.chosen for ntv in rdn] == expected
    assert _fresh(name).hashable == _fresh(name).hashable
    assert _fresh(name) == _fresh(name)


def test_the_same_text_in_another_string_type_is_prepared_on_its_own():
    utf8 = x509.Name.build({"common_name": "Seal 1"}, use_printable=False)
    printable = x509.Name.build({"common_name": "Seal 1"}, use_printable=True)
    assert utf8.dump() != printable.dump()
    assert _fresh(utf8) == _fresh(printable)  # RFC 5280 comparison ignores the string type
    assert _fresh(utf8).hashable == _fresh(printable).hashable


def test_different_names_stay_different():
    a = x509.Name.build({"common_name": "seal A"})
    b = x509.Name.build({"common_name": "seal B"})
    _fresh(a).hashable, _fresh(b).hashable
    assert _fresh(a) != _fresh(b) and _fresh(a).hashable != _fresh(b).hashable


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(name_prep, "MAX_ENTRIES", 3)
    monkeypatch.setattr(name_prep, "_prepared", {})
    for i in range(10):
        name = _fresh(x509.Name.build({"common_name": f"seal {i}"}))
        assert name.chosen[0][0].prepped_value == name_prep._prepare(_fresh(name).chosen[0][0])
        assert len(name_prep._prepared) <= 3
