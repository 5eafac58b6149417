"""A bounded memory for what certseal's renders compute (line breaks, drawn lines, attribute
declarations) that keeps, past the render that made an entry, only what more than one render made.

Entries a render makes for the first time live until that render ends: its repeats (a label
on every page, a reference in every header) are served from them. Only keys that an earlier
render made too are kept for later renders, least recently used forgotten first. So what one
certificate alone has (its reference, dates, names, quantities) is never kept: a worker that
issues thousands of distinct certificates kept every such value until the bound was full,
and its memory grew 11 % over 1,000 tasks (`python -m bench --worker-tasks 1000`), while
what certificates share (labels, box numbers, legal text) is kept from the second render on.

What earlier renders made is remembered as key hashes only, a bounded number of them, oldest
forgotten first. A hash collision can only keep an entry that one render made: its value is
still looked up by the whole key. Used inside certseal's renders, which run one at a time
(renderers.pdf), so unlocked.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable


class RenderMemory:
    def __init__(self, max_entries: int, *, remembered_keys: int | None = None) -> None:
        self.max_entries = max_entries
        # How many keys of earlier renders count as "made before": a few renders' worth.
        self.remembered_keys = remembered_keys if remembered_keys is not None else 4 * max_entries
        self._kept: OrderedDict[Hashable, object] = OrderedDict()
        self._this_render: dict[Hashable, object] = {}
        self._made_now: set[int] = set()
        self._made_before: set[int] = set()
        self._made_before_order: deque[int] = deque()

    def get(self, key: Hashable):
        value = self._kept.get(key)
        if value is not None:
            self._kept.move_to_end(key)
            return value
        return self._this_render.get(key)

    def put(self, key: Hashable, value: object) -> None:
        digest = hash(key)
        if digest in self._made_before:  # fixed for the render: it changes only at end_render
            self.keep(key, value)
        else:
            self._this_render[key] = value
            self._made_now.add(digest)

    def keep(self, key: Hashable, value: object) -> None:
        """Kept for later renders at once (what the caller knows to be shared)."""
        self._kept[key] = value
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)

    def end_render(self) -> None:
        """Forget what only this render made; remember that it made it."""
        self._this_render.clear()
        for digest in self._made_now:
            if digest not in self._made_before:
                self._made_before.add(digest)
                self._made_before_order.append(digest)
        self._made_now.clear()
        while len(self._made_before_order) > self.remembered_keys:
            self._made_before.discard(self._made_before_order.popleft())

    def made_before(self, key: Hashable) -> bool:
        """Did an earlier render make this key (so that `put` keeps it)?"""
        return hash(key) in self._made_before

    def __len__(self) -> int:
        """Entries kept for later renders."""
        return len(self._kept)

    def keys_made_before(self) -> int:
        return len(self._made_before)
