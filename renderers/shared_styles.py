"""Computed style values are worked out once per process for each distinct style, and every
render starts its styles from them.

WeasyPrint computes an element's style property by property, on first use, every render:
about 17 % of a certificate render (py-spy, nl+en CHED-PP) was that lazy computation. Yet a
style is a function of a few things only: its parent's style, the declarations that apply to
it (the stylesheet rules that match, and its own attributes'), the root's style (for `rem`),
the base URL and the font configuration, and the size of the first page (for viewport units).
WeasyPrint already uses this within one render: elements whose parents share a style object,
whose matched rules are the same and whose attribute declarations are the same objects share
one computed style (StyleFor.__init__, `computed_cache`). The rules are the same objects in
every render (the stylesheets are parsed once per process, renderers.pdf) and so are the
attribute declarations (renderers.attribute_styles), so the same key identifies the same
style across renders, once the parent is identified by its own key rather than by the
parent's object.

So each distinct key has a *template*: a ComputedStyle whose parent is the parent's template,
kept for the process, that computes values lazily exactly as WeasyPrint would, and is never
handed to WeasyPrint's layout. Each render gets its own style objects, as before, each
starting with a copy of every value its template has computed; a value the template lacks is
computed by the template (from template parents) and copied. So do the anonymous styles of
their line boxes and text, from the template's anonymous style (−2 % more), and so do the styles
WeasyPrint makes outside the element tree: pseudo-elements (::before), pages, the 16 margin
boxes of every page and the copies it takes of a style (a table's): 166 styles per 4-page
CHED-PP that computed every value anew (about 10,000 lazy computations), −4.5 % CPU
interleaved. Whatever a render does to its
styles (WeasyPrint zeroes a table cell's padding, moves a body's overflow to the viewport)
stays in that render. A template never reads page sizes: a value that needs them (vw, vh,
vmin, vmax, pvw ...) is computed by the render's own style, as WeasyPrint does, every time.

Only inside `styles_shared_across_renders()` (certseal's renders), without presentational
hints or stylesheets of the document's own, and on the WeasyPrint source this was checked
against (`ACTIVE`).
"""
from __future__ import annotations

from collections import OrderedDict
from functools import cached_property
from math import inf

from weasyprint import css as _css
from weasyprint.css import units as _units

from renderers import computed_style, scoped_patch

# sha256 over inspect.getsource of StyleFor.__init__ (reproduced in `__init__` below, with
# the templates), StyleFor.set_computed_styles (likewise, in `set_computed_styles`),
# ComputedStyle.__init__, .copy and .__missing__ and units.to_pixels (the one reader of page
# sizes), in WeasyPrint 70.0.
CHECKED_SOURCE_SHA256 = "5f2b49f88f291d9505b6711648a0f218b56b2477137540c1dbd7bf177308945e"
_SCOPE = scoped_patch.Scope("certseal_shared_styles")
styles_shared_across_renders = _SCOPE.on
_weasyprint_init = _css.StyleFor.__init__
_weasyprint_set_computed_styles = _css.StyleFor.set_computed_styles
MAX_TEMPLATES = 5000  # a 4-page CHED-PP needs about 290

# The templates are touched only inside certseal's renders, which run one at a time
# (renderers.pdf holds a lock around each), so they need no lock of their own.
# The templates of the font configuration in use; a template reload brings a new one (see
# renderers.reload) and the old templates go.
_current: tuple[object, OrderedDict] = (None, OrderedDict())


def source_sha256() -> str:
    return scoped_patch.sources_sha256(
        _weasyprint_init, _weasyprint_set_computed_styles, _css.ComputedStyle.__init__,
        _css.ComputedStyle.copy, computed_style.weasyprint_missing, _units.to_pixels)


class _PageSizesNeeded(BaseException):
    """A template was asked for a value that depends on the page size. A BaseException, so
    that no `except Exception` in WeasyPrint's computation turns it into a fallback value."""


class _NoPageSizes(dict):
    """The page sizes a template sees: none, so that it never computes a value from them."""

    def __getitem__(self, key):
        raise _PageSizesNeeded(key)


_NO_PAGE_SIZES = _NoPageSizes()


class _Template(_css.ComputedStyle):
    # Properties whose value depends on the page size here: render styles compute them.
    from_page_size: frozenset = frozenset()


def _roll_back(values: dict, kept: int) -> None:
    """Drop what an interrupted computation added to a template: a computation only adds,
    at the end, and what it added on the way is recomputed if asked again."""
    for key in list(values)[kept:]:
        del values[key]


