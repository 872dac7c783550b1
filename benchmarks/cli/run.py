"""``run``: options -> RunConfig -> the grid, its summary and report."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from benchmarks.cli._common import (
    PROG,
    Command,
    add_data_arguments,
    check_cache,
    data,
    listed,
)
from benchmarks.core.errors import UserError
from benchmarks.core.outputs import writable_folder

if TYPE_CHECKING:
    from benchmarks.grid.config import RunConfig


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
        from benchmarks.data.preprocessing import PREPROCESSING
        from benchmarks.grid.config import (
            CALIBRATIONS,
            CV_SCHEMES,
            EXECUTORS,
            PRECISIONS,
            PROFILES,
        )

        parser.add_argument(
            "what",
            nargs="?",
            metavar="all|MODEL[,MODEL]",
            help="'all' (the built-in families) or a comma-separated list of "
            "families ('list models'), plug-ins as module:factory; or --models",
        )
        add_data_arguments(parser)
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
            f"features ({', '.join(PREPROCESSING)}, or a plug-in: 'list "
            "preprocessing'; the seed-cnn reference sees "
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
        writable_folder(args.out, "--out")
        check_cache(args.cache)
        config = run_config(args)
        if args.dry_run:
            from benchmarks.grid.runner import dry_run

            print(
                dry_run(config, args.out, cache=args.cache, report=not args.no_report)
            )
            return 0
        return _run(args, config)


def _models(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The families named, positionally or by --models (None: 'all'); with
    --dry-run, none given as module:factory, whose code a config would run."""
    from benchmarks.core.plugins import is_path

    if args.models and args.what not in (None, "all"):
        raise UserError("name the models once: 'run all --models LIST' or 'run LIST'")
    chosen = args.models or args.what
    if chosen is None:
        raise UserError("run: name the models, such as 'run all' or 'run xgb'")
    models = None if chosen == "all" else listed(chosen)
    named = [name for name in models or () if is_path(name)]
    if args.dry_run and named:
        raise UserError(
            f"--dry-run runs nothing, but naming the plug-in {named[0]} runs "
            "its code; drop --dry-run, or install the plug-in (an entry point) "
            "to estimate its grid"
        )
    return models


def run_config(args: argparse.Namespace) -> RunConfig:
    """The run config the parsed options name, validated by RunConfig."""
    from benchmarks.data.external import ExternalSource
    from benchmarks.grid.config import RunConfig

    models = _models(args)
    return RunConfig(
        data=data(args),
        images=args.images,
        id_column=args.id_column,
        label_column=args.label_column,
        group_column=args.group_column,
        models=models,
        strategies=listed(args.strategies) if args.strategies else None,
        profile=args.profile,
        folds=args.folds,
        cv=args.cv,
        seed=args.seed,
        conflicts=args.conflicts,
        test_leaks=args.test_leaks,
        positive_class=args.positive_class,
        preprocessing=(listed(args.preprocessing) or ("none",))[0],
        variants=listed(args.preprocessing)[1:],
        model_options=tuple(
            (name.strip(), value.strip())
            for name, _, value in (
                setting.partition("=") for setting in args.model_option
            )
        ),
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


def _run(args: argparse.Namespace, config: RunConfig) -> int:
    """Run the grid, print its leaderboard, write its report; 1 if a trial
    failed."""
    from benchmarks.analysis.leaderboard import to_text, write_leaderboard
    from benchmarks.analysis.verdict import verdict
    from benchmarks.data.sources import is_synthetic
    from benchmarks.grid.plan import plugins
    from benchmarks.grid.runner import run

    if is_synthetic(config.data):
        print(
            "melanoma-bench: running on the embedded SYNTHETIC data set "
            f"({args.profile} profile); pass --data PATH for real images",
            file=sys.stderr,
        )
    logging.getLogger("benchmarks.grid.runner").setLevel(logging.INFO)
    store = run(config, args.out, cache=args.cache)
    board = write_leaderboard(store)
    info = store.info()
    for line in verdict(board, store.records(), info, plugins(info.config)):
        print(line)
    print(f"\n{to_text(board)}")
    print(f"\nresults: {store.run_dir}")
    if not args.no_report:
        import time

        from benchmarks.grid.estimate import record_timings, step_entry
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
