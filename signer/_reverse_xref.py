"""A faster map of "every path from the trailer to every reference" for pyHanko's diff analysis.

pyHanko's `StandardDiffPolicy` calls `HistoricalResolver._load_reverse_xref_cache` once per
signature, on the signed revision: it reads every object of that revision and records, for each
indirect reference, every path from the trailer that reaches it (with special cases for the
page tree and the structure tree). On a B-LTA certificate original (~258 objects, 203 of them
/StructElem) that was ~58 % of the CPU of `verify_pdf`. Besides reading and subsuming every
object (unchanged here: the same objects are resolved through the resolver, in the same order),
the cost was:
- one recursive call per value of every object, leaves included (every number of every
  /Widths array, every name), each building a `misc.ConsList` node: a frozen dataclass whose
  `__init__`, `__hash__` and `__eq__` are Python code, hashing being recursive over the path;
- a `ConsList` scan for every "is this reference already on the path" check;
- converting every path of every reference into a `RawPdfPath` at the end, while
  `_get_usages_of_ref` is only asked about a few references (those a later revision rewrites,
  and a few form fields);
- a `yield from` chain as deep as the structure tree for every structure element collected.

Here the traversal is the same depth-first walk, in the same order, with the same cuts (a
reference already on the current path; a page tree node entered other than through its path in
the page tree; `/Parent` always skipped, `/P` inside the structure tree; structure elements not
entered from outside the structure tree, which starts at `/Root /StructTreeRoot /K`), but:
- paths are (element, parent path) tuple pairs with their length beside them, never hashed;
  the references on the current path are a set keyed by (idnum, generation), which is what
  `Reference` hashes and compares, without its Python-level `__hash__`; leaves (anything but an
  indirect reference, a dictionary or an array) are not visited, as visiting them did nothing;
- the structure tree is collected by a plain recursive function, one frame per level like the
  original's generators (same order, same duplicate check at the same moment, same `KeyError`
  handling). It stays recursive on purpose: a cycle through single-child /K references (which
  `struct_elem['/K']` dereferences, so their references are never checked) ends, as in the
  original, in RecursionError rather than in an endless loop;
- the resolver's `_indirect_object_access_cache` becomes a read-only mapping that turns a
  reference's paths into `RawPdfPath`s when first asked for them, and keeps that set;
- the walk and the structure tree's collection read the revision's objects without the
  resolver's copy of each (`_RevisionReader`): the resolver remade every dictionary, array and
  reference of every object so that references inside resolve within the revision, and the
  walk only needs the keys, the values and the numbers of the references, which it follows
  within the revision itself. The copies are made later for the few objects the change
  analysis's rules read. Encrypted files keep the resolver's path (their objects are proxies it
  decrypts).

`_get_usages_of_ref` answers as the original does for every reference (an empty set for one
never reached); the same objects are read, in the same order, and the same exceptions come
out of the same situations (circular page or structure tree, a missing /Pages or /Kids, an
unreadable object); the resolver's cache holds only the copies made outside the walk (the page
tree's objects, the structure tree's root), in the original's order. Recursion: the walk
takes one frame per path element and compares paths without recursion, where the original took
about two (its paths hash and compare recursively): a file the original maps is mapped the
same; one between about half the recursion limit and the limit deep, on which the original
raised RecursionError, is mapped (the answers are the original's given more stack); deeper,
RecursionError as before. tests/test_verify_reverse_xref.py checks all of it.

Measured on a CHED-PP B-LTA original (4 revisions, 203 /StructElem), CPU time, medians,
with and without this patch interleaved in one process (50 rounds each, two runs on a noisy
machine):
- `verify_pdf`: 169.4 -> 137.1 ms (-19 %) and 174.0 -> 145.5 ms (-16 %); inside it
  `_load_reverse_xref_cache` (two real loads, the first also parsing every object):
  91.5 -> 62.3 ms and 100.0 -> 66.2 ms (-32 %, -34 %);
- `_load_reverse_xref_cache` alone on a fresh resolver over an already parsed reader (60 rounds
  each): 39.9 -> 22.9 ms and 39.8 -> 23.6 ms; when the resolver has already resolved every
  object (the walk alone): 20.6 -> 5.0 ms and 21.1 -> 4.9 ms.
Reading the objects without copying them, `verify_pdf` of a B-LTA CHED-PP original, CPU medians
of 40, three interleaved runs on a later machine: 66.0 / 70.5 / 67.5 -> 55.2 / 58.5 / 59.2 ms
(-14 to -17 %). What remains is pyHanko's parsing, unchanged.

Installed only on the pyHanko source it was checked against (`CHECKED_SOURCE_SHA256`, over the
replaced methods and `ConsList`, whose equality the original's path checks use); `ACTIVE` says
whether it is. The originals stay reachable (`ORIGINAL_LOAD`, `ORIGINAL_GET_USAGES`) for the
equivalence tests. Review when upgrading pyHanko (pinned in pyproject).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, RawPdfPath
from pyhanko.sign.diff_analysis import SuspiciousModification

from renderers.scoped_patch import sources_sha256

_logger = logging.getLogger("pyhanko.pdf_utils.reader")  # where the resolver logs the same warning

# How many paths the map of one revision may hold. A certseal original has about 750 (a 4-page
# CHED-PP) to 11,000 (a 300-line CHED-P); a file whose objects share children reaches
# exponentially many (2^n for n layers of arrays holding the next one twice), which pyHanko's
# walk enumerates one by one, for seconds to hours and memory to match. Beyond the budget the
# revision is not analysed: the change analysis gets TooManyPaths, a SuspiciousModification,
# so the signature's later revisions count as changes that could not be justified (INVALID),
# at once instead of at the sandbox's limits.
MAX_PATHS = 500_000
_max_paths: ContextVar[int] = ContextVar("certseal_max_paths", default=MAX_PATHS)


class TooManyPaths(SuspiciousModification):
    """The signed revision's objects are reached by more paths than the analysis may map."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} paths reach the objects of the signed revision, too many to map")
        self.limit = limit