class _RenderAnonymousStyle(_css.AnonymousStyle):
    """The style of a render style's anonymous boxes (line boxes, text): starts with the values
    of its template's anonymous style, asks it for more."""

    def __missing__(self, key):
        template = self.parent_style.template.anonymous_style
        if key not in self.parent_style.template.from_page_size:
            try:
                value = template[key]
            except _PageSizesNeeded:
                pass  # the render style computes it (its parent's template declined too)
            else:
                self[key] = value
                return value
        return _css.AnonymousStyle.__missing__(self, key)


class RenderStyle(_css.ComputedStyle):
    """A render's own computed style: starts with its template's values, asks it for more."""

    template: _Template

    @cached_property
    def anonymous_style(self) -> _RenderAnonymousStyle:
        style = _RenderAnonymousStyle(self)
        dict.update(style, self.template.anonymous_style)
        return style

    def copy(self) -> RenderStyle:
        # WeasyPrint's copy (a table's wrapper, generated content) as a render style of the same
        # template: its missing values are the ones the original would compute.
        copy = RenderStyle(self.parent_style, self.cascaded, self.pseudo_type, self.root_style,
                           self.base_url, self.font_config, self.initial_page_sizes)
        copy.template = self.template
        copy.update(self)
        copy.specified = self.specified.copy()
        return copy

    def __missing__(self, key):
        template = self.template
        if key not in template.from_page_size:
            kept, kept_specified = len(template), len(template.specified)
            try:
                value = template[key]
            except _PageSizesNeeded:
                _roll_back(template, kept)
                _roll_back(template.specified, kept_specified)
                template.from_page_size = template.from_page_size | {key}
            else:
                self.specified.update(template.specified)
                self[key] = value
                return value
        return _css.ComputedStyle.__missing__(self, key)


def _templates_for(font_config) -> OrderedDict:
    global _current
    if _current[0] is not font_config:
        _current = (font_config, OrderedDict())
    return _current[1]


def _template(templates: OrderedDict, key: tuple, parent: _Template | None, cascaded: dict,
              root: _Template | None, base_url, font_config, pseudo_type=None) -> _Template:
    template = templates.get(key)
    if template is not None:
        templates.move_to_end(key)
        return template
    root_style = _css.InitialStyle(font_config) if root is None else root
    template = templates[key] = _Template(parent, cascaded, pseudo_type, root_style, base_url, font_config,
                                          _NO_PAGE_SIZES)
    while len(templates) > MAX_TEMPLATES:
        templates.popitem(last=False)
    return template


def _render_style(template: _Template, parent_style, cascaded: dict, root_style, base_url, font_config,
                  initial_page_sizes, pseudo_type=None) -> RenderStyle:
    style = RenderStyle(parent_style, cascaded, pseudo_type, root_style, base_url, font_config, initial_page_sizes)
    style.template = template
    dict.update(style, template)
    style.specified.update(template.specified)
    return style


