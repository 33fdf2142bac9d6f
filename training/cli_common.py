"""Options shared by ``afkd train`` and ``afkd distill``: model size and training settings."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields

from afkd.argtypes import epoch_list, finite_float, nonnegative_float, nonnegative_int, positive_float, positive_int
from afkd.compute import add_compute_arguments
from afkd.training.runs import PRESETS, resolve_config
from afkd.training.trainer import TrainSettings

# DTFENetConfig fields settable one by one on the command line (flag, field, type, help).
_SIZE_OPTIONS = (
    ("--enc-channels", "enc_channels", positive_int, "N: encoder basis functions per path"),
    ("--enc-kernel", "enc_kernel", positive_int, "L: encoder window in samples (even; hop = L/2)"),
    ("--bottleneck", "bottleneck", positive_int, "B: TCN residual width"),
    ("--hidden", "hidden", positive_int, "H: TCN block inner width"),
    ("--kernel", "kernel", positive_int, "P: depthwise kernel size"),
    ("--blocks", "blocks", positive_int, "X: blocks per repeat (dilations 1 .. 2^(X-1))"),
    ("--repeats", "repeats", positive_int, "R: stacks of X blocks"),
    ("--lookahead", "lookahead", nonnegative_int,
     "frames each mask sees past the frame it weights; the output lags by that many hops (0: none)"),
    ("--base-filters", "base_filters", positive_int, "resnet34: filters of the first stage (the paper's 32; width option)"),
)


def add_model_arguments(parser: argparse.ArgumentParser, default_preset: str | None) -> None:
    group = parser.add_argument_group("model size")
    default_text = default_preset or "the task's: teacher, detector or beat-cnn"
    group.add_argument("--preset", choices=sorted(PRESETS), default=default_preset,
                       help=f"starting configuration (default {default_text}); options below override it")
    group.add_argument("--config", metavar="JSON",
                       help="model config as a JSON file or JSON object (replaces --preset)")
    for flag, name, kind, text in _SIZE_OPTIONS:
        group.add_argument(flag, dest=name, type=kind, metavar=name.upper(), help=text)
    group.add_argument("--causal", dest="causal", action="store_true", default=None, help="causal TCN")
    group.add_argument("--non-causal", dest="causal", action="store_false", help="non-causal TCN (teacher)")
    group.add_argument("--norm", choices=("batch", "gln", "none"),
                       help="normalisation: batch (foldable), gln (global layer norm) or none")
    group.add_argument("--no-interaction", dest="interaction", action="store_false", default=None,
                       help="remove the cross-path mask fusion (ablation)")


def model_config_from_args(args: argparse.Namespace, preset: str | None = None):
    overrides = {name: getattr(args, name) for _, name, _, _ in _SIZE_OPTIONS}
    overrides.update(causal=args.causal, norm=args.norm, interaction=args.interaction)
    return resolve_config(args.config or preset or args.preset, overrides)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainSettings()
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, metavar="DIR", help="training dataset directory (afkd data ...)")
    data.add_argument("--val", metavar="DIR", help="validation dataset directory (default: hold out records of --data)")
    data.add_argument("--val-fraction", type=finite_float, default=defaults.val_fraction,
                      help=f"share of --data records held out for validation without --val (default {defaults.val_fraction})")
    data.add_argument("--val-segments", type=positive_int, metavar="N",
                      help="validate on at most N segments each epoch (default all)")
    run = parser.add_argument_group("training")
    run.add_argument("--out", required=True, metavar="DIR",
                     help="run directory: best.pt, last.pt, last.opt.pt, log.json, log.csv, loss.png")
    run.add_argument("--force", action="store_true",
                     help="write into --out even when it holds files that are not an earlier run's")
    run.add_argument("--epochs", type=positive_int, default=defaults.epochs, help=f"epochs (default {defaults.epochs}; paper 80)")
    run.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                     help=f"crops per step per process (default {defaults.batch_size}, the paper's)")
    run.add_argument("--crop-seconds", type=positive_float, metavar="S",
                     help="random training crops of S seconds (default: whole segments); rhythm: records "
                          "longer than S give a random crop of S, shorter ones are used whole")
    run.add_argument("--steps-per-epoch", type=positive_int, metavar="N",
                     help="steps per epoch (default: training segments / batch size / processes)")
    run.add_argument("--lr", type=positive_float, default=defaults.lr, help=f"Adam learning rate (default {defaults.lr})")
    run.add_argument("--lr-decay-epochs", type=nonnegative_int, default=defaults.lr_decay_epochs, metavar="N",
                     help="anneal the rate over the last N epochs (cosine, down to 1/100 of --lr); "
                          "default 0: constant, the paper's")
    run.add_argument("--clip-norm", type=positive_float, default=defaults.clip_norm,
                     help=f"gradient clipping L2 norm (default {defaults.clip_norm})")
    run.add_argument("--loss", choices=("nmse", "neg_snr"), default=defaults.loss,
                     help="task loss: NMSE_AA + alpha NMSE_VA (default) or the negative SNR")
    run.add_argument("--alpha", type=nonnegative_float, default=defaults.alpha,
                     help=f"weight of the VA terms in the task and KD losses (default {defaults.alpha})")
    run.add_argument("--seed", type=nonnegative_int, default=defaults.seed, help="seed of weights, crops and split (default 0)")
    run.add_argument("--resume", metavar="CKPT",
                     help="continue from a last.pt (its config wins; optimizer from last.opt.pt beside it)")
    run.add_argument("--init", metavar="CKPT",
                     help="start a new run from this checkpoint's config and weights (fine-tuning; epoch 0, "
                          "fresh optimizer); model-size options are ignored")
    run.add_argument("--save-epochs", type=epoch_list, default=(), metavar="E[,E...]",
                     help="also keep the weights after these epochs as OUT/epoch_<E>.pt (0: before the first "
                          "step): early rewind points for afkd prune --method lth --rewind")
    run.add_argument("--keep-sparsity", action="store_true",
                     help="weights that are zero at the start stay zero (fine-tuning a pruned checkpoint)")
    add_compute_arguments(run)
    run.add_argument("--class-weighting", choices=("balanced", "sqrt", "none"), default=defaults.class_weighting,
                     help="classifiers: loss weight of each class from its training count: balanced "
                          "(inverse frequency, the default), sqrt (its square root) or none")
    run.add_argument("--augment", action="store_true",
                     help="classifiers: scale each training record or beat window by a random factor")
    run.add_argument("--invert-share", type=finite_float, default=defaults.invert_share, metavar="P",
                     help="classifiers: flip the sign of this share of the training records or beat windows "
                          "(reversed leads; default 0)")
    add_qat_arguments(parser)
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def add_qat_arguments(parser: argparse.ArgumentParser) -> None:
    """``--qat`` and the export options whose ranges it trains with (afkd.training.qat)."""
    qat = parser.add_argument_group("quantization-aware training")
    qat.add_argument("--qat", choices=("int8", "int16x8"),
                     help="train through TFLite's rounding for this export mode (BatchNorm folded first); "
                          "usually with --init from a trained checkpoint")
    qat.add_argument("--qat-calibration", metavar="DIR",
                     help="the dataset the export will calibrate on (its --calibration; default its synthetic windows)")
    qat.add_argument("--qat-calibration-segments", type=positive_int, default=16, metavar="N",
                     help="the export's --calibration-segments (default 16)")
    qat.add_argument("--qat-seconds", type=positive_float, default=30.0, metavar="S",
                     help="the export's --seconds: the calibration windows' length (default 30)")
    qat.add_argument("--qat-headroom", type=positive_float, metavar="GAIN",
                     help="the export's --headroom (default the mode's: int8 1, int16x8 8)")
    qat.add_argument("--qat-calibrate-every", type=positive_int, default=50, metavar="STEPS",
                     help="recompute the activation ranges every STEPS steps (and before each validation; default 50)")


def check_run_folder(args: argparse.Namespace, *inputs: str | None) -> None:
    """Refuse an --out that would overwrite an input or files no run wrote (afkd.outdir).

    --resume may point into --out: a run continues in its own folder.
    """
    from afkd.outdir import RUN, check_out_dir

    config_file = args.config if args.config and os.path.isfile(args.config) else None
    starts = (getattr(args, "init", None), getattr(args, "qat_calibration", None))  # read, never replaced
    check_out_dir(args.out, RUN, inputs=(args.data, args.val, config_file, *starts, *inputs), force=args.force)


def settings_from_args(args: argparse.Namespace, method: str = "none", **extra) -> TrainSettings:
    names = {f.name for f in fields(TrainSettings)}
    values = {k: v for k, v in vars(args).items() if k in names and k != "method"}
    return TrainSettings(**{**values, "method": method, **extra})


def placement_from_args(args: argparse.Namespace):
    """Where this process trains: ``--device`` with torchrun's rank variables (training.ddp)."""
    from afkd.training import ddp

    return ddp.placement_from_env(device=args.device)


def print_result(best, run_dir) -> None:
    """Where the results are; printed by the main process only (torchrun starts several)."""
    if os.environ.get("RANK", "0") not in ("", "0"):
        return
    print(f"best checkpoint: {best}")
    print(f"logs: {run_dir}/log.json, {run_dir}/log.csv, {run_dir}/loss.png")
