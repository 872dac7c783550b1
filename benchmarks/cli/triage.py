"""``triage``: a model folder scores new images into a worklist."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
    add_plugin_argument,
    allow_plugins,
)
from benchmarks.core.errors import UserError
from benchmarks.core.outputs import writable_folder
from benchmarks.grid.progress import status_lines


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
        add_plugin_argument(parser)
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

        from benchmarks.deploy.model_dir import ModelVersionWarning, load_model
        from benchmarks.deploy.triage import (
            CALIBRATION_SCORES,
            PAGE,
            UNREADABLE,
            WORKLIST,
            triage,
        )

        if args.jobs is not None and args.jobs < 1:
            raise UserError(f"--jobs {args.jobs}: choose a whole number >= 1")
        allow_plugins(args.plugin)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ModelVersionWarning)
            model = load_model(args.model)
        # After the model is known good, before any image is read.
        made = not Path(args.out).exists()
        writable_folder(args.out, "--out")
        for item in caught:
            if issubclass(item.category, ModelVersionWarning):
                print(f"melanoma-bench: warning: {item.message}", file=sys.stderr)
            else:
                warnings.showwarning(
                    item.message, item.category, item.filename, item.lineno
                )
        try:
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
        except UserError:
            # A refused triage leaves no empty --out behind it.
            if made and not any(Path(args.out).iterdir()):
                Path(args.out).rmdir()
            raise
        if result.warning:
            print(f"melanoma-bench: warning: {result.warning}", file=sys.stderr)
            if not (args.calibrate or args.flag_top):
                print(
                    "melanoma-bench: warning: do not trust the model's URGENT "
                    "threshold for these images; set the site's with --calibrate "
                    "FILE.csv or flag the top of the list with --flag-top N",
                    file=sys.stderr,
                )
        if result.in_training:
            print(
                f"melanoma-bench: warning: {result.in_training} of these images are "
                "ones the model was fitted on (worklist.csv's in_training): their "
                "scores are no test of it",
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
        written = (WORKLIST, PAGE, UNREADABLE)
        for name in (*written, CALIBRATION_SCORES) if args.calibrate else written:
            print(f"  {result.out / name}")
        return 0
