"""Options shared by ``afkd train`` and ``afkd distill``: model size and training settings."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields

from afkd.training.model import DTFENetConfig
from afkd.training.runs import PRESETS, resolve_config
from afkd.training.trainer import TrainSettings

# DTFENetConfig fields settable one by one on the command line (flag, field, type, help).
_SIZE_OPTIONS = (
    ("--enc-channels", "enc_channels", int, "N: encoder basis functions per path"),
    ("--enc-kernel", "enc_kernel", int, "L: encoder window in samples (even; hop = L/2)"),
    ("--bottleneck", "bottleneck", int, "B: TCN residual width"),
    ("--hidden", "hidden", int, "H: TCN block inner width"),
    ("--kernel", "kernel", int, "P: depthwise kernel size"),
    ("--blocks", "blocks", int, "X: blocks per repeat (dilations 1 .. 2^(X-1))"),
    ("--repeats", "repeats", int, "R: stacks of X blocks"),
    ("--lookahead", "lookahead", int,
     "frames each mask sees past the frame it weights; the output lags by that many hops (0: none)"),
)


def add_model_arguments(parser: argparse.ArgumentParser, default_preset: str) -> None:
    group = parser.add_argument_group("model size")
    group.add_argument("--preset", choices=sorted(PRESETS), default=default_preset,
                       help=f"starting configuration (default {default_preset}); options below override it")
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


def model_config_from_args(args: argparse.Namespace) -> DTFENetConfig:
    overrides = {name: getattr(args, name) for _, name, _, _ in _SIZE_OPTIONS}
    overrides.update(causal=args.causal, norm=args.norm, interaction=args.interaction)
    return resolve_config(args.config or args.preset, overrides)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainSettings()
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, metavar="DIR", help="training dataset directory (afkd data ...)")
    data.add_argument("--val", metavar="DIR", help="validation dataset directory (default: hold out records of --data)")
    data.add_argument("--val-fraction", type=float, default=defaults.val_fraction,
                      help=f"share of --data records held out for validation without --val (default {defaults.val_fraction})")
    data.add_argument("--val-segments", type=int, metavar="N",
                      help="validate on at most N segments each epoch (default all)")
    run = parser.add_argument_group("training")
    run.add_argument("--out", required=True, metavar="DIR",
                     help="run directory: best.pt, last.pt, last.opt.pt, log.json, log.csv, loss.png")
    run.add_argument("--epochs", type=int, default=defaults.epochs, help=f"epochs (default {defaults.epochs}; paper 80)")
    run.add_argument("--batch-size", type=int, default=defaults.batch_size,
                     help=f"crops per step per process (default {defaults.batch_size}, the paper's)")
    run.add_argument("--crop-seconds", type=float, metavar="S",
                     help="random training crops of S seconds (default: whole segments)")
    run.add_argument("--steps-per-epoch", type=int, metavar="N",
                     help="steps per epoch (default: training segments / batch size / processes)")
    run.add_argument("--lr", type=float, default=defaults.lr, help=f"Adam learning rate (default {defaults.lr})")
    run.add_argument("--lr-decay-epochs", type=int, default=defaults.lr_decay_epochs, metavar="N",
                     help="anneal the rate over the last N epochs (cosine, down to 1/100 of --lr); "
                          "default 0: constant, the paper's")
    run.add_argument("--clip-norm", type=float, default=defaults.clip_norm,
                     help=f"gradient clipping L2 norm (default {defaults.clip_norm})")
    run.add_argument("--loss", choices=("nmse", "neg_snr"), default=defaults.loss,
                     help="task loss: NMSE_AA + alpha NMSE_VA (default) or the negative SNR")
    run.add_argument("--alpha", type=float, default=defaults.alpha,
                     help=f"weight of the VA terms in the task and KD losses (default {defaults.alpha})")
    run.add_argument("--seed", type=int, default=defaults.seed, help="seed of weights, crops and split (default 0)")
    run.add_argument("--resume", metavar="CKPT",
                     help="continue from a last.pt (its config wins; optimizer from last.opt.pt beside it)")
    run.add_argument("--init", metavar="CKPT",
                     help="fine-tune: start from this checkpoint's weights (and config) with a fresh optimizer "
                          "at epoch 0; not with --resume")
    run.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def settings_from_args(args: argparse.Namespace, method: str = "none", **extra) -> TrainSettings:
    names = {f.name for f in fields(TrainSettings)}
    values = {k: v for k, v in vars(args).items() if k in names and k != "method"}
    return TrainSettings(**{**values, "method": method, **extra})


def print_result(best, run_dir) -> None:
    """Where the results are; printed by the main process only (torchrun starts several)."""
    if os.environ.get("RANK", "0") not in ("", "0"):
        return
    print(f"best checkpoint: {best}")
    print(f"logs: {run_dir}/log.json, {run_dir}/log.csv, {run_dir}/loss.png")