@contextmanager
def paths_budget(limit: int) -> Iterator[None]:
    """Within this block (this thread or task), a revision's map may hold `limit` paths."""
    token = _max_paths.set(int(limit))
    try:
        yield
    finally:
        _max_paths.reset(token)

ORIGINAL_LOAD = HistoricalResolver._load_reverse_xref_cache
ORIGINAL_GET_USAGES = HistoricalResolver._get_usages_of_ref

# sha256 over the sources of the replaced methods and of ConsList (`sources_sha256`),
# pyHanko 0.38.0 / pyhanko-certvalidator 0.33.0.
CHECKED_SOURCE_SHA256 = "29de0299174d21e1f4ac5256fbe384ba51556d3cd87321aa91a58482a806f9fc"

_IndirectObject = generic.IndirectObject
_DictionaryObject = generic.DictionaryObject
_ArrayObject = generic.ArrayObject
# A path is None (the trailer) or (last element, path of the parent): shared tails, O(1) to
# extend, never hashed. Its length travels beside it.
_EMPTY = None
_ROOT_PAGES = ("/Pages", ("/Root", _EMPTY))

# What the walk does with a value, by its exact type: 0 nothing, 1 indirect reference,
# 2 dictionary, 3 array. Filled on first sight of a type with the original's isinstance tests.
_LEAF, _INDIRECT, _DICT, _ARRAY = 0, 1, 2, 3


def _kind_of(cls: type) -> int:
    if issubclass(cls, _IndirectObject):
        return _INDIRECT
    if issubclass(cls, _DictionaryObject):
        return _DICT
    if issubclass(cls, _ArrayObject):
        return _ARRAY
    return _LEAF


class _Kinds(dict):
    def __missing__(self, cls):
        kind = self[cls] = _kind_of(cls)
        return kind


_KINDS = _Kinds()


def _elements(path) -> tuple:
    """The path's elements from the trailer down, as `RawPdfPath` takes them."""
    elements = []
    while path is not None:
        elements.append(path[0])
        path = path[1]
    elements.reverse()
    return tuple(elements)


def _same_path(a, b) -> bool:
    """Element-wise equality of two paths of the same length (what ConsList's `==` decides),
    without recursion."""
    while a is not b:
        if a is None or b is None:
            return False
        if not (a[0] is b[0] or a[0] == b[0]):
            return False
        a, b = a[1], b[1]
    return True


class ReferenceUsages(Mapping):
    """Reference -> set of `RawPdfPath` through which the revision reaches it: the mapping the
    original builds, with each set built when first asked for (and then kept, so the same set
    object comes back, as from the original's dict)."""

    __slots__ = ("_paths", "_sets")

    def __init__(self, paths: dict) -> None:
        self._paths = paths  # Reference -> list of paths
        self._sets: dict = {}

    def __getitem__(self, ref):
        try:
            return self._sets[ref]
        except KeyError:
            pass
        paths = self._paths[ref]  # KeyError for a reference never reached
        # Paths are distinct element-wise (a walk never repeats one), so this set has as many
        # members as the original's set of ConsLists had.
        result = self._sets[ref] = {RawPdfPath(*_elements(p)) for p in paths}
        return result

    def __iter__(self) -> Iterator:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, ref) -> bool:
        return ref in self._paths


