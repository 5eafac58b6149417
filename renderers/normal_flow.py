"""Whether a box is in normal flow, asked of its style twice instead of through five methods.

WeasyPrint's `Box.is_in_normal_flow` asks five other methods (floated, absolutely
positioned, running, footnote, note), each of which looks a property up in the style: six
lookups and six calls for an answer that depends on two properties, `float` and `position`.
Layout asks it of every child when it looks for the last in-flow child, for break values,
for every inline box: about 4.5 % of a certificate render (py-spy). Here the same five
tests read the two properties once each.

Only inside `normal_flow_read_once()` (certseal's renders) and on the WeasyPrint source it was
checked against (`ACTIVE`); no box class overrides any of the five methods there.
"""
from __future__ import annotations

from weasyprint.formatting_structure import boxes as _boxes

from renderers import scoped_patch

# sha256 over inspect.getsource of Box.is_in_normal_flow and the five methods it asks, in
# WeasyPrint 70.0: what `is_in_normal_flow` below reads in line.
CHECKED_SOURCE_SHA256 = "4f92b12456a125bbb871add5d7da74f4ec73b1fc89db61563cd295916787bd70"
_SCOPE = scoped_patch.Scope("certseal_normal_flow")
normal_flow_read_once = _SCOPE.on
_ASKED = ("is_floated", "is_absolutely_positioned", "is_running", "is_footnote", "is_note")
_is_in_normal_flow = _boxes.Box.is_in_normal_flow
_FLOATED = ("left", "right", "inline-start", "inline-end")  # Box.is_floated
_OUT_OF_FLOW_POSITIONS = ("absolute", "fixed")  # Box.is_absolutely_positioned


def source_sha256() -> str:
    return scoped_patch.sources_sha256(_is_in_normal_flow, *(getattr(_boxes.Box, name) for name in _ASKED))


def _overridden() -> list[str]:
    """Box classes that answer any of the questions their own way."""
    found = []
    for box_class in vars(_boxes).values():
        if isinstance(box_class, type) and issubclass(box_class, _boxes.Box) and box_class is not _boxes.Box:
            found += [f"{box_class.__name__}.{name}" for name in ("is_in_normal_flow", *_ASKED)
                      if getattr(box_class, name) is not getattr(_boxes.Box, name)]
    return found


def is_in_normal_flow(self) -> bool:
    if not _SCOPE.active():
        return _is_in_normal_flow(self)
    style = self.style
    float_ = style["float"]
    if float_ in _FLOATED or float_ == "footnote":
        return False
    position = style["position"]  # a keyword, or a tuple such as ("running()", name)
    return not (position in _OUT_OF_FLOW_POSITIONS or position[0] in ("running()", "note()"))


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256 and not _overridden()
if ACTIVE:
    _boxes.Box.is_in_normal_flow = is_in_normal_flow
