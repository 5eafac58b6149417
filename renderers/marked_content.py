"""One marked-content sequence where WeasyPrint wrote several in a row for the same element.

WeasyPrint marks every text box it draws as a sequence of its own (`/Span <</MCID n>> BDC …
EMC`), so a table cell holding "I.4. Grenscontrolepost / Border control post" on two lines
is four sequences, four marked-content ids in the cell's /K and four entries in the page's
parent tree. A structure element may own one sequence for all of that (ISO 32000-1 §14.7.4):
the ids say which element content belongs to, not how it was laid out.

`join_adjacent_sequences` rewrites a page's content stream (still pydyf's list of operators)
where a sequence ends and the next begins at once, both belong to the same element and the
second follows the first among that element's kids: the `EMC` and the next `BDC` go, the text
stays in the same order. The ids left are then renumbered from 0, as the parent tree's
per-page array wants them. On the 4-page CHED-PP, 700 ids become 227; every verifier's
change analysis walks each id once in /K and once in the parent tree, per revision.

Anything unexpected (an id drawn outside the page stream, as in a transparency group, or
unbalanced operators) leaves the page as it was. The stream is searched for the marked-content
operators with list.index, since walking every operator in Python cost more than the join saved.
"""
from __future__ import annotations

from dataclasses import dataclass

import pydyf


@dataclass(frozen=True)
class MarkedContent:
    """Where one marked-content id went: its element and its place among that element's kids."""

    element: pydyf.Dictionary
    index: int


def join_adjacent_sequences(items: list, marked: dict[int, MarkedContent]) -> dict[int, pydyf.Dictionary]:
    """Join adjacent sequences of one element in `items` (a page stream's operators), renumber
    the ids, rewrite the elements' /K, and return each remaining id's element."""
    unchanged = {mcid: place.element for mcid, place in marked.items()}
    joined = _join(items, marked)
    if joined is None:
        return unchanged
    kept, absorbed, properties = joined
    renumbered: dict[int, int] = {}
    for mcid, property_list in properties:
        if mcid not in absorbed:
            property_list["MCID"] = renumbered[mcid] = len(renumbered)
    _rewrite_kids(marked, renumbered, absorbed)
    items[:] = kept
    return {new: marked[old].element for old, new in renumbered.items()}


def _positions(items: list, token: bytes) -> list[int]:
    """Indices of `token` in `items`, searched by list.index: a stream has tens of thousands
    of operators and a few hundred marked-content ones."""
    found, i = [], -1
    try:
        while True:
            i = items.index(token, i + 1)
            found.append(i)
    except ValueError:
        return found


def _join(items: list, marked: dict[int, MarkedContent]):
    """(operators kept, ids absorbed, (id, property list) in stream order), or None when the
    stream's marked content is not what this module follows."""
    events = sorted([(i, b"BDC") for i in _positions(items, b"BDC")] + [(i, b"BMC") for i in _positions(items, b"BMC")]
                    + [(i, b"EMC") for i in _positions(items, b"EMC")])
    open_sequences: list[int | None] = []  # the id of each open sequence, None for unmarked ones
    properties: list[tuple[int, pydyf.Dictionary]] = []
    absorbed: set[int] = set()
    cuts: list[int] = []  # each joint: the EMC at this index and the next sequence's opening
    for index, operator in events:
        if operator == b"BDC":
            property_list = items[index - 1] if index else None
            mcid = property_list.get("MCID") if isinstance(property_list, pydyf.Dictionary) else None
            if mcid is not None:
                properties.append((mcid, property_list))
            if cuts and index == cuts[-1] + 3:
                continue  # the opening of a sequence just joined to the one before
            open_sequences.append(mcid)
        elif operator == b"BMC":
            open_sequences.append(None)
        else:
            if not open_sequences:
                return None
            closing = open_sequences.pop()
            following = _next_id(items, index + 1)
            if closing is not None and following is not None and _continues(marked, closing, following):
                absorbed.add(following)
                open_sequences.append(following)  # the joined sequence ends where `following` did
                cuts.append(index)
    if open_sequences or {mcid for mcid, _ in properties} != set(marked) or len(properties) != len(marked):
        return None  # unbalanced, or an id drawn outside this stream (a transparency group)
    kept: list = []
    start = 0
    for cut in cuts:
        kept.extend(items[start:cut])
        start = cut + 4
    kept.extend(items[start:])
    return kept, absorbed, properties


def _next_id(items: list, i: int) -> int | None:
    """The id of a sequence that begins right at `i` (`/Tag <</MCID n>> BDC`)."""
    if i + 2 < len(items) and isinstance(items[i], str) and isinstance(items[i + 1], pydyf.Dictionary) \
            and items[i + 2] == b"BDC":
        return items[i + 1].get("MCID")
    return None


def _continues(marked: dict[int, MarkedContent], first: int, second: int) -> bool:
    a, b = marked.get(first), marked.get(second)
    return a is not None and b is not None and a.element is b.element and b.index == a.index + 1


def _rewrite_kids(marked: dict[int, MarkedContent], renumbered: dict[int, int], absorbed: set[int]) -> None:
    by_element: dict[int, tuple[pydyf.Dictionary, dict[int, int | None]]] = {}
    for old, place in marked.items():
        _, changes = by_element.setdefault(id(place.element), (place.element, {}))
        changes[place.index] = None if old in absorbed else renumbered[old]
    for element, changes in by_element.values():
        element["K"] = pydyf.Array(
            changes[index] if index in changes else kid
            for index, kid in enumerate(element["K"])
            if not (index in changes and changes[index] is None))
