"""``afkd distill``: train a student from a teacher checkpoint with FitNet or AT, or alone (none).

loss = NMSE_AA + alpha NMSE_VA + L_KD (see afkd.training.distill for the KD terms).
"""

from __future__ import annotations

import argparse

from afkd.training.cli_common import (add_model_arguments, add_training_arguments, model_config_from_args,
                                      print_result, settings_from_args)
from afkd.training.distill import DEFAULT_WEIGHTS, METHODS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Writes OUT/best.pt (the student, best validation SNR_AA), OUT/last.pt, log.json, "
                     "log.csv and loss.png. The FitNet regressors are not part of the student.")
    kd = parser.add_argument_group("distillation")
    kd.add_argument("--teacher", required=True, metavar="CKPT", help="teacher checkpoint (afkd train --preset teacher)")
    kd.add_argument("--method", choices=METHODS, default="fitnet",
                    help="fitnet (encoder + mask regression), at (attention transfer) or none "
                         "(student alone, the no-KD baseline); default fitnet")
    kd.add_argument("--gamma", type=float,
                    help="weight of the encoder KD terms (default fitnet {}, at {:g})".format(
                        DEFAULT_WEIGHTS["fitnet"][0], DEFAULT_WEIGHTS["at"][0]))
    kd.add_argument("--beta", type=float,
                    help="weight of the mask KD terms (default fitnet {:g}, at {:g})".format(
                        DEFAULT_WEIGHTS["fitnet"][1], DEFAULT_WEIGHTS["at"][1]))
    add_model_arguments(parser, default_preset="student")
    add_training_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from afkd.training.trainer import fit

    cfg = model_config_from_args(args)
    settings = settings_from_args(args, method=args.method, gamma=args.gamma, beta=args.beta)
    best = fit(cfg, settings, args.data, args.out, val_dir=args.val, teacher_path=args.teacher,
               resume=args.resume, init=args.init, role="student")
    print_result(best, args.out)
    return 0
