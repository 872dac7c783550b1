"""``audit``: the data set's audit and shortcut probes."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
    add_data_arguments,
    check_cache,
    load,
)
from benchmarks.core.errors import UserError
from benchmarks.core.outputs import writable_file
from benchmarks.grid.progress import activity


class Audit(Command):
    name = "audit"
    help = "check a data set for duplicates, label conflicts, leakage and bad files"
    epilog = f"example:\n  {PROG} audit --data ../shared/data/isic9 --json audit.json"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.data.audit import DEFAULT_NEAR_THRESHOLD

        add_data_arguments(parser)
        parser.add_argument(
            "--json", metavar="FILE", help="also write the facts as JSON"
        )
        parser.add_argument(
            "--near-threshold",
            type=int,
            default=DEFAULT_NEAR_THRESHOLD,
            metavar="BITS",
            help="perceptual-hash bits two near duplicates may differ by "
            f"(default {DEFAULT_NEAR_THRESHOLD})",
        )
        parser.add_argument(
            "--positive-class",
            metavar="NAME",
            help="the class the shortcut probes look for (default: the data "
            "set's melanoma)",
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.core.cache import atomic_write_json
        from benchmarks.data.audit import audit
        from benchmarks.data.segment import audit_line, audit_masks

        if not 0 <= args.near_threshold <= 32:
            raise UserError(
                f"--near-threshold {args.near_threshold}: choose from 0 to 32 bits"
            )
        if args.json:
            writable_file(args.json, "--json")
        check_cache(args.cache)
        manifest = load(args)
        with activity(f"auditing {len(manifest)} images"):
            report = audit(manifest, near_threshold=args.near_threshold)
        print(report.to_text())
        facts = report.to_dict()
        with activity("segmenting the lesions"):
            facts["segmentation"] = audit_masks(manifest, cache=args.cache)
        print(audit_line(facts["segmentation"]))
        with activity("probing for shortcuts"):
            facts["shortcuts"] = _shortcut_audit(manifest, args)
        if args.json:
            atomic_write_json(Path(args.json), facts)
            print(f"\nwrote {args.json}")
        return 1 if args.strict and facts["unreadable"] else 0


def _shortcut_audit(manifest, args: argparse.Namespace) -> dict:
    """The shortcut probes of an audit, printed; a set they cannot probe says why."""
    from benchmarks.data.datasets import INFO
    from benchmarks.data.shortcuts import shortcut_probes, to_text

    info = INFO.get(manifest.attrs.get("dataset", ""))
    positive = args.positive_class or (info.melanoma_class if info else "melanoma")
    try:
        result = shortcut_probes(manifest, positive, cache=args.cache)
    except UserError as error:
        print(f"\nshortcut probes skipped: {error}")
        return {"skipped": str(error), "flagged": []}
    print("\n" + to_text(result))
    return result
