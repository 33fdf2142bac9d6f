"""``afkd prune``: lottery tickets (LTH), magnitude pruning, multistage structured pruning.

    afkd prune --model CKPT --method lth|magnitude|multistage|oneshot --data DIR [--val DIR]
               --goal METRIC_drop:BOUND --out DIR [schedule options] [fine-tuning options]

Every round prints a line (sparsity, non-zero parameters and MACs per second of input, the
metrics); ``DIR/prune.md`` and ``DIR/prune.json`` hold the table, ``DIR/pruned.pt`` the result
(an ordinary checkpoint: unstructured tickets have zero weights, structured ones fewer
channels). Run the same command again after a kill: it continues from the last finished round.
The checkpoint's family picks the task: DT-FENet models are measured on f-wave metrics
(``snr_aa_db``, ...), the classifiers (rhythm detectors, beat CNN) on the trainer's validation
split (``f1``, ``challenge``, ``accuracy``, ``f1_<class>``; :mod:`afkd.training.pruning.classify_task`).
"""

from __future__ import annotations

import argparse

from afkd.argtypes import finite_float, nonnegative_float, nonnegative_int, positive_float, positive_int
from afkd.compute import add_compute_arguments, apply_threads
from afkd.training.losses import ALPHA
from afkd.training.pruning.driver import METHODS, PruneSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = PruneSettings("lth")
    parser.epilog = ("Methods: lth = iterative magnitude pruning with rewinding and retraining; magnitude = the same "
                     "without rewinding; multistage = whole channels removed in stages (first-order Taylor importance), "
                     "fine-tuned after each; oneshot = one structured stage fine-tuned as long as all stages together. "
                     "With --goal, a round that breaks it ends the rounds and the sparsity between the last good "
                     "ticket and it is bisected; the result always meets the goal on the evaluation data.")
    parser.add_argument("--model", required=True, metavar="CKPT", help="the trained checkpoint to prune")
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--data", required=True, metavar="DIR", help="training dataset (fine-tuning, importance)")
    parser.add_argument("--val", metavar="DIR", help="the data the goal is measured on (default: held-out records of --data)")
    parser.add_argument("--goal", metavar="METRIC:BOUND",
                        help="e.g. snr_aa_drop_db:0.2 (lose at most 0.2 dB SNR_AA), f1_drop:0.01; "
                             "without it every round runs")
    parser.add_argument("--goal-segments", type=positive_int, metavar="N", help="evaluate the goal on the first N segments of --val")
    parser.add_argument("--out", required=True, metavar="DIR", help="prune directory (rounds, state, result)")
    s = parser.add_argument_group("schedule")
    s.add_argument("--rate", type=finite_float, default=d.rate, help=f"lth/magnitude: share of the remaining weights pruned per round (default {d.rate})")
    s.add_argument("--rounds", type=positive_int, default=d.rounds, help=f"lth/magnitude: at most this many rounds (default {d.rounds})")
    s.add_argument("--scope", choices=("global", "layer"), default=d.scope, help="lth/magnitude: rank weights over the model or per layer")
    s.add_argument("--rewind", metavar="CKPT", help="lth: an early checkpoint of the original training to rewind to "
                                                   "(afkd train/distill --save-epochs keeps them as epoch_<E>.pt; "
                                                   "default: the --model weights, i.e. fine-tuning rewinding)")
    s.add_argument("--search-steps", type=nonnegative_int, default=d.search_steps,
                   help=f"bisection tries between the last good ticket and the one that broke the goal (default {d.search_steps})")
    s.add_argument("--sparsity", type=finite_float, default=d.sparsity,
                   help=f"multistage/oneshot: share of the parameters removed at the end (default {d.sparsity})")
    s.add_argument("--budget", choices=("params", "macs"), default=d.budget,
                   help="multistage/oneshot: --sparsity is a share of the parameters (default) or of the MACs per "
                        "inference (BeatCNN)")
    s.add_argument("--stages", type=positive_int, default=d.stages, help=f"multistage: stages (default {d.stages})")
    s.add_argument("--finetune-epochs", type=nonnegative_int, default=d.finetune_epochs,
                   help=f"epochs of fine-tuning per round or stage (default {d.finetune_epochs})")
    s.add_argument("--importance-batches", type=positive_int, default=d.importance_batches,
                   help=f"structured: training batches that measure channel importance (default {d.importance_batches})")
    s.add_argument("--channel-multiple", dest="multiple", type=positive_int, default=d.multiple,
                   help=f"structured: channels leave in units of this (default {d.multiple}: the fast kernels' block)")
    s.add_argument("--min-channels", type=positive_int, default=d.min_channels, help=f"structured: smallest group width (default {d.min_channels})")
    t = parser.add_argument_group("fine-tuning")
    t.add_argument("--batch-size", type=positive_int, default=4)
    t.add_argument("--crop-seconds", type=positive_float, default=6.0)
    t.add_argument("--steps-per-epoch", type=positive_int, default=250)
    t.add_argument("--lr", type=positive_float, default=3e-4)
    t.add_argument("--lr-decay-epochs", type=nonnegative_int, metavar="N",
                   help="cosine decay over the last N epochs of each fine-tuning (default: all of them)")
    t.add_argument("--loss", choices=("nmse", "neg_snr"), default="neg_snr")
    t.add_argument("--alpha", type=nonnegative_float, default=ALPHA,
                   help=f"DT-FENet: weight of the VA terms in the fine-tuning loss and in the channel importance "
                        f"(default {ALPHA}); smaller keeps the channels the AA output needs first")
    t.add_argument("--val-segments", type=positive_int, default=8, metavar="N",
                   help="segments each fine-tuning epoch validates on (its log only; default 8)")
    t.add_argument("--kd", choices=("outputs", "fitnet", "at", "none"),
                   help="DT-FENet: distillation while fine-tuning: outputs (default: towards the separated signals of "
                        "the unpruned --model), fitnet or at (from --teacher), none (the task loss alone); "
                        "classifiers: none only")
    t.add_argument("--teacher", metavar="CKPT", help="the teacher for --kd fitnet|at (default for outputs: --model)")
    t.add_argument("--val-fraction", type=finite_float, default=0.1,
                   help="classifiers without --val: share of --data's records/beats the goal is measured on "
                        "(stratified, --seed; the trainer's split: 0.1 and seed 0 give models/cinc2017_val_records.txt)")
    t.add_argument("--class-weighting", choices=("balanced", "sqrt", "none"), default="balanced",
                   help="classifiers: loss weights of the classes while fine-tuning (as afkd train)")
    t.add_argument("--augment", action="store_true", help="classifiers: random amplitude scaling while fine-tuning")
    t.add_argument("--seed", type=nonnegative_int, default=0)
    add_compute_arguments(t)  # --device: where fine-tuning runs (evaluation and importance stay on the CPU)


