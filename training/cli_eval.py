"""``afkd eval``: SNR/NMSE (with ground truth) and SC of f-wave models and of average beat
subtraction, per rhythm on synthetic mixtures, and per label (with the AF-vs-normal AUC of each
statistic of the extracted atrial signal) on labelled records; F1 per class, the challenge score
and the confusion matrix of classifiers."""

from __future__ import annotations

import argparse
import json

from afkd.argtypes import positive_int
from afkd.atomic import atomic_write_text
from afkd.compute import add_compute_arguments
from afkd.errors import AfkdError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("SNR in dB and NMSE as a ratio are per-segment values averaged over segments; "
                     "SC = Welch power in 3-12 Hz / total power of the extracted AA (4 s Hann, 50% overlap). "
                     "Classifiers (rhythm detectors, beat CNN): F1 = 2 TP / (row + column total) per class, "
                     "challenge score = mean F1 of N, A and O (CinC 2017), confusion matrix rows = truth. "
                     "F-wave models: segments that name their rhythm (afkd data synth --rhythms) get a table per rhythm; a "
                     "dataset with two labels or more (CinC 2017, MIT-BIH) gets the extracted signal's RMS "
                     "inside and outside the QRS windows, SC, dominant frequency and organization index per "
                     "label, and the AUC of each for AF (A) against normal rhythm (N).")
    parser.add_argument("--model", action="append", default=[], metavar="CKPT",
                        help="a checkpoint to evaluate (repeat for several)")
    parser.add_argument("--method", action="append", default=[], choices=("abs",),
                        help="a classical method to evaluate: abs (average beat subtraction, XQRS R peaks)")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset directory to evaluate on")
    parser.add_argument("--segments", type=positive_int, metavar="N", help="evaluate the first N segments only")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON, keyed by model path or method")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="segments per forward pass (default 8)")
    add_compute_arguments(parser)
    parser.add_argument("--records", metavar="FILE",
                        help="classifiers: evaluate only the records named in FILE, one a line "
                             "(e.g. models/cinc2017_val_records.txt, the shipped models' validation split)")


def run(args: argparse.Namespace) -> int:
    from afkd.compute import apply_threads, resolve_device
    from afkd.outdir import check_out_file
    from afkd.training.eval_tables import format_extra_tables
    from afkd.training.evaluate import evaluate, format_table

    check_out_file(args.json, inputs=(args.data, *args.model), flag="--json")
    apply_threads(args.threads)
    if _classifiers(args.model):
        return _run_classifiers(args)
    results = evaluate([*args.model, *args.method], args.data, segments=args.segments,
                       device=resolve_device(args.device), batch_size=max(1, args.batch_size))
    print(format_table(results))
    extra = format_extra_tables(results)
    if extra:
        print("\n" + extra)
    if args.json:
        atomic_write_text(args.json, json.dumps({"data": args.data, "results": results}, indent=1) + "\n")
        print(f"results: {args.json}")
    return 0


def _classifiers(paths: list[str]) -> bool:
    """True when the checkpoints are classifiers; an error when classifiers and f-wave models mix."""
    from pathlib import Path

    from afkd.training.checkpoint import checkpoint_family, read_checkpoint
    from afkd.training.families import get_family

    kinds = {get_family(checkpoint_family(read_checkpoint(p), p)).task != "separation"
             for p in paths if Path(p).is_file()}
    if len(kinds) > 1:
        raise AfkdError("eval: give classifiers or f-wave models, not both in one run")
    return kinds == {True}


def _run_classifiers(args: argparse.Namespace) -> int:
    from afkd.compute import resolve_device
    from afkd.training.evaluate_classify import evaluate_classifier, format_report, read_record_list

    if args.method:
        raise AfkdError("--method abs evaluates f-wave extraction, not classifiers")
    records = read_record_list(args.records) if args.records else None
    results = {}
    for path in dict.fromkeys(args.model):
        results[path] = evaluate_classifier(path, args.data, records, device=resolve_device(args.device),
                                            batch_size=max(1, args.batch_size))
        print(format_report(path, results[path]))
    if args.json:
        atomic_write_text(args.json, json.dumps({"data": args.data, "records": args.records, "results": results},
                                                indent=1) + "\n")
        print(f"results: {args.json}")
    return 0
