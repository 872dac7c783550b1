"""The command line: ``python -m benchmarks`` (also installed as ``melanoma-bench``)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmarks import __version__
from benchmarks.errors import UserError
from benchmarks.outputs import writable_file, writable_folder
from benchmarks.progress import activity, quiet_libraries, status_lines

logger = logging.getLogger("benchmarks")

PROG = "python -m benchmarks"


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        action="append",
        metavar="[NAME=]PATH",
        help="a folder of class sub-folders (optionally under Train/ and Test/), "
        "a metadata .csv, or 'synthetic' (default: the embedded synthetic set); "
        "repeat it to combine sources, each image keeping its source's NAME "
        "(default: the folder's name)",
    )
    group.add_argument(
        "--images", metavar="DIR", help="image folder of a .csv (default: its folder)"
    )
    group.add_argument("--id-column", metavar="NAME", help="CSV image id column")
    group.add_argument("--label-column", metavar="NAME", help="CSV label column")
    group.add_argument("--group-column", metavar="NAME", help="CSV lesion id column")
    group.add_argument(
        "--strict",
        action="store_true",
        help="treat an unreadable image as an error instead of skipping it",
    )
    _add_cache_argument(group)


def _add_cache_argument(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="cache folder for decoded images and hashes "
        "(default: $MELANOMA_BENCH_CACHE or the user cache folder)",
    )


def _add_plugin_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE:FACTORY",
        help="a plug-in family the folder was made with that is not installed; "
        "naming it runs its code (a folder's own list is never imported)",
    )


def _allow_plugins(names: list[str]) -> None:
    """Let the plug-ins named with --plugin be imported (and run)."""
    from benchmarks.plugins import allow, is_path

    for name in names:
        if not is_path(name):
            raise UserError(
                f"--plugin {name}: write MODULE:FACTORY, such as "
                "examples.logistic_regression:family"
            )
    allow(names)


def _data(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(args.data or ["synthetic"])


def _check_cache(cache: str | None) -> None:
    """The cache folder can be written, before any work (--cache, else the
    environment's or the user's)."""
    import os

    from benchmarks.cache import CACHE_ENV

    chosen = cache or os.environ.get(CACHE_ENV)
    if chosen:
        writable_folder(chosen, "--cache" if cache else CACHE_ENV)


def _load(args: argparse.Namespace):
    from benchmarks.sources import is_synthetic, load_sources

    if is_synthetic(_data(args)):
        logger.warning(
            "data: the embedded SYNTHETIC set (pass --data PATH for real data)"
        )
    return load_sources(
        _data(args),
        images=args.images,
        id_column=args.id_column,
        label_column=args.label_column,
        group_column=args.group_column,
        cache=args.cache,
    )


class Command:
    """One subcommand: registers its arguments and runs from parsed arguments."""

    name: str
    help: str
    epilog: str = ""

    def register(
        self, subparsers: argparse._SubParsersAction, *, arguments: bool = True
    ) -> None:
        """Add the subcommand; ``arguments=False`` leaves its options out (they
        import what the command needs, which '--help' alone must not wait for)."""
        parser = subparsers.add_parser(
            self.name,
            help=self.help,
            description=self.help,
            epilog=self.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if arguments:
            self.add_arguments(parser)
        parser.set_defaults(command=self)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Subcommands with options override this."""

    def execute(self, args: argparse.Namespace) -> int:
        raise NotImplementedError


class Audit(Command):
    name = "audit"
    help = "check a data set for duplicates, label conflicts, leakage and bad files"
    epilog = f"example:\n  {PROG} audit --data ../shared/data/isic9 --json audit.json"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.audit import DEFAULT_NEAR_THRESHOLD

        _add_data_arguments(parser)
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
        from benchmarks.audit import audit
        from benchmarks.cache import atomic_write_json
        from benchmarks.segment import audit_line, audit_masks

        if not 0 <= args.near_threshold <= 32:
            raise UserError(
                f"--near-threshold {args.near_threshold}: choose from 0 to 32 bits"
            )
        if args.json:
            writable_file(args.json, "--json")
        _check_cache(args.cache)
        manifest = _load(args)
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
    from benchmarks.datasets import INFO
    from benchmarks.shortcuts import shortcut_probes, to_text

    info = INFO.get(manifest.attrs.get("dataset", ""))
    positive = args.positive_class or (info.melanoma_class if info else "melanoma")
    try:
        result = shortcut_probes(manifest, positive, cache=args.cache)
    except UserError as error:
        print(f"\nshortcut probes skipped: {error}")
        return {"skipped": str(error), "flagged": []}
    print("\n" + to_text(result))
    return result


