"""``afkd eval``: SNR/NMSE (with ground truth) and SC of models and of average beat subtraction,
per rhythm on synthetic mixtures, and per label (with the AF-vs-normal AUC of each statistic of the
extracted atrial signal) on labelled records."""

from __future__ import annotations

import argparse
import json

from afkd.atomic import atomic_write_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("SNR in dB and NMSE as a ratio are per-segment values averaged over segments; "
                     "SC = Welch power in 3-12 Hz / total power of the extracted AA (4 s Hann, 50% overlap). "
                     "Segments that name their rhythm (afkd data synth --rhythms) get a table per rhythm; a "
                     "dataset with two labels or more (CinC 2017, MIT-BIH) gets the extracted signal's RMS "
                     "inside and outside the QRS windows, SC, dominant frequency and organization index per "
                     "label, and the AUC of each for AF (A) against normal rhythm (N).")
    parser.add_argument("--model", action="append", default=[], metavar="CKPT",
                        help="a checkpoint to evaluate (repeat for several)")
    parser.add_argument("--method", action="append", default=[], choices=("abs",),
                        help="a classical method to evaluate: abs (average beat subtraction, XQRS R peaks)")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset directory to evaluate on")
    parser.add_argument("--segments", type=int, metavar="N", help="evaluate the first N segments only")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON, keyed by model path or method")
    parser.add_argument("--batch-size", type=int, default=8, help="segments per forward pass (default 8)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")


def run(args: argparse.Namespace) -> int:
    import torch

    from afkd.training.eval_tables import format_extra_tables
    from afkd.training.evaluate import evaluate, format_table

    if args.threads:
        torch.set_num_threads(args.threads)
    results = evaluate([*args.model, *args.method], args.data, segments=args.segments,
                       batch_size=max(1, args.batch_size))
    print(format_table(results))
    extra = format_extra_tables(results)
    if extra:
        print("\n" + extra)
    if args.json:
        atomic_write_text(args.json, json.dumps({"data": args.data, "results": results}, indent=1) + "\n")
        print(f"results: {args.json}")
    return 0
