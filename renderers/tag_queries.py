"""Queries for elements by tag name answered from the element tree, not by wrapping every element.

Twice a render WeasyPrint looks through the whole document for a few tags: `find_stylesheets`
for `style` and `link`, `get_html_metadata` for `title`, `meta` and `link`. cssselect2's
`query_all` answers by making a new `ElementWrapper` for every one of the document's elements
(about 800 on a 4-page CHED-PP) and testing each: some 9 ms a render, 3 %, to find the half
dozen elements of the `<head>`. For selectors that are plain lower-case tag names (what those
two calls ask), the element tree itself is searched here, and wrappers are made only
along the way to each element found: the same elements, in the same order, each wrapped as
`iter_subtree` wraps it (parent, index, previous sibling). A type selector matches the local
name whatever the namespace (cssselect2's `el.local_name == 'title'`), so a `<title>` inside an
inline SVG is found as before. Any other selector is cssselect2's.

Only inside `tag_queries_from_tree()` (certseal's renders) and on the cssselect2 source it was
checked against (`ACTIVE`).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from cssselect2 import tree as _tree

from renderers import scoped_patch

# sha256 over inspect.getsource of ElementWrapper.query_all, iter_subtree, iter_children,
# etree_children and _split_etree_tag (what the search below reproduces), cssselect2 0.10.1.
CHECKED_SOURCE_SHA256 = "80f45078b209c6617e0e09feef28a0c78d8c1533d605f9e81603ca7671306ec5"
_SCOPE = scoped_patch.Scope("certseal_tag_queries")
tag_queries_from_tree = _SCOPE.on
_Wrapper = _tree.ElementWrapper
_query_all = _Wrapper.query_all
_TAG_NAME = re.compile(r"[a-z][a-z0-9-]*")  # compiles to `el.local_name == name` and nothing else


def source_sha256() -> str:
    return scoped_patch.sources_sha256(_query_all, _Wrapper.iter_subtree, _Wrapper.iter_children,
                                       _Wrapper.etree_children.func, _tree._split_etree_tag)


def _paths(root, names: frozenset) -> list[tuple[int, ...]]:
    """Child-index paths, in tree order, of the elements under `root` (itself included) whose
    local name is one of `names`; indices count element children only, as `etree_children`
    does (comments and processing instructions have a function for a tag)."""
    split = _tree._split_etree_tag
    found = [element for element in root.iter()  # tree order
             if isinstance(tag := element.tag, str)
             # A tag without "{namespace}" is its own local name (what _split_etree_tag says).
             and (split(tag)[1] if tag[:1] == "{" else tag) in names]
    if not found:
        return []
    parents = {child: parent for parent in root.iter() for child in parent}
    paths = []
    for element in found:
        path = []
        while element is not root:
            parent = parents[element]
            path.append([child for child in parent if isinstance(child.tag, str)].index(element))
            element = parent
        paths.append(tuple(reversed(path)))
    return paths


def _wrapped(root: _tree.ElementWrapper, path: tuple[int, ...]) -> _tree.ElementWrapper:
    """The element at `path` below `root`, wrapped as iter_subtree wraps it."""
    wrapper = root
    for index in path:
        for child in wrapper.iter_children():
            if child.index == index:
                wrapper = child
                break
    return wrapper


def query_all(self, *selectors):
    if not (_SCOPE.active() and selectors
            and all(type(selector) is str and _TAG_NAME.fullmatch(selector) for selector in selectors)):
        return _query_all(self, *selectors)
    return (_wrapped(self, path) for path in _paths(self.etree_element, frozenset(selectors)))


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    _Wrapper.query_all = query_all