def run(args: argparse.Namespace) -> int:
    from afkd.errors import AfkdError
    from afkd.training.pruning.driver import Pruner, format_table
    from afkd.training.pruning.goal import Goal
    from afkd.training.pruning.classify_task import ClassificationTask
    from afkd.training.pruning.task import SeparationTask
    from afkd.training.trainer import TrainSettings

    apply_threads(args.threads)
    settings = PruneSettings(
        method=args.method, goal=args.goal, rate=args.rate, rounds=args.rounds, scope=args.scope, rewind=args.rewind,
        search_steps=args.search_steps, sparsity=args.sparsity, stages=args.stages,
        finetune_epochs=args.finetune_epochs, importance_batches=args.importance_batches, multiple=args.multiple,
        min_channels=args.min_channels, budget=args.budget, seed=args.seed)
    settings.check()
    classifier = _is_classifier(args.model)
    kd = args.kd or ("none" if classifier else "outputs")
    if classifier and args.alpha != ALPHA:
        raise AfkdError("--alpha: the VA weight of DT-FENet's loss; a classifier has no VA output")
    if classifier and kd != "none":
        raise AfkdError(f"--kd {kd}: distillation while pruning is for DT-FENet models; a classifier takes --kd none")
    train = TrainSettings(epochs=1, batch_size=args.batch_size, crop_seconds=args.crop_seconds,
                          steps_per_epoch=args.steps_per_epoch, lr=args.lr, loss=args.loss, alpha=args.alpha, method=kd,
                          val_segments=args.val_segments, threads=args.threads, seed=args.seed, progress=False,
                          val_fraction=args.val_fraction, class_weighting=args.class_weighting, augment=args.augment)
    train.check()
    if classifier:
        if args.goal_segments is not None:
            raise AfkdError("--goal-segments: for DT-FENet models; a classifier's goal uses every validation row")
        task = ClassificationTask(args.model, args.data, args.val, train, decay_epochs=args.lr_decay_epochs)
    else:
        teacher = args.teacher or (args.model if kd == "outputs" else None)
        if kd in ("fitnet", "at") and teacher is None:
            raise AfkdError(f"--kd {kd}: needs --teacher")
        task = SeparationTask(args.data, args.val, train, args.goal_segments, decay_epochs=args.lr_decay_epochs,
                              teacher=teacher if kd != "none" else None)
    task.device = args.device
    summary = Pruner(task, settings, args.model, args.out).run()
    print(format_table(summary["rows"], summary["result"], Goal.parse(args.goal) if args.goal else None))
    r = summary["result_row"]
    print(f"result: round {summary['result']} (sparsity {r['sparsity']:.3f}, {r['nonzero_params']:,} non-zero "
          f"parameters, {summary['size_reduction']:.2f}x smaller) -> {args.out}/pruned.pt")
    return 0


def _is_classifier(path) -> bool:
    """Whether the checkpoint holds a rhythm or beat classifier (else a DT-FENet model)."""
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.families import family_of

    model, _ = load_checkpoint(path)
    return family_of(model).task in ("rhythm", "beats")
