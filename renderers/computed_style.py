"""A short path through WeasyPrint's lazily computed styles, for properties no rule sets.

WeasyPrint computes each CSS property of each element on first use
(`ComputedStyle.__missing__`). Most lookups are for properties that no rule sets, so the
value is the parent's (inherited properties) or the initial value. The general method still
runs its whole sequence for those: logical-property mapping, pending-variable and math
checks, and the special cases of float, display, position, page and text decorations.
It was the costliest single function of a certificate render: about 11 % of py-spy's samples
(4-page CHED-PP). The short path answers only those plain cases and hands
everything else to WeasyPrint's method: a property a rule sets, a physical property whose
logical twin a rule sets, a special-cased property, a custom property, the root element, an
inherited value holding a math function. For the plain cases it does what the general
method does: the parent's value, or the initial value, computed where WeasyPrint computes it
(a border's width, 0 while its style is none).

It applies only where two things hold:
- inside `short_style_path()`, i.e. certseal's own renders, so the bench's naive baseline
  and any other WeasyPrint document in the process use WeasyPrint's method unchanged;
- when the method's source is the one this was checked against. A different WeasyPrint
  release keeps its own method, and `ACTIVE` tells the tests so.
"""
from __future__ import annotations

from weasyprint import css as _css

from renderers import scoped_patch

# sha256 of inspect.getsource(ComputedStyle.__missing__) in WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "b318d8efc8ac79d716f05cb81cc3abd65a32bd79601e363b218a32559bb3a5fb"
_SPECIAL = frozenset({"float", "display", "position", "page"})
_SCOPE = scoped_patch.Scope("certseal_short_style_path")
short_style_path = _SCOPE.on  # the block in which certseal's renders take this path
_general = weasyprint_missing = _css.ComputedStyle.__missing__  # WeasyPrint's own, whatever is installed


def source_sha256() -> str:
    return scoped_patch.source_sha256(_general)


def _missing(self, key):
    parent = self.parent_style
    if (not _SCOPE.active() or parent is None or key in self.cascaded or key in _SPECIAL
            or key[:2] == "__" or key[:16] == "text_decoration_"):
        return _general(self, key)
    logical = _css.PHYSICAL_FUNCTIONS.get(key)
    if logical is not None and logical(block="ttb", inline=self["direction"]) in self.cascaded:
        return _general(self, key)
    if key in _css.INHERITED:
        value = parent[key]
        if _css.check_math(value):
            return _general(self, key)
    else:
        value = _css.INITIAL_VALUES[key]
        if key in _css.INITIAL_NOT_COMPUTED and key in _css.COMPUTER_FUNCTIONS:
            value = _css.COMPUTER_FUNCTIONS[key](self, key, value)
    self[key] = value
    return value


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    _css.ComputedStyle.__missing__ = _missing
