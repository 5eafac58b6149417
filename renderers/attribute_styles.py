"""Elements with the same tag and attributes get the same parsed attribute declarations, so
that WeasyPrint's own style sharing applies to them.

WeasyPrint gives two elements one computed style object when their parents share one, the
same rules match them, and their attribute declarations (from `style`, `lang`, `id`, ...) are
the same, compared by identity: it parses those declarations anew for every element. So
every element with a `lang` attribute got a style of its own, computed property by property,
and so did everything inside it. A bilingual certificate marks each translated label
`<span class="l2" lang="en">`: about 150 of them on a 4-page CHED-PP.

Here the declarations are parsed once per distinct (tag, attributes, base URL) and the
same objects are handed to every element that has exactly those. Only elements whose
attributes are all the same share them, so WeasyPrint's comparison still means what it
meant: equal declarations.

Only inside `attribute_styles_shared()` (certseal's renders), without presentational hints
(certseal never asks for them), and on the WeasyPrint source it was checked against
(`ACTIVE`).
"""
from __future__ import annotations

from xml.etree import ElementTree

from weasyprint import css as _css

from renderers import scoped_patch
from renderers.render_memory import RenderMemory

# sha256 over inspect.getsource of find_style_attributes and StyleFor.__init__ (which compares
# the declarations by identity) in WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "42d68bb5ab95d956c1f49a527449fe3119eea0c3144f222dfaa691c36706ac6a"
_find_style_attributes = _css.find_style_attributes
MAX_ENTRIES = 4096  # distinct (tag, attributes) seen: a certificate has a few dozen

_Rules = tuple[tuple[tuple[int, int, int], tuple], ...]  # (specificity, declarations) per rule
# Touched only inside certseal's renders, which run one at a time (renderers.pdf). Attributes
# without declarations that one certificate alone has (a link's address, say) are forgotten
# as its render ends.
_parsed = RenderMemory(MAX_ENTRIES)
_SCOPE = scoped_patch.Scope("certseal_attribute_styles", when_left=lambda: _parsed.end_render())
attribute_styles_shared = _SCOPE.on


def source_sha256() -> str:
    return scoped_patch.sources_sha256(_find_style_attributes, _css.StyleFor.__init__)


def _rules(tag, attributes: tuple, base_url) -> _Rules:
    key = (tag, attributes, base_url)
    rules = _parsed.get(key)
    if rules is not None:
        return rules
    # WeasyPrint's own parse, of an element that has only this tag and these attributes.
    alone = ElementTree.Element(tag, dict(attributes))
    rules = tuple((specificity, tuple(declarations)) for specificity, _, declarations, _
                  in _find_style_attributes(alone, False, base_url))
    if rules:
        # Declarations: kept at once, so that every render hands the same objects to the
        # templates of renderers.shared_styles, which key on them. They come from a few
        # attributes (lang, dir) whose values are not data.
        _parsed.keep(key, rules)
    else:
        _parsed.put(key, rules)
    return rules


def find_style_attributes(tree, presentational_hints=False, base_url=None):
    if presentational_hints or not _SCOPE.active():
        yield from _find_style_attributes(tree, presentational_hints, base_url)
        return
    for element in tree.iter():
        for specificity, declarations in _rules(element.tag, tuple(element.attrib.items()), base_url):
            yield specificity, element, declarations, base_url


def remembered() -> int:
    return len(_parsed)


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    # StyleFor.__init__ looks it up in its module.
    _css.find_style_attributes = find_style_attributes
