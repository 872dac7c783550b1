"""Name -> family: the built-ins, entry-point plug-ins and ``module:factory`` paths."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from benchmarks.core.errors import UserError
from benchmarks.core.plugins import MODELS_GROUP, is_path, load_group, load_path
from benchmarks.data.preprocessing import get as get_preprocessing
from benchmarks.grid.configuration import Trial
from benchmarks.grid.families._builtin import BUILTIN
from benchmarks.grid.families._spec import Family
from benchmarks.grid.families._variant import FamilyVariant

FAMILIES: dict[str, Family] = {family.name: family for family in BUILTIN}


def installed() -> dict[str, Family]:
    """The built-ins, then every family installed through an entry point."""
    found = dict(FAMILIES)
    for name, family in load_group(MODELS_GROUP, Family).items():
        if name in found:
            raise UserError(
                f"entry point {name} ({MODELS_GROUP}): a built-in family has that "
                "name; rename the plug-in's family"
            )
        found[name] = family
    return found


def default_names() -> tuple[str, ...]:
    """What ``run all`` runs: the built-ins marked default, in leaderboard order."""
    return tuple(name for name, family in FAMILIES.items() if family.default)


def variant(spec: Family, preprocessing: str) -> Family:
    """``spec`` reading its inputs (and its parts theirs) preprocessed by
    ``preprocessing``: the family ``NAME@PREPROCESSING``."""
    name = str(FamilyVariant(spec.name, preprocessing))
    if not spec.preprocessed:
        raise UserError(
            f"--models {name}: {spec.name} reads its images as shot; it has no "
            "preprocessing variants"
        )
    get_preprocessing(preprocessing)
    return dataclasses.replace(
        spec,
        name=name,
        parts=tuple(str(FamilyVariant(part, preprocessing)) for part in spec.parts),
        preprocessing=preprocessing,
    )


def resolve(name: str) -> Family:
    """The family a ``--models`` item names: a family, a ``module:factory``
    or a variant ``NAME@PREPROCESSING``."""
    parsed = FamilyVariant.parse(name)
    if parsed.preprocessing is not None and not is_path(name):
        return variant(resolve(parsed.family), parsed.preprocessing)
    if is_path(name):
        return load_path(name, Family)
    families = installed()
    if name not in families:
        raise UserError(
            f"--models {name}: unknown; choose from {', '.join(families)}, or give "
            "a plug-in as module:factory"
        )
    return families[name]


def family(name: str, plugins: Iterable[str] = ()) -> Family:
    """The family named ``name``: installed, or from one of the ``plugins`` paths
    the run was given."""
    parsed = FamilyVariant.parse(name)
    if parsed.preprocessing is not None and not is_path(name):
        return variant(family(parsed.family, plugins), parsed.preprocessing)
    families = installed()
    if name in families:
        return families[name]
    for path in plugins:
        if is_path(path) and (found := load_path(path, Family)).name == name:
            return found
    raise UserError(
        f"model family {name!r} is not installed here; install the plug-in that "
        "provides it, or name its module:factory (--plugin, for train and triage)"
    )


def with_parts(names: Iterable[str], plugins: Iterable[str] = ()) -> list[str]:
    """``names`` with every family they read from, each after its parts."""
    plugins = tuple(plugins)
    ordered: list[str] = []

    def add(name: str, chain: tuple[str, ...]) -> None:
        if name in chain:
            raise UserError(f"model family {name!r} reads itself through its parts")
        for part in family(name, plugins).parts:
            add(part, (*chain, name))
        if name not in ordered:
            ordered.append(name)

    for name in names:
        add(name, ())
    return ordered


def needs(trial: Trial, plugins: Iterable[str] = ()) -> tuple[Trial, ...]:
    """The trials whose output ``trial`` reads: its parts', same strategy and fold."""
    return tuple(trial.on(part) for part in family(trial.model, plugins).parts)


def stage(trial: Trial, plugins: Iterable[str] = ()) -> int:
    """When it runs: 0 reads nothing, 1 reads its parts' output (the depth of
    its parts), and reference families last, so that our leaderboard is
    whole first."""
    spec = family(trial.model, plugins)
    if spec.reference:
        return 1000
    return 1 + max((stage(need, plugins) for need in needs(trial, plugins)), default=-1)


def embedded(name: str, plugins: Iterable[str] = ()) -> bool:
    """Whether another family reads ``name``'s embeddings (so its trials keep them)."""
    candidates = [*installed().values()]
    candidates += [load_path(path, Family) for path in plugins if is_path(path)]
    base = FamilyVariant.parse(name).family
    return any(spec.reads_embeddings and base in spec.parts for spec in candidates)
