"""asn1crypto's `Asn1Value.dump` encoding a changed value's contents once per call, not three times.

`dump` reads `self.contents` once for the value, again for its header and again for each
explicit tag; on a constructed value built or changed in Python (everything pyHanko assembles
for a signature: signed attributes, SignerInfo, SignedData), every read re-encodes the whole
subtree, since asn1crypto never clears its "mutated" flag. Each child's dump does the same, so
the work grows about threefold per level of nesting: one B-B seal re-encoded its single
SigningCertificateV2's DigestAlgorithm 682 times, GeneralNames 660 times, and
`perform_signature` was half of the seal's CPU.

This `dump` reads `self.contents` once and uses that value where the original read it again.
The bytes are the same (encoding is deterministic and reading contents changes nothing but
caches); only the repeated re-encoding goes. Installed at import, only on the asn1crypto
source it was checked against (`ACTIVE`).
"""
from __future__ import annotations

from asn1crypto import core

from renderers.scoped_patch import source_sha256 as _source_sha256

ORIGINAL_DUMP = core.Asn1Value.dump
# sha256 of inspect.getsource(Asn1Value.dump), asn1crypto 1.5.1.
CHECKED_SOURCE_SHA256 = "6a16147b803e8c2a2e3b26b2aedc31dc1df78313a8fab321bf2bfb719308d303"

_Constructable = core.Constructable
_dump_header = core._dump_header


def dump(self, force=False):
    contents = self.contents

    # If the length is indefinite, force the re-encoding
    if self._header is not None and self._header[-1:] == b'\x80':
        force = True

    if self._header is None or force:
        if isinstance(self, _Constructable) and self._indefinite:
            self.method = 0

        header = _dump_header(self.class_, self.method, self.tag, contents)

        if self.explicit is not None:
            for class_, tag in self.explicit:
                header = _dump_header(class_, 1, tag, header + contents) + header

        self._header = header
        self._trailer = b''

    return self._header + contents + self._trailer


SOURCE_SHA256 = _source_sha256(ORIGINAL_DUMP)
ACTIVE = SOURCE_SHA256 == CHECKED_SOURCE_SHA256


def install() -> None:
    core.Asn1Value.dump = dump


def uninstall() -> None:
    core.Asn1Value.dump = ORIGINAL_DUMP


if ACTIVE:
    install()