def _collect_page_tree_refs(pages_obj, path, length):
    # The original's generator, with paths in this module's representation.
    for ix, kid in enumerate(pages_obj['/Kids']):
        kid_path = (ix, ('/Kids', path))
        if isinstance(kid, generic.IndirectObject):
            yield kid.reference, kid_path, length + 2
        kid = kid.get_object()
        if kid.get('/Type', None) == '/Pages':
            yield from _collect_page_tree_refs(kid, kid_path, length + 2)


def _collect_struct_tree_refs(struct_elem, struct_tree_nodes: set, deref) -> None:
    """The original's recursive generator and its consumer's duplicate check in one plain
    recursive function: the same objects read in the same order, the same refs added, the
    same errors. Recursive on purpose: a cycle through a single-child /K reference (which
    `struct_elem['/K']` dereferences, so its reference is never checked) ends in
    RecursionError, as in the original, not in an endless loop.

    `deref(value)` is `value.get_object()` within the signed revision (see _RevisionReader)."""
    try:
        children = _get(struct_elem, '/K', deref)
    except KeyError:
        return
    # if there's only one child, /K need not be an array
    if not isinstance(children, generic.ArrayObject):
        children = (children,)
    for child in children:
        child_ref = None
        if isinstance(child, generic.IndirectObject):
            child_ref = child.reference
            child = deref(child)
        # The /K entry can also refer to content items.
        if not isinstance(child, generic.DictionaryObject):
            continue
        try:
            if _get(child, '/Type', deref) != '/StructElem':
                continue
        except KeyError:
            # no /Type: /StructElem is the default
            pass
        if child_ref is not None:
            if child_ref in struct_tree_nodes:
                raise misc.PdfReadError(
                    "Circular reference in structure tree in mapping stage"
                )
            struct_tree_nodes.add(child_ref)
        _collect_struct_tree_refs(child, struct_tree_nodes, deref)


def _get_object(value):
    return value.get_object()


def _get(obj, key, deref):
    """`obj[key]` (DictionaryObject.__getitem__: dereference, null is missing) with `deref`."""
    if not isinstance(obj, generic.DictionaryObject):
        return obj[key]  # whatever the original's indexing does (TypeError for an array)
    value = deref(dict.__getitem__(obj, key))
    if isinstance(value, generic.NullObject):
        raise KeyError(key)
    return value


class _RevisionReader:
    """The signed revision's objects as the resolver would read them, without the resolver's
    copy of each one for that revision (`_subsume_object`: it remakes every dictionary, array
    and reference in the object so that references inside resolve within the revision).

    The walk only needs an object's keys, values and the numbers of the references in it, so it
    reads the object the resolver would copy: the resolver's own copy when it has made one,
    else the reader's object, from the revision's section of the file when a later revision
    changed it (the same choice and the same reader calls as `HistoricalResolver.get_object`),
    and checks the container reference that copying it would need first. References found
    inside are followed by their numbers, here, so they resolve within the revision all the
    same. Copies are made later for the few objects the change analysis's rules read."""

    __slots__ = ("_cache", "_fetched", "_reader", "_revision", "_last_change")

    def __init__(self, resolver: HistoricalResolver) -> None:
        self._cache = resolver.cache
        self._fetched: dict = {}
        self._reader = resolver.reader
        self._revision = resolver.revision
        self._last_change = resolver.reader.xrefs.get_last_change

    def __call__(self, ref):
        obj = self._cache.get(ref)
        if obj is not None:
            return obj
        obj = self._fetched.get(ref)
        if obj is not None:
            return obj
        try:
            last_change = self._last_change(ref)
        except KeyError:
            _logger.warning(f"Could not determine history of {ref} in xref sections")
            last_change = None
        if last_change is not None and last_change <= self._revision:
            obj = self._reader.get_object(ref, transparent_decrypt=False)
        else:
            obj = self._reader.get_object(ref, self._revision, transparent_decrypt=False)
        obj.get_container_ref()  # what copying it for the resolver checks first
        self._fetched[ref] = obj
        return obj

    def forget(self) -> None:
        self._fetched.clear()

    def deref(self, value):
        if isinstance(value, generic.IndirectObject):
            obj = self(value.reference)
            return self.deref(obj) if isinstance(obj, generic.IndirectObject) else obj
        return value


def _encrypted(reader) -> bool:
    try:
        reader.trailer.raw_get('/Encrypt')
    except KeyError:
        return False
    except Exception:  # noqa: BLE001 - unreadable trailer: the resolver's own path decides
        return True
    return True


