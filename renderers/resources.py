"""Locate packaged data (templates, locales) without relying on the working directory.

`templates` and `locales` ship as namespace packages (no __init__.py). In an editable install
`importlib.resources.files()` returns a plain Path; in a wheel install of a namespace package
it returns a MultiplexedPath. Jinja's FileSystemLoader and WeasyPrint want real directories,
so both shapes are reduced to a Path here, once.
"""
from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path


@cache
def package_dir(package: str) -> Path:
    root = files(package)
    if isinstance(root, Path):
        return root
    # MultiplexedPath (namespace package): it keeps its directories in `_paths`; the first
    # one is where setuptools installed our data.
    paths = getattr(root, "_paths", None)
    if paths:
        return Path(paths[0])
    raise RuntimeError(f"package {package!r} is not on the file system: {root!r}")


def templates_dir() -> Path:
    return package_dir("templates")


def locales_dir() -> Path:
    return package_dir("locales")