class Features(Command):
    name = "features"
    help = "export the handcrafted ABCD/colour/texture feature table as Parquet"
    epilog = (
        f"example:\n  {PROG} features --data ../shared/data/isic9 --out isic9.parquet"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.feature_cache import FEATURE_SIZE

        _add_data_arguments(parser)
        parser.add_argument("--out", required=True, metavar="FILE.parquet")
        parser.add_argument(
            "--size",
            type=int,
            default=FEATURE_SIZE,
            help=f"image side the features are computed at (default {FEATURE_SIZE})",
        )

    def execute(self, args: argparse.Namespace) -> int:
        import pandas as pd

        from benchmarks.cache import atomic_write
        from benchmarks.datasets import drop_unreadable, relative_path
        from benchmarks.feature_cache import load_features

        out = Path(args.out)
        if out.suffix.lower() != ".parquet":
            raise UserError(f"--out {out}: name a .parquet file")
        if not 32 <= args.size <= 1024:
            raise UserError(f"--size {args.size}: choose from 32 to 1024 pixels")
        writable_file(out, "--out")
        _check_cache(args.cache)
        manifest = drop_unreadable(_load(args), strict=args.strict)
        with activity(f"features of {len(manifest)} images"):
            table = load_features(manifest, size=args.size, cache=args.cache)
        identity = pd.DataFrame(
            {
                "file": [relative_path(path, manifest) for path in manifest["path"]],
                "label": manifest["label"],
                "split": manifest["split"],
                "sha256": manifest["sha256"],
            }
        )
        described = pd.concat([identity, table], axis=1)
        atomic_write(out, lambda stream: described.to_parquet(stream, index=False))
        print(f"wrote {len(table)} rows x {table.shape[1]} features to {out}")
        return 0


def _listed(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


class Run(Command):
    name = "run"
    help = "run a benchmark grid: models x imbalance strategies x folds"
    epilog = (
        "examples:\n"
        f"  {PROG} run all                       # synthetic data, quick profile\n"
        f"  {PROG} run all --data ../shared/data/isic9 --profile full\n"
        f"  {PROG} run xgb,cnn --strategies none,smote --folds 3\n\n"
        "Re-running the same command resumes: finished trials are not redone."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.config import (
            CALIBRATIONS,
            CV_SCHEMES,
            EXECUTORS,
            PRECISIONS,
            PROFILES,
        )
        from benchmarks.preprocessing import PREPROCESSING

        parser.add_argument(
            "what",
            nargs="?",
            metavar="all|MODEL[,MODEL]",
            help="'all' (the built-in families) or a comma-separated list of "
            "families ('list models'), plug-ins as module:factory; or --models",
        )
        _add_data_arguments(parser)
        parser.add_argument(
            "--external",
            action="append",
            default=[],
            metavar="[NAME=]PATH",
            help="an external set every final fit scores, never trained on: a "
            "folder or a metadata .csv, as --data; images also in the training "
            "data are dropped and reported (repeatable)",
        )
        parser.add_argument(
            "--label-map",
            metavar="FILE.csv",
            help="external label -> training class, two columns (HAM10000's dx "
            "codes and common spellings are known)",
        )
        grid = parser.add_argument_group("grid")
        grid.add_argument(
            "--models",
            metavar="LIST",
            help="models, comma-separated (same as the positional argument)",
        )
        grid.add_argument(
            "--strategies",
            metavar="LIST",
            help="comma-separated strategies ('list strategies'), or any "
            "imbalanced-learn sampler as imblearn:NAME (default: the built-ins; a "
            "reference family runs under the first only unless named here)",
        )
        grid.add_argument(
            "--profile",
            choices=list(PROFILES),
            default="quick",
            help="how much training: quick (3 folds, short) or full (5 folds)",
        )
        grid.add_argument(
            "--folds", type=int, help="number of folds (default: the profile's)"
        )
        grid.add_argument(
            "--cv",
            choices=list(CV_SCHEMES),
            help="how folds are drawn: stratified by class, one lesion's images "
            "together; or leave-source-out, each --data source scored by models "
            "trained on the others (default: leave-source-out with two or more "
            "sources, else stratified)",
        )
        grid.add_argument("--seed", type=int, default=0, help="(default 0)")
        grid.add_argument(
            "--positive-class",
            metavar="NAME",
            help="the class of binary figures (default: the data set's melanoma)",
        )
        grid.add_argument(
            "--preprocessing",
            default="none",
            metavar="LIST",
            help="what is done to images before any family reads them or their "
            f"features ({', '.join(PREPROCESSING)}; the seed-cnn reference sees "
            "them as shot); shades-of-gray removes each image's colour cast, "
            "lesion-crop the frame around the lesion. Name several to make it an "
            "axis of the grid: each further one adds every family's variant "
            "MODEL@NAME (default none)",
        )
        grid.add_argument(
            "--model-option",
            action="append",
            default=[],
            metavar="MODEL.NAME=VALUE",
            help="a setting of one family's estimator, such as "
            "transfer.weights=backbone.h5 (repeatable)",
        )
        grid.add_argument(
            "--calibration",
            choices=list(CALIBRATIONS),
            default="none",
            help="post-hoc calibration of the feature-based families' "
            "probabilities, fitted on slices of each fold's training part (the "
            "CNNs are left as they are): sigmoid, isotonic or temperature "
            "(default none)",
        )
        grid.add_argument(
            "--precision",
            choices=list(PRECISIONS),
            default="float32",
            help="the networks' compute precision: mixed_bfloat16 trains faster "
            "on CPUs with AVX512-BF16 or AMX and on recent GPUs; its figures "
            "differ a little (docs/speed.md); default float32",
        )
        policy = parser.add_argument_group("audit policies")
        policy.add_argument(
            "--conflicts",
            choices=["keep", "drop"],
            default="keep",
            help="identical images under two labels: keep them (grouped in one "
            "fold) or drop them (default keep)",
        )
        policy.add_argument(
            "--test-leaks",
            choices=["keep", "drop"],
            default="keep",
            help="Test images with a copy in Train: keep or drop (default keep)",
        )
        execution = parser.add_argument_group("execution")
        execution.add_argument(
            "--jobs",
            type=int,
            help="trials run side by side, with the same figures whatever the "
            "number (default: one per core, as memory allows)",
        )
        execution.add_argument(
            "--executor",
            choices=list(EXECUTORS),
            default="local",
            help="where trials run: local processes (--jobs) or a Dask cluster "
            "(--scheduler); default local",
        )
        execution.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            help="the Dask scheduler, such as tcp://host:8786 (with --executor dask)",
        )
        execution.add_argument(
            "--out", default="runs", metavar="DIR", help="runs folder (default runs)"
        )
        execution.add_argument(
            "--no-report", action="store_true", help="skip RUN_DIR/report.html"
        )
        execution.add_argument(
            "--dry-run",
            action="store_true",
            help="print the grid, what the run folder and cache already hold and "
            "the estimated wall time; run nothing",
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.config import RunConfig
        from benchmarks.external import ExternalSource
        from benchmarks.leaderboard import leaderboard_of, to_text
        from benchmarks.plugins import is_path
        from benchmarks.runner import run
        from benchmarks.sources import is_synthetic

        writable_folder(args.out, "--out")
        _check_cache(args.cache)
        if args.models and args.what not in (None, "all"):
            raise UserError(
                "name the models once: 'run all --models LIST' or 'run LIST'"
            )
        chosen = args.models or args.what
        if chosen is None:
            raise UserError("run: name the models, such as 'run all' or 'run xgb'")
        models = None if chosen == "all" else _listed(chosen)
        named = [name for name in models or () if is_path(name)]
        if args.dry_run and named:
            raise UserError(
                f"--dry-run runs nothing, but naming the plug-in {named[0]} runs "
                "its code; drop --dry-run, or install the plug-in (an entry point) "
                "to estimate its grid"
            )
        strategies = _listed(args.strategies) if args.strategies else None
        options = []
        for setting in args.model_option:
            name, equals, value = setting.partition("=")
            if not equals:
                raise UserError(
                    f"--model-option {setting}: write MODEL.NAME=VALUE, such as "
                    "transfer.weights=backbone.h5"
                )
            options.append((name.strip(), value.strip()))
        config = RunConfig(
            data=_data(args),
            images=args.images,
            id_column=args.id_column,
            label_column=args.label_column,
            group_column=args.group_column,
            models=models,
            strategies=strategies,
            profile=args.profile,
            folds=args.folds,
            cv=args.cv,
            seed=args.seed,
            conflicts=args.conflicts,
            test_leaks=args.test_leaks,
            positive_class=args.positive_class,
            preprocessing=(_listed(args.preprocessing) or ("none",))[0],
            variants=_listed(args.preprocessing)[1:],
            model_options=tuple(options),
            external=tuple(
                (source.name, source.path)
                for source in map(ExternalSource.parse, args.external)
            ),
            label_map=args.label_map,
            strict=args.strict,
            calibration=args.calibration,
            precision=args.precision,
            jobs=args.jobs,
            executor=args.executor,
            scheduler=args.scheduler,
        )
        if args.dry_run:
            from benchmarks.runner import dry_run

            print(
                dry_run(config, args.out, cache=args.cache, report=not args.no_report)
            )
            return 0
        if is_synthetic(config.data):
            print(
                "melanoma-bench: running on the embedded SYNTHETIC data set "
                f"({args.profile} profile); pass --data PATH for real images",
                file=sys.stderr,
            )
        logging.getLogger("benchmarks.runner").setLevel(logging.INFO)
        store = run(config, args.out, cache=args.cache)
        board = leaderboard_of(store)
        print(to_text(board))
        print(f"\nresults: {store.run_dir}")
        if not args.no_report:
            import time

            from benchmarks.estimate import record_timings, step_entry
            from reports import write_report

            started = time.perf_counter()
            page = write_report(store.run_dir)
            spent = time.perf_counter() - started
            record_timings([step_entry("report", 1, spent)], args.cache)
            print(f"report: {page}")
        failures = store.errors()
        if failures:
            total = len(failures) + len(store.done())
            print(
                f"melanoma-bench: {len(failures)} of {total} trials failed (errors "
                f"in {store.errors_dir}); run the same command again to retry them",
                file=sys.stderr,
            )
            return 1
        return 0


class Report(Command):
    name = "report"
    help = "write the HTML comparison report of a run"
    epilog = (
        f"example:\n  {PROG} report runs/full-0123456789ab\n\n"
        "Writes RUN_DIR/report.html (one self-contained file), leaderboard.csv "
        "and metrics.json."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by run")

    def execute(self, args: argparse.Namespace) -> int:
        from reports import write_report

        if not Path(args.run_dir).is_dir():
            raise UserError(f"{args.run_dir}: no such folder; pass a run folder")
        writable_folder(args.run_dir, "RUN_DIR")
        print(f"wrote {write_report(args.run_dir)}")
        return 0


class Verify(Command):
    name = "verify"
    help = "check a run folder's records and the cache's entries; name the damaged"
    epilog = (
        f"example:\n  {PROG} verify runs/quick-0123456789ab\n\n"
        "Changes nothing. Exit 0 when every part reads back whole, 1 when some "
        "do not: run the grid's command again to set damaged trials aside and "
        "compute them anew (and rewrite a damaged manifest or audit); a damaged "
        "cache entry is rebuilt the next time it is needed."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by run")
        _add_cache_argument(parser)

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.verify import cache_problems, run_folder_problems

        if not Path(args.run_dir).is_dir():
            raise UserError(f"{args.run_dir}: no such folder; pass a run folder")
        run_folder = run_folder_problems(args.run_dir)
        cache = cache_problems(args.cache)
        for line in run_folder + cache:
            print(line)
        print(
            f"{len(run_folder)} damaged in the run folder (run the grid's command "
            f"again to redo them), {len(cache)} damaged cache entries (rebuilt when "
            "next needed)"
        )
        return 1 if run_folder or cache else 0


class Export(Command):
    name = "export"
    help = "export a finished run to an experiment tracker (MLflow)"
    epilog = (
        "examples:\n"
        f"  {PROG} export mlflow runs/quick-0123456789ab\n"
        f"  {PROG} export mlflow RUN_DIR --tracking-uri http://127.0.0.1:5000 "
        "--experiment isic9\n\n"
        "One MLflow run for the run folder (params, report.html, leaderboard.csv),\n"
        "one nested under it per configuration (its leaderboard row), and under\n"
        "each one per fold and one for Test (figures, learning curves). Exporting\n"
        "again updates those runs instead of adding new ones. Needs\n"
        "pip install 'melanoma-bench[mlflow]'."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.mlflow_export import DEFAULT_EXPERIMENT

        parser.add_argument("target", choices=["mlflow"], help="where to export")
        parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by run")
        parser.add_argument(
            "--tracking-uri",
            metavar="URI",
            help="the MLflow tracking server or store, such as http://host:5000 "
            "or sqlite:///mlflow.db (default: $MLFLOW_TRACKING_URI, else "
            "MLflow's own default)",
        )
        parser.add_argument(
            "--experiment",
            default=DEFAULT_EXPERIMENT,
            metavar="NAME",
            help="the MLflow experiment, made when missing (default "
            f"{DEFAULT_EXPERIMENT})",
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.mlflow_export import export_mlflow

        if not Path(args.run_dir).is_dir():
            raise UserError(f"{args.run_dir}: no such folder; pass a run folder")
        summary = export_mlflow(
            args.run_dir, tracking_uri=args.tracking_uri, experiment=args.experiment
        )
        print(
            f"exported {summary.run_id} to MLflow at {summary.tracking_uri}, "
            f"experiment {summary.experiment} ({summary.experiment_id}): "
            f"{summary.created} runs created, {summary.updated} updated; "
            f"run {summary.mlflow_run_id}"
        )
        return 0


class Compare(Command):
    name = "compare"
    help = "compare a run with a baseline (regression gate), or two runs"
    epilog = (
        "examples:\n"
        f"  {PROG} compare RUN_DIR --baseline baselines/synthetic-quick.json\n"
        f"  {PROG} compare RUN_DIR --baseline new.json --update\n"
        f"  {PROG} compare runs/quick-0123456789ab runs/quick-ba9876543210\n\n"
        "With --baseline, exit status: 0 nothing worse, 1 something worse, 2 "
        "unusable input.\nTwo runs: each configuration both ran, the change of "
        "each ranking figure (B - A),\npaired over folds when both drew the same "
        "folds from the same data; exit 0."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by run")
        parser.add_argument(
            "other",
            nargs="?",
            metavar="RUN_B",
            help="a second run folder to compare RUN_DIR with (instead of --baseline)",
        )
        parser.add_argument("--baseline", metavar="FILE.json")
        parser.add_argument(
            "--update",
            action="store_true",
            help="write the run's figures as the new baseline (keeps the file's "
            "tolerance) instead of comparing",
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.compare import (
            absent_text,
            compare,
            compare_runs,
            not_compared,
            read_baseline,
            runs_to_text,
            to_text,
            write_baseline,
        )
        from benchmarks.store import RunStore

        if (args.other is None) == (args.baseline is None):
            raise UserError(
                "compare: name a second run folder or --baseline FILE.json, one of "
                f"the two, such as '{PROG} compare RUN_A RUN_B'"
            )
        for folder in (args.run_dir, args.other):
            if folder is not None and not Path(folder).is_dir():
                raise UserError(f"{folder}: no such folder; pass a run folder")
        store = RunStore(args.run_dir)
        if args.other is not None:
            if args.update:
                raise UserError("--update: only with --baseline FILE.json")
            print(runs_to_text(compare_runs(store, RunStore(args.other))))
            return 0
        path = Path(args.baseline)
        if args.update:
            write_baseline(store, path)
            print(f"wrote baseline {path} from {store.run_dir}")
            return 0
        baseline = read_baseline(path)
        verdicts = compare(store, baseline)
        print(to_text(verdicts))
        absent = not_compared(store, baseline)
        if absent:
            print(absent_text(store, absent))
        return 1 if any(verdict.status == "worse" for verdict in verdicts) else 0


def _progress_line(line: str) -> None:
    print(line, file=sys.stderr)


class Train(Command):
    name = "train"
    help = "fit a run's best (or chosen) configuration for triage and save it"
    epilog = (
        "examples:\n"
        f"  {PROG} train --run runs/full-0123456789ab --out melanoma-model\n"
        f"  {PROG} train --run RUN_DIR --config xgb:none --target-sensitivity 0.97 "
        "--out MODEL_DIR\n\n"
        "Fits on the run's cross-validation images (its Test split stays held out)\n"
        "and sets the URGENT threshold on the run's out-of-fold scores."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.threshold import TARGET_SENSITIVITY

        parser.add_argument(
            "--run", required=True, metavar="RUN_DIR", help="a folder made by run"
        )
        parser.add_argument(
            "--config",
            metavar="MODEL:STRATEGY",
            help="the configuration to fit, such as xgb:none (default: the "
            "leaderboard's best)",
        )
        parser.add_argument(
            "--target-sensitivity",
            type=float,
            default=TARGET_SENSITIVITY,
            metavar="S",
            help="share of out-of-fold melanomas the URGENT threshold must flag "
            f"(default {TARGET_SENSITIVITY})",
        )
        parser.add_argument(
            "--out",
            required=True,
            metavar="MODEL_DIR",
            help="a new or empty folder, or an earlier model folder to replace",
        )
        parser.add_argument(
            "--data",
            metavar="PATH",
            help="the run's data, where the run's own path no longer reaches it "
            "(CNN models whose images are not in the cache need it)",
        )
        _add_cache_argument(parser)
        _add_plugin_argument(parser)

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.training import train

        _allow_plugins(args.plugin)
        folder, metadata = train(
            args.run,
            args.out,
            configuration=args.config,
            target_sensitivity=args.target_sensitivity,
            data=args.data,
            cache=args.cache,
            write=_progress_line,
        )
        print(
            f"wrote {folder}: {metadata['model']}:{metadata['strategy']}, URGENT at "
            f"melanoma probability >= {metadata['threshold']['threshold']:.4f}"
        )
        return 0


class Triage(Command):
    name = "triage"
    help = "rank new images, likely melanomas first: a worklist for a dermatologist"
    epilog = (
        f"example:\n  {PROG} triage --model melanoma-model --images new-lesions "
        "--out worklist\n\n"
        "Writes OUT/worklist.csv and OUT/worklist.html (most urgent first) and\n"
        "OUT/unreadable.csv (files that could not be scored)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--model", required=True, metavar="MODEL_DIR", help="a folder made by train"
        )
        parser.add_argument(
            "--images",
            required=True,
            metavar="DIR",
            help="a folder of JPEG/PNG/... images, sub-folders included",
        )
        parser.add_argument("--out", required=True, metavar="OUT", help="output folder")
        parser.add_argument(
            "--jobs",
            type=int,
            help="processes decoding images (default: every core)",
        )
        parser.add_argument(
            "--explain",
            action="store_true",
            help="say why each URGENT image scored high: the three feature groups "
            "that raised its melanoma score most, or the network's Grad-CAM heat "
            "map (slower when many images are URGENT)",
        )
        _add_plugin_argument(parser)
        parser.add_argument(
            "--calibrate",
            metavar="FILE.csv",
            help="set this site's URGENT threshold from a few dozen of its labelled "
            "images: a CSV with columns file (absolute or relative to the CSV) and "
            "label (a training class such as melanoma or nevus); they are left "
            "out of the worklist",
        )
        parser.add_argument(
            "--flag-top",
            metavar="N|PCT%",
            help="flag the N (or PCT%%) highest-scoring images as URGENT instead of "
            "any threshold, such as 20 or 10%%",
        )

    def execute(self, args: argparse.Namespace) -> int:
        import warnings

        from benchmarks.model_dir import ModelVersionWarning, load_model
        from benchmarks.triage import PAGE, UNREADABLE, WORKLIST, triage

        if args.jobs is not None and args.jobs < 1:
            raise UserError(f"--jobs {args.jobs}: choose a whole number >= 1")
        _allow_plugins(args.plugin)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ModelVersionWarning)
            model = load_model(args.model)
        # After the model is known good, before any image is read.
        writable_folder(args.out, "--out")
        for item in caught:
            if issubclass(item.category, ModelVersionWarning):
                print(f"melanoma-bench: warning: {item.message}", file=sys.stderr)
            else:
                warnings.showwarning(
                    item.message, item.category, item.filename, item.lineno
                )
        with status_lines() as write:
            result = triage(
                model,
                args.images,
                args.out,
                n_jobs=args.jobs,
                write=write,
                explain=args.explain,
                calibrate=args.calibrate,
                flag_top=args.flag_top,
            )
        if result.warning:
            print(f"melanoma-bench: warning: {result.warning}", file=sys.stderr)
            if not (args.calibrate or args.flag_top):
                print(
                    "melanoma-bench: warning: do not trust the model's URGENT "
                    "threshold for these images; set the site's with --calibrate "
                    "FILE.csv or flag the top of the list with --flag-top N",
                    file=sys.stderr,
                )
        if result.scored == result.unreadable == 0:
            print(
                f"melanoma-bench: warning: no files in {args.images}; the worklist "
                "is empty",
                file=sys.stderr,
            )
        print(
            f"scored {result.scored} images in {result.seconds:.1f} s "
            f"({result.images_per_second:.0f}/s): {result.urgent} URGENT, "
            f"{result.unreadable} not scored"
        )
        if result.threshold_note:
            print(f"URGENT: {result.threshold_note}")
        for name in (WORKLIST, PAGE, UNREADABLE):
            print(f"  {result.out / name}")
        return 0


class List(Command):
    name = "list"
    help = "list what the suite knows: data sets, models, strategies, runs"
    epilog = f"examples:\n  {PROG} list models\n  {PROG} list runs --out runs"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "what",
            choices=["datasets", "models", "strategies", "preprocessing", "runs"],
        )
        parser.add_argument(
            "--out", default="runs", metavar="DIR", help="runs folder (default runs)"
        )

    def execute(self, args: argparse.Namespace) -> int:
        if args.what == "datasets":
            from benchmarks.datasets import INFO

            for info in INFO.values():
                classes = (
                    f"{len(info.classes)} classes" if info.classes else "any classes"
                )
                print(
                    f"{info.name:<14}{classes:<14}melanoma class: {info.melanoma_class}"
                )
                print(f"{'':<14}{info.description}")
        elif args.what == "models":
            from benchmarks.families import installed

            families = installed()
            width = max(map(len, families)) + 2
            for name, family in families.items():
                shown = "" if family.default else " (not in 'run all')"
                print(f"{name:<{width}}{family.description}{shown}")
        elif args.what == "strategies":
            from benchmarks.strategies import installed

            for name, strategy in installed().items():
                print(f"{name:<16}{strategy.description}")
            print(
                f"{'imblearn:NAME':<16}any imbalanced-learn sampler by class name, "
                "such as imblearn:ADASYN or imblearn:SMOTEENN"
            )
        elif args.what == "preprocessing":
            from benchmarks.preprocessing import PREPROCESSING

            for name, entry in PREPROCESSING.items():
                print(f"{name:<16}{entry.description}")
        else:
            self._runs(Path(args.out))
        return 0

    @staticmethod
    def _runs(out: Path) -> None:
        from benchmarks.store import CONFIG

        found = sorted(out.glob(f"*/{CONFIG}")) if out.is_dir() else []
        if not found:
            print(f"no runs in {out}")
            return
        print(
            f"{'run':<20}{'date (UTC)':<18}{'data':<16}{'profile':<9}"
            f"{'trials':>9}  {'best (mean mel sens@80% spec)':<32}models"
        )
        for path in found:
            print(_run_line(path.parent))


def _run_line(run_dir: Path) -> str:
    """One line of 'list runs': when, on what, how far, and the best so far;
    a folder that cannot be read gets a short line saying so, never a crash."""
    import datetime

    import pandas as pd

    from benchmarks.grid import trials
    from benchmarks.leaderboard import RANKING, best_configuration, leaderboard_of
    from benchmarks.sources import is_synthetic
    from benchmarks.store import RunStore

    store = RunStore(run_dir)
    try:
        info = store.info()
        done = store.done()
        written = [store.path("config.json"), *store.trials_dir.glob("*.json")]
        stamp = max(path.stat().st_mtime for path in written)
    except UserError:
        return f"{run_dir.name:<20}unreadable run folder: its config.json is damaged"
    except OSError as error:
        return f"{run_dir.name:<20}unreadable run folder: {error.strerror or error}"
    date = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
    synthetic = info.dataset == "synthetic" or is_synthetic(info.config.data)
    data = "synthetic" if synthetic else ",".join(info.sources)
    models = ",".join(dict.fromkeys(item.model for item in info.grid))
    try:
        split = pd.read_parquet(store.path("manifest.parquet"), columns=["split"])
        has_test = bool((split == "test").any().item())
        keys = {trial.key for trial in trials(info.config, has_test)}
        total = str(len(keys))
        done &= keys
    except (UserError, OSError, ValueError, KeyError, ImportError):
        # A damaged manifest, or a plug-in family no longer installed.
        total = "?"
    try:
        board = leaderboard_of(store)
        if board.empty:
            best = "-"
        else:
            row = board[board["best"]].iloc[0]
            figure = row[f"{RANKING[0]}_mean"]
            shown = "-" if pd.isna(figure) else f"{figure:.3f}"
            best = f"{best_configuration(board)} {shown}"
    except UserError:
        best = "damaged trial (see 'verify')"
    return (
        f"{info.run_id:<20}{date:%Y-%m-%d %H:%M}  {data[:15]:<16}"
        f"{info.profile.name:<9}{f'{len(done)}/{total}':>9}  {best:<32}{models}"
    )


class Data(Command):
    name = "data"
    help = "make data: 'data synth' writes the synthetic set as image folders"
    epilog = f"example:\n  {PROG} data synth --out synthetic-lesions --seed 1"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.datasets import SHORTCUTS

        parser.add_argument("action", choices=["synth"])
        parser.add_argument("--out", required=True, metavar="DIR", help="a new folder")
        parser.add_argument("--seed", type=int, default=0, help="(default 0)")
        parser.add_argument(
            "--size", type=int, default=128, help="image side in pixels (default 128)"
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="multiply the default class counts (imbalanced like isic9)",
        )
        parser.add_argument("--no-hair", action="store_true", help="draw no hairs")
        parser.add_argument(
            "--shortcut",
            choices=list(SHORTCUTS),
            help="tie an acquisition cue to melanoma (a colour cast or dark "
            "corners), to see the shortcut audit find it",
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.datasets import (
            DEFAULT_TEST_COUNTS,
            DEFAULT_TRAIN_COUNTS,
            write_synthetic,
        )

        if args.scale <= 0:
            raise UserError(f"--scale {args.scale}: choose a number above 0")
        if not 32 <= args.size <= 1024:
            raise UserError(f"--size {args.size}: choose from 32 to 1024 pixels")

        def scaled(counts: dict[str, int]) -> dict[str, int]:
            return {name: max(1, round(n * args.scale)) for name, n in counts.items()}

        out = write_synthetic(
            Path(args.out),
            train_counts=scaled(DEFAULT_TRAIN_COUNTS),
            test_counts=scaled(DEFAULT_TEST_COUNTS),
            size=args.size,
            hair=not args.no_hair,
            seed=args.seed,
            shortcut=args.shortcut,
        )
        total = sum(scaled(DEFAULT_TRAIN_COUNTS).values()) + sum(
            scaled(DEFAULT_TEST_COUNTS).values()
        )
        print(f"wrote {total} synthetic images (and their masks) to {out}")
        return 0


class Segment(Command):
    name = "segment"
    help = (
        "write the lesion masks the features use and, given expert masks, score "
        "them (Jaccard, Dice)"
    )
    epilog = (
        "example:\n"
        f"  {PROG} segment --images ../shared/data/ham10000-dev/images --out masks "
        "\\\n      --truth ../shared/data/ham10000-dev/masks\n\n"
        "Writes OUT/<stem>.png (255 lesion, 0 background, at the image's size) and "
        "OUT/segment.csv;\nexpert masks are <stem>_segmentation.png, "
        "<stem>_lesion.png or <stem>.png, lesion where >= 128."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--images", required=True, metavar="DIR")
        parser.add_argument("--out", required=True, metavar="DIR")
        parser.add_argument("--truth", metavar="DIR", help="expert masks to score")
        parser.add_argument(
            "--jobs", type=int, metavar="N", help="worker processes (default: all)"
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.cache import atomic_write
        from benchmarks.segment import segment_folder, summary

        if args.jobs is not None and args.jobs < 1:
            raise UserError(f"--jobs {args.jobs}: choose 1 or more")
        out = writable_folder(args.out, "--out")
        truth = Path(args.truth) if args.truth else None
        with activity("segmenting"):
            table = segment_folder(Path(args.images), out, truth, n_jobs=args.jobs)
        atomic_write(
            out / "segment.csv", lambda stream: table.to_csv(stream, index=False)
        )
        for row in table[table["error"] != ""].itertuples():
            print(f"  unreadable {row.image}: {row.error}")
        print(summary(table))
        print(f"wrote the masks and segment.csv to {out}")
        return 0


COMMANDS: tuple[Command, ...] = (
    Run(),
    Audit(),
    Features(),
    Segment(),
    Report(),
    Compare(),
    Verify(),
    Export(),
    Train(),
    Triage(),
    List(),
    Data(),
)


def _named_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the
    top-level options take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def make_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given ``argv``, only the subcommand it names gets its
    options.

    Why: a command's options are built from the modules that run it, and
    '--help' or 'run --help' should answer at once rather than import every
    command's libraries first.
    """
    wanted = None if argv is None else _named_command(argv)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Benchmarks for melanoma detection in dermoscopic images: a CNN "
        "and handcrafted ABCD features under the same folds, strategies and metrics.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show progress details and the libraries' own log lines (TensorFlow's)",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers, arguments=argv is None or command.name == wanted)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, as Ctrl-C raises KeyboardInterrupt."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a scheduler's stop) unwinds the command as Ctrl-C does:
    locks released, worker processes stopped, one line; the previous handler
    is back afterwards. Only the main thread may set a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:

    words = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser(words)
    args = parser.parse_args(words)
    # Before any command imports TensorFlow (its C++ log level is read once),
    # and before logging picks the stderr it writes to.
    quiet_libraries(verbose=args.verbose)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="melanoma-bench: %(message)s",
    )
    if not hasattr(args, "command"):
        parser.print_help(sys.stderr)
        return 2
    try:
        with _sigterm_as_interrupt():
            return args.command.execute(args)
    except UserError as error:
        print(f"melanoma-bench: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # A file system refusal the checks above did not foresee (a disk
        # filled, a folder removed mid-run): one line, not a traceback.
        where = f"{error.filename}: " if error.filename else ""
        reason = error.strerror or str(error)
        print(
            f"melanoma-bench: error: {where}{reason}; check the path, its "
            "permissions and the free space",
            file=sys.stderr,
        )
        return 2
    except Terminated:
        print("melanoma-bench: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("melanoma-bench: interrupted", file=sys.stderr)
        return 130