def _load_reverse_xref_cache(self: HistoricalResolver) -> None:
    if self._indirect_object_access_cache is not None:
        return

    pages_ref = self.root.raw_get('/Pages')
    # ref -> (length, path) of its place in the page tree
    page_tree_nodes: dict = {}
    if isinstance(pages_ref, generic.IndirectObject):
        page_tree_nodes[pages_ref.reference] = (2, _ROOT_PAGES)
    for ref, path, length in _collect_page_tree_refs(pages_ref.get_object(), _ROOT_PAGES, 2):
        if ref in page_tree_nodes:
            raise misc.PdfReadError(
                "Circular reference in page tree in mapping stage"
            )
        page_tree_nodes[ref] = (length, path)
    # Encrypted files keep the resolver's path: their objects are proxies it decrypts.
    if _encrypted(self.reader):
        resolve, deref = self, _get_object
    else:
        resolve = _RevisionReader(self)
        deref = resolve.deref
    struct_tree_nodes: set = set()
    try:
        struct_tree_root_ref = self.root.raw_get('/StructTreeRoot')
        struct_tree_root = struct_tree_root_ref.get_object()
        _collect_struct_tree_refs(struct_tree_root, struct_tree_nodes, deref)
    except KeyError:
        pass

    # Keyed by (idnum, generation), what Reference hashes and compares (its __hash__ and
    # __eq__ are Python code, and each visit asked several of these tables).
    collected: dict = {}  # key -> (first Reference seen, [paths])
    on_path: set = set()  # the references on the current path (the original's seen_in_path)
    page_tree_get = {(r.idnum, r.generation): v for r, v in page_tree_nodes.items()}.get
    struct_tree_keys = {(r.idnum, r.generation) for r in struct_tree_nodes}
    kinds = _KINDS
    limit = _max_paths.get()
    left = [limit]  # paths the map may still take

    def walk(obj, kind, path, length, is_struct_tree):
        # obj is an indirect reference (kind 1), a dictionary (2) or an array (3)
        key = None
        if kind == _INDIRECT:
            ref = obj.reference
            key = (ref.idnum, ref.generation)
            if key in on_path:
                return
            left[0] -= 1
            if left[0] < 0:
                raise TooManyPaths(limit)
            entry = collected.get(key)
            if entry is None:
                collected[key] = (ref, [path])
            else:
                entry[1].append(path)
            obj = resolve(ref)
            # Only enter a page tree node through its own path in the page tree.
            canonical = page_tree_get(key)
            if canonical is not None and not (
                canonical[0] == length and _same_path(canonical[1], path)
            ):
                return
            if not is_struct_tree and key in struct_tree_keys:
                return
            if isinstance(obj, _DictionaryObject):
                kind = _DICT
            elif isinstance(obj, _ArrayObject):
                kind = _ARRAY
            else:
                return
            on_path.add(key)
        child_length = length + 1
        if kind == _DICT:
            # /Root /StructTreeRoot /K starts the structure tree
            at_struct_tree_root = (
                not is_struct_tree
                and length == 2
                and path[0] == '/StructTreeRoot'
                and path[1][0] == '/Root'
            )
            for k, v in obj.items():
                if k == '/Parent' or (is_struct_tree and k == '/P'):
                    continue
                v_kind = kinds[type(v)]
                if v_kind:
                    walk(
                        v, v_kind, (k, path), child_length,
                        is_struct_tree or (at_struct_tree_root and k == '/K'),
                    )
        else:
            for ix, v in enumerate(obj):
                v_kind = kinds[type(v)]
                if v_kind:
                    walk(v, v_kind, (ix, path), child_length, is_struct_tree)
        if key is not None:
            on_path.discard(key)

    trailer = self.trailer_view
    kind = kinds[type(trailer)]
    if kind:
        walk(trailer, kind, _EMPTY, 0, False)
    self._indirect_object_access_cache = ReferenceUsages(dict(collected.values()))
    # Let go of what was read now rather than at the next cyclic collection: `walk` is a
    # recursive closure, a cycle that would keep the reader and its objects alive.
    walk = None  # noqa: F841
    if isinstance(resolve, _RevisionReader):
        resolve.forget()


def _get_usages_of_ref(self: HistoricalResolver, ref: generic.Reference) -> set[RawPdfPath]:
    cache = self._indirect_object_access_cache
    if not cache:  # None, or nothing reached
        return set()
    try:
        return cache[ref]
    except KeyError:
        return set()


SOURCE_SHA256 = sources_sha256(ORIGINAL_LOAD, ORIGINAL_GET_USAGES, misc.ConsList)
ACTIVE = SOURCE_SHA256 == CHECKED_SOURCE_SHA256


def install() -> None:
    HistoricalResolver._load_reverse_xref_cache = _load_reverse_xref_cache
    HistoricalResolver._get_usages_of_ref = _get_usages_of_ref


def uninstall() -> None:
    HistoricalResolver._load_reverse_xref_cache = ORIGINAL_LOAD
    HistoricalResolver._get_usages_of_ref = ORIGINAL_GET_USAGES


if ACTIVE:
    install()
