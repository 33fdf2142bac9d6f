"""``afkd eval``: SNR/NMSE (with ground truth) and SC of models and of average beat subtraction."""

from __future__ import annotations

import argparse
import json

from afkd.argtypes import positive_int
from afkd.atomic import atomic_write_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("SNR in dB and NMSE as a ratio are per-segment values averaged over segments; "
                     "SC = Welch power in 3-12 Hz / total power of the extracted AA (4 s Hann, 50% overlap).")
    parser.add_argument("--model", action="append", default=[], metavar="CKPT",
                        help="a checkpoint to evaluate (repeat for several)")
    parser.add_argument("--method", action="append", default=[], choices=("abs",),
                        help="a classical method to evaluate: abs (average beat subtraction, XQRS R peaks)")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset directory to evaluate on")
    parser.add_argument("--segments", type=positive_int, metavar="N", help="evaluate the first N segments only")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON, keyed by model path or method")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="segments per forward pass (default 8)")
    parser.add_argument("--threads", type=positive_int, help="torch CPU threads (default: torch's choice)")


def run(args: argparse.Namespace) -> int:
    import torch

    from afkd.outdir import check_out_file
    from afkd.training.evaluate import evaluate, format_table

    check_out_file(args.json, inputs=(args.data, *args.model), flag="--json")
    if args.threads:
        torch.set_num_threads(args.threads)
    results = evaluate([*args.model, *args.method], args.data, segments=args.segments,
                       batch_size=max(1, args.batch_size))
    print(format_table(results))
    if args.json:
        atomic_write_text(args.json, json.dumps({"data": args.data, "results": results}, indent=1) + "\n")
        print(f"results: {args.json}")
    return 0