def __init__(self, html, sheets, presentational_hints, font_config, target_collector):
    # A document's own stylesheets (<style>, <link>: origin "author") are parsed anew by every
    # render, so no key of its styles would ever be seen twice; certseal's come as user
    # stylesheets, parsed once per process (renderers.pdf).
    if (presentational_hints or not _SCOPE.active()
            or any(origin == "author" for _, origin, _ in sheets)):
        return _weasyprint_init(self, html, sheets, presentational_hints, font_config, target_collector)
    # From here to the marked part, StyleFor.__init__ of WeasyPrint 70.0 as it is.
    self._cascaded_styles = cascaded_styles = {}
    self._computed_styles = computed_styles = {}
    self.initial_page_sizes = {'box': None, 'area': None}
    self._sheets = sheets
    self.font_config = font_config

    _css.PROGRESS_LOGGER.info('Step 3 - Applying CSS')
    layer_order = inf
    elements_declarations = {}
    for specificity, element, declarations, base_url in _css.find_style_attributes(
            html.etree_element, presentational_hints, html.base_url):
        style = cascaded_styles.setdefault((element, None), {})
        elements_declarations[element] = tuple(declarations)
        for name, values, importance in _css.preprocess_declarations(
                base_url, declarations):
            precedence = _css.declaration_precedence('author', importance)
            weight = (precedence, layer_order, specificity)
            old_weight = style.get(name, (None, None))[1]
            if old_weight is None or old_weight <= weight:
                style[name] = values, weight

    computed_cache = {}
    templates = _templates_for(font_config)
    template_of = {}  # id(render style) → its template
    root_template = None
    self._certseal_templates = templates
    for element in html.wrapper_element.iter_subtree():
        etree_element = element.etree_element
        parent = element.parent.etree_element if element.parent else None
        parent_id = id(computed_styles[parent, None]) if element.parent else None
        element_declarations = elements_declarations.get(etree_element)
        selectors_keys = []
        for sheet, origin, sheet_specificity in sheets:
            for selector in sheet.matcher.match(element):
                specificity, order, pseudo_type, (declarations, layer) = selector
                layer_order = inf if layer is None else sheet.layers.index(layer)
                selectors_keys.append(
                    (sheet, specificity, id(declarations), layer_order))
                specificity = sheet_specificity or specificity
                style = cascaded_styles.setdefault((etree_element, pseudo_type), {})
                for name, values, importance in declarations:
                    precedence = _css.declaration_precedence(origin, importance)
                    weight = (precedence, layer_order, specificity)
                    old_weight = style.get(name, (None, None))[1]
                    if old_weight is None or old_weight <= weight:
                        style[name] = values, weight

        key = (parent_id, element_declarations, tuple(selectors_keys))
        if key in computed_cache:
            computed_styles[etree_element, None] = computed_cache[key]
            continue
        # The marked part: instead of set_computed_styles, a render style from the template
        # of the same key, the parent named by its template. The sheets are in the key (their
        # matched declarations by id, alive as long as the sheet), the base URL too.
        parent_style = computed_styles[parent, None] if parent is not None else None
        parent_template = template_of[id(parent_style)] if parent_style is not None else None
        cascaded = cascaded_styles.get((etree_element, None), {})
        template = _template(
            # The parent by id: the template stored under this key holds it (parent_style), so
            # the id is not reused while the key is kept.
            templates, (id(parent_template), element_declarations, tuple(selectors_keys), html.base_url),
            parent_template, cascaded, root_template, html.base_url, font_config)
        if parent is None:
            root_template = template
            self._certseal_root_template = template
            root_style = _css.InitialStyle(font_config)
        else:
            root_style = computed_styles[html.etree_element, None]
        computed = computed_styles[etree_element, None] = _render_style(
            template, parent_style, cascaded, root_style, html.base_url, font_config, self.initial_page_sizes)
        template_of[id(computed)] = template
        if target_collector and computed['anchor']:
            target_collector.collect_anchor(computed['anchor'])
        computed_cache[key] = computed

    # Pseudo-elements, from their element's style (set_computed_styles below).
    for element, pseudo_type in cascaded_styles:
        if pseudo_type:
            self.set_computed_styles(
                element, pseudo_type=pseudo_type,
                root=html.etree_element, parent=element,
                base_url=html.base_url, target_collector=target_collector)
    self._cascaded_styles.clear()


def _hashable(value):
    """A declaration's weight as a key (a page selector's specificity is a list)."""
    return tuple(map(_hashable, value)) if isinstance(value, (list, tuple)) else value


def set_computed_styles(self, element, parent, root=None, pseudo_type=None, base_url=None, target_collector=None):
    """WeasyPrint's set_computed_styles, for a pseudo-element (::before), a page or a page's
    margin box: a render style from a template keyed by the parent's template, the pseudo
    type and the declarations that apply (the stylesheets' objects, the same every render)."""
    templates = self.__dict__.get("_certseal_templates")
    computed_styles = self.get_computed_styles()
    parent_style = computed_styles.get((parent, None))
    if templates is None or (element == root and pseudo_type is None) or type(parent_style) is not RenderStyle:
        return _weasyprint_set_computed_styles(self, element, parent, root, pseudo_type, base_url, target_collector)
    parent_template = parent_style.template
    # The template keeps its own copy: WeasyPrint may add to a page's declarations later.
    cascaded = dict(self.get_cascaded_styles().get((element, pseudo_type), {}))
    declarations = tuple((name, id(values), _hashable(weight)) for name, (values, weight) in cascaded.items())
    template = _template(
        # The values by id: the template holds them (cascaded), so no id is reused while the
        # key is kept.
        templates, ("pseudo", id(parent_template), pseudo_type, declarations, base_url),
        parent_template, cascaded, self._certseal_root_template, base_url, self.font_config, pseudo_type)
    computed = computed_styles[element, pseudo_type] = _render_style(
        template, parent_style, cascaded, computed_styles[root, None], base_url, self.font_config,
        self.initial_page_sizes, pseudo_type)
    if target_collector and computed["anchor"]:
        target_collector.collect_anchor(computed["anchor"])


def templates_kept(font_config) -> int:
    return len(_current[1]) if _current[0] is font_config else 0


ACTIVE = source_sha256() == CHECKED_SOURCE_SHA256
if ACTIVE:
    _css.StyleFor.__init__ = __init__
    _css.StyleFor.set_computed_styles = set_computed_styles
