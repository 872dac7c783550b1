"""``train``: the final fit of one configuration into a model folder."""

from __future__ import annotations

import argparse

from benchmarks.cli._common import (
    PROG,
    Command,
    add_cache_argument,
    add_plugin_argument,
    allow_plugins,
    progress_line,
)


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
        from benchmarks.scoring.threshold import TARGET_SENSITIVITY

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
        add_cache_argument(parser)
        add_plugin_argument(parser)

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.deploy.training import train

        allow_plugins(args.plugin)
        folder, metadata = train(
            args.run,
            args.out,
            configuration=args.config,
            target_sensitivity=args.target_sensitivity,
            data=args.data,
            cache=args.cache,
            write=progress_line,
        )
        print(
            f"wrote {folder}: {metadata['model']}:{metadata['strategy']}, URGENT at "
            f"melanoma probability >= {metadata['threshold']['threshold']:.4f}"
        )
        return 0
