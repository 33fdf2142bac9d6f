"""``afkd train``: train a DT-FENet (teacher or student preset, or any size) with the task loss.

Runs on the CPU, on a GPU when present, and on several GPUs or nodes when started by
``torchrun`` (for example ``torchrun --nproc_per_node=4 -m afkd train ...``).
"""

from __future__ import annotations

import argparse

from afkd.training.cli_common import (add_model_arguments, add_training_arguments, model_config_from_args,
                                      print_result, settings_from_args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Writes OUT/best.pt (best validation SNR_AA), OUT/last.pt, log.json, log.csv and "
                     "loss.png. Under torchrun every process draws its own crops; rank 0 writes.")
    add_model_arguments(parser, default_preset="teacher")
    add_training_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from afkd.training.trainer import fit

    cfg = model_config_from_args(args)
    role = args.preset if args.config is None else "model"
    best = fit(cfg, settings_from_args(args), args.data, args.out, val_dir=args.val, resume=args.resume,
               init=args.init, role=role)
    print_result(best, args.out)
    return 0
