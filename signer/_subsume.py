"""pyHanko's `HistoricalResolver._subsume_object` without its work on leaves.

A historical resolver (one per revision the diff analysis looks at) copies every object it
hands out, so that references inside resolve within that revision. The copy recurses into every
value, and for each one first builds the container reference (a frozen dataclass, slow to make)
and tests it against four container classes, even for a number or a name, which it then returns
as it is. On a B-LTA original the copying was about 20 % of verification's CPU, most of it on
leaves (the names and numbers of ~200 structure elements) and on indirect references.

Here a leaf of an exact known class (number, name, string, boolean, null) with a container
reference is returned straight away, and an indirect reference is remade for this resolver
directly: what pyHanko's method returns for them. Everything else, and any object without a
container reference (where pyHanko raises), goes to pyHanko's method, whose recursion comes
back here for the children. Installed at import, on the pyHanko source it was checked against
(`ACTIVE`).
"""
from __future__ import annotations

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver

from renderers.scoped_patch import source_sha256 as _source_sha256

# sha256 of inspect.getsource(HistoricalResolver._subsume_object), pyHanko 0.38.
CHECKED_SOURCE_SHA256 = "94755d9c35afd3c9eb6c0895595974ae0b4afc4177379b954d5b087d329311f8"
ORIGINAL = HistoricalResolver._subsume_object
_LEAVES = frozenset({
    generic.NumberObject, generic.FloatObject, generic.NameObject, generic.BooleanObject,
    generic.NullObject, generic.TextStringObject, generic.ByteStringObject,
})
_IndirectObject = generic.IndirectObject


def source_sha256() -> str:
    return _source_sha256(ORIGINAL)


def _subsume_object(self, obj):
    cls = type(obj)
    if obj.container_ref is not None:
        if cls in _LEAVES:
            return obj
        if cls is _IndirectObject:
            reference = obj.reference
            return _IndirectObject(reference.idnum, reference.generation, self)
    return ORIGINAL(self, obj)


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256


def install() -> None:
    if ACTIVE:
        HistoricalResolver._subsume_object = _subsume_object


def uninstall() -> None:
    HistoricalResolver._subsume_object = ORIGINAL


install()
