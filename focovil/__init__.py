"""FoCoViL: live, view-invariant action recognition from a camera, one import name.

``focovil.realtime`` (the app) and ``focovil.training`` (what makes encoder files) are the repository's
top-level ``realtime/`` and ``training/`` folders: a wheel installs them under this package
(pyproject.toml maps them); in a checkout the finder below maps the same two names, so a module has
one name, installed or not. The public API (``focovil.open``, ``focovil.ActionRecognizer``, ``focovil.Result``, ...) is
``focovil.realtime.api``, loaded on first use so that ``import focovil`` alone stays light.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parent
_MAPPED = ("realtime", "training")


class _CheckoutFinder(importlib.abc.MetaPathFinder):
    """``focovil.realtime`` -> ``<checkout>/realtime`` (and ``training``): a checkout's layout."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, child = fullname.partition(".")
        if package != __name__ or child not in _MAPPED:
            return None
        folder = _CHECKOUT / child
        return importlib.util.spec_from_file_location(fullname, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])


if not (_HERE / "realtime").is_dir() and (_CHECKOUT / "realtime" / "__init__.py").is_file() \
        and not any(isinstance(f, _CheckoutFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _CheckoutFinder())

__version__ = "0.1.0"
_API = ("open", "ActionRecognizer", "Result", "Occurrence", "Error", "SCHEMA_VERSION", "DEMO_CLIP")
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        from focovil.realtime import api
        return getattr(api, name)
    raise AttributeError(f"module 'focovil' has no attribute {name!r}")
