"""``export``: a run folder to MLflow."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
)
from benchmarks.core.errors import UserError


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
        from benchmarks.export.mlflow_export import DEFAULT_EXPERIMENT

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
        from benchmarks.export.mlflow_export import export_mlflow

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
