"""``afkd train``: train a model from scratch for a task: the f-wave separator (DT-FENet teacher
or student), the rhythm detectors (compact detector, Hannun's ResNet) or the beat classifier.

Runs on the CPU, on a GPU when present, and on several GPUs or nodes when started by
``torchrun`` (for example ``torchrun --nproc_per_node=4 -m afkd train ...``).
"""

from __future__ import annotations

import argparse

from afkd.training.cli_common import (add_model_arguments, add_training_arguments, check_run_folder,
                                      model_config_from_args, placement_from_args, print_result, settings_from_args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Writes OUT/best.pt (best validation score: SNR_AA for separation, the challenge score "
                     "for rhythm, macro F1 for beats), OUT/last.pt, log.json, log.csv and loss.png. Every "
                     "training command refuses a dataset holding a CinC 2017 held-out record. Under torchrun "
                     "every process draws its own batches; rank 0 writes.")
    parser.add_argument("--task", choices=("separation", "rhythm", "beats"),
                        help="separation: DT-FENet f-waves (default for its presets); rhythm: one label per "
                             "record (CinC N, A, O, ~), presets detector (default), resnet34, resnet34-narrow; "
                             "beats: AAMI class per beat (a --kind beats dataset), preset beat-cnn")
    add_model_arguments(parser, default_preset=None)
    add_training_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from afkd.training.runs import TASK_PRESETS
    from afkd.training.trainer import fit

    check_run_folder(args)
    preset = args.preset or TASK_PRESETS[args.task or "separation"]
    cfg = model_config_from_args(args, preset)
    role = preset if args.config is None else "model"
    best = fit(cfg, settings_from_args(args), args.data, args.out, val_dir=args.val, resume=args.resume,
               role=role, task=args.task, placement=placement_from_args(args))
    print_result(best, args.out)
    return 0
