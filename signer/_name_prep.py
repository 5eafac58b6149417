"""Certificate name values prepared for comparison once per process, not once per parse.

Every verification parses the certificates anew (the CMS signed data, the timestamp token,
the DSS, the trust roots), and pyhanko-certvalidator indexes and matches them by name:
`Name.hashable` and `Name.__eq__` compare attribute values after RFC 4518 string preparation
(asn1crypto `NameTypeAndValue.prepped_value`: Unicode normalisation, case folding, space
handling, through `stringprep`'s tables, character by character). asn1crypto caches the result
on the parsed object only, so a B-LTA verification prepared the same few dozen names again on
every run (`_ldap_string_prep`, about 4 % of its CPU in py-spy).

The prepared value is a function of the attribute's encoding alone (the DER of its type and of
its value: string type and bytes), so it is kept here per encoding, process-wide and bounded; asn1crypto's own code
prepares what is not known yet. Installed at import, checked against the asn1crypto source it
was written for (`ACTIVE`).
"""
from __future__ import annotations

from asn1crypto import x509

from renderers.scoped_patch import source_sha256 as _source_sha256

# sha256 of inspect.getsource(NameTypeAndValue.prepped_value.fget), asn1crypto 1.5.1.
CHECKED_SOURCE_SHA256 = "55882da377ef198f70edc55553f54a603d92775e263b915d6d83672b700d8cb4"
MAX_ENTRIES = 4096
_prepare = x509.NameTypeAndValue.prepped_value.fget
_prepared: dict[tuple[bytes, bytes], str] = {}


def source_sha256() -> str:
    return _source_sha256(_prepare)


def prepped_value(self) -> str:
    if self._prepped is None:
        # The attribute type is in the key too: it chooses how asn1crypto decodes the value.
        encoded = (self["type"].dump(), self["value"].dump())
        prepared = _prepared.get(encoded)
        if prepared is None:
            prepared = _prepare(self)
            if len(_prepared) >= MAX_ENTRIES:
                _prepared.clear()
            _prepared[encoded] = prepared
        self._prepped = prepared
    return self._prepped


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    x509.NameTypeAndValue.prepped_value = property(prepped_value)
