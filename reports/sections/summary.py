"""The summary: what data, grid, machine and versions the run used, and what
its data audit found and did."""

from __future__ import annotations

from benchmarks.grid.store import RunStore
from reports._section import Section
from reports._tables import RunTables


def context(tables: RunTables, store: RunStore) -> dict:
    info = tables.info
    split_counts = store.manifest()["split"].value_counts()
    wall = sum(record.timings.wall_seconds for record in tables.records)
    return {
        "synthetic": info.dataset == "synthetic",
        "dataset": info.dataset or "folder",
        "n_images": int(split_counts.sum()),
        "split_counts": ", ".join(
            f"{count} {split}" for split, count in split_counts.items()
        ),
        "fingerprint": info.data_fingerprint,
        "classes": tables.classes,
        "positive": tables.positive,
        "profile": info.profile.name,
        "n_folds": info.n_folds,
        "leave_source_out": info.leave_source_out,
        "seed": info.config.seed,
        "preprocessing": info.config.preprocessing,
        "variants": ", ".join(info.config.variants),
        "grid": "; ".join(str(configuration) for configuration in info.grid),
        "wall_time": f"{wall / 60:.1f} min",
        "n_trials": len(tables.records),
        "machine": ", ".join(f"{key} {value}" for key, value in info.machine.items()),
        "versions": ", ".join(
            f"{name} {version}" for name, version in info.versions.items()
        ),
        "audit": tables.audit,
        "policy": tables.audit["policy"],
        "unreadable_files": tables.audit.get("unreadable_files", [])[:50],
        "conflict_pairs": tables.audit.get("conflict_class_pairs", []),
    }


SECTION = Section("summary", "Summary", "summary.html", context)
