"""Plug-ins: registry entries that live in other distributions or modules.

Two ways in, as pytest and asv take theirs: an entry point in a named group
(``melanoma_bench.models``, ``melanoma_bench.strategies``,
``melanoma_bench.preprocessing``), or, for a family, a ``module:attribute``
path on the command line. Either names a spec, or a callable that returns one.

Importing a path runs its code, so only a path this process's caller named
is imported (``allow``: the command line, or a ``RunConfig`` built in
Python); one that a run or model folder names is refused, never imported.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from benchmarks.core.errors import UserError

MODELS_GROUP = "melanoma_bench.models"
STRATEGIES_GROUP = "melanoma_bench.strategies"
PREPROCESSING_GROUP = "melanoma_bench.preprocessing"


def is_path(name: str) -> bool:
    """Whether ``name`` is a ``module:attribute`` path rather than a name."""
    module, colon, attribute = name.partition(":")
    return bool(colon and module and attribute) and "." in module + attribute


def _spec(loaded: Any, kind: type, where: str) -> Any:
    spec = loaded
    if callable(loaded) and not isinstance(loaded, kind):
        try:
            spec = loaded()
        except Exception as error:  # a broken plug-in must not break the suite
            raise UserError(
                f"{where}: the plug-in's factory raised {type(error).__name__}: "
                f"{error}; fix the plug-in or leave it out"
            ) from None
    if not isinstance(spec, kind):
        raise UserError(
            f"{where}: gives a {type(spec).__name__}, not a {kind.__name__}; "
            f"return a benchmarks {kind.__name__} from it"
        )
    return spec


#: The ``module:attribute`` paths this process was told to import.
_ALLOWED: set[str] = set()


def allow(paths: Iterable[str]) -> None:
    """Let ``load_path`` import ``paths``: the caller named them (the command
    line, or a ``RunConfig`` built in Python), so running their code is asked
    for."""
    _ALLOWED.update(path for path in paths if is_path(path))


def allowed(paths: Iterable[str]) -> tuple[str, ...]:
    """Those of ``paths`` that ``load_path`` may import."""
    return tuple(path for path in paths if path in _ALLOWED)


def load_path(path: str, kind: type) -> Any:
    """The spec a ``module:attribute`` path names (or its callable returns);
    refused unless the caller named it (``allow``)."""
    if path not in _ALLOWED:
        raise UserError(
            f"plug-in {path}: named by a run or model folder, and a folder's "
            "plug-ins are never imported from it; install the plug-in (an entry "
            f"point), or pass --plugin {path} if you trust its code (naming it "
            "runs it)"
        )
    return _import(path, kind)


@functools.cache
def _import(path: str, kind: type) -> Any:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UserError(
            f"{path}: cannot import {module_name} ({error}); install it or fix the "
            "module path"
        ) from None
    try:
        loaded = functools.reduce(getattr, attribute.split("."), module)
    except AttributeError:
        raise UserError(f"{path}: {module_name} has no {attribute}") from None
    return _spec(loaded, kind, path)


@functools.cache
def load_group(group: str, kind: type) -> dict[str, Any]:
    """Every entry point of ``group`` as name -> spec; the spec's own name must
    be the entry point's."""
    specs = {}
    for point in sorted(entry_points(group=group), key=lambda point: point.name):
        where = f"entry point {point.name} = {point.value} ({group})"
        try:
            loaded = point.load()
        except Exception as error:  # a broken plug-in must not break the suite
            raise UserError(f"{where}: cannot be loaded ({error})") from None
        spec = _spec(loaded, kind, where)
        if spec.name != point.name:
            raise UserError(
                f"{where}: its spec is named {spec.name!r}; name the entry point "
                "the same"
            )
        specs[point.name] = spec
    return specs
