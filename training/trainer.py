"""The training loop shared by ``afkd train`` and ``afkd distill``, for every task.

What differs per model family sits in a task (:mod:`afkd.training.tasks`): the f-wave
separator (DT-FENet, with or without distillation), the rhythm detectors (compact detector and
dense reference) and the beat classifier. The loop is the same for all of them:

One epoch = ``steps_per_epoch`` Adam steps on batches the task draws, then the task's
validation. ``last.pt`` is written every epoch, ``best.pt`` whenever the task's validation
score improves (SNR_AA for the f-wave task, the challenge score for rhythm, macro F1 for
beats), ``epoch_<E>.pt`` after each epoch of ``save_epochs`` (lottery tickets' rewind points);
``log.json``, ``log.csv`` and ``loss.png`` follow each epoch. A run resumes from
``last.pt`` (weights + ``last.opt.pt``: optimizer and task extras such as the FitNet
regressors). A run may instead start from a checkpoint's weights (``settings.init``,
fine-tuning): epoch 0, a fresh optimizer, its own best. Gradients are clipped to L2 norm ``clip_norm`` before each step; PReLU slopes
are kept >= 0 after it (the int16x8 export's LEAKY_RELU needs that).

Under torchrun every process trains on its own rank-seeded batches; DistributedDataParallel
averages the gradients. Validation is split across ranks and gathered; rank 0 writes.
"""

from __future__ import annotations

import io
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from afkd.atomic import atomic_write_bytes
from afkd.compute import apply_threads
from afkd.errors import AfkdError
from afkd.training import ddp
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.distill import METHODS
from afkd.training.families import family_of
from afkd.training.losses import ALPHA, LOSS_KINDS
from afkd.training.pruning.masks import SparsityMasks
from afkd.training.qat import QuantAwareModel, unwrap
from afkd.training.run_log import read_history, write_logs
from afkd.training.tasks import make_task


@dataclass(frozen=True)
class TrainSettings:
    """How to train; defaults are the paper's except the epoch count (80 there)."""

    epochs: int = 10
    batch_size: int = 2  # crops per step and per process
    crop_seconds: float | None = None  # None: whole segments (the shortest training segment)
    steps_per_epoch: int | None = None  # None: training segments / (batch * processes)
    lr: float = 1e-3
    lr_decay_epochs: int = 0  # the last N epochs anneal lr to lr * LR_FLOOR (cosine); 0: constant
    clip_norm: float = 5.0
    seed: int = 0
    loss: str = "nmse"  # or "neg_snr"
    alpha: float = ALPHA  # weight of the VA terms
    val_fraction: float = 0.1  # records held out when no validation directory is given
    val_segments: int | None = None  # cap on validation segments (they run whole, every epoch)
    threads: int | None = None  # torch CPU threads
    progress: bool = True  # tqdm bar on rank 0
    method: str = "none"  # distillation: fitnet, at or none
    gamma: float | None = None  # KD weights; None: the method's default
    beta: float | None = None
    init: str | None = None  # start from this checkpoint's config and weights (a new run, epoch 0)
    keep_sparsity: bool = False  # weights that are zero at the start stay zero (pruned models)
    qat: str | None = None  # quantization-aware training for this export mode (afkd.training.qat)
    qat_calibration: str | None = None  # the export's --calibration (None: its synthetic windows)
    qat_calibration_segments: int = 16
    qat_seconds: float = 30.0  # the export's --seconds (the calibration windows' length)
    qat_headroom: float | None = None  # the export's --headroom (None: the mode's default)
    qat_calibrate_every: int = 50  # steps between range updates
    # Classifier tasks only: loss weights of the classes, from their training counts n_c:
    # balanced n_total / (C n_c), sqrt the square root of that, none all 1.
    class_weighting: str = "balanced"
    augment: bool = False  # classifier tasks: random amplitude scaling of each training record
    # Classifier tasks: share of training records (beat windows) given with their sign flipped, as
    # a reversed lead or a patch worn the other way round records them; no class depends on polarity.
    invert_share: float = 0.0
    # Epochs after which the weights are also kept as OUT/epoch_<E>.pt (0: the weights before the
    # first step): the early rewind points of lottery-ticket pruning (afkd prune --rewind).
    save_epochs: tuple[int, ...] = ()

    def check(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise AfkdError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be at least 1")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise AfkdError(f"--steps-per-epoch {self.steps_per_epoch}: must be at least 1")
        if self.loss not in LOSS_KINDS:
            raise AfkdError(f"--loss {self.loss}: choose one of {', '.join(LOSS_KINDS)}")
        if self.method not in METHODS:
            raise AfkdError(f"--method {self.method}: choose one of {', '.join(METHODS)}")
        if not (self.lr > 0 and self.clip_norm > 0):
            raise AfkdError("--lr and --clip-norm must be positive")
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise AfkdError(f"--class-weighting {self.class_weighting}: choose one of {', '.join(CLASS_WEIGHTINGS)}")
        if not 0.0 <= self.invert_share <= 1.0:
            raise AfkdError(f"--invert-share {self.invert_share}: must be between 0 and 1")
        for epoch in self.save_epochs:
            if not 0 <= epoch <= self.epochs:
                raise AfkdError(f"--save-epochs {epoch}: must be between 0 and --epochs {self.epochs}")
        if not 0 <= self.lr_decay_epochs <= self.epochs:
            raise AfkdError(f"--lr-decay-epochs {self.lr_decay_epochs}: must be between 0 and --epochs {self.epochs}")
        if self.qat is not None:
            self.qat_settings().check()

    def qat_settings(self):
        from afkd.training.qat import QATSettings

        return QATSettings(self.qat, self.qat_calibration, self.qat_calibration_segments, seconds=self.qat_seconds,
                           headroom=self.qat_headroom, calibrate_every=self.qat_calibrate_every)


LR_FLOOR = 0.01  # where the decay ends, as a share of --lr
CLASS_WEIGHTINGS = ("balanced", "sqrt", "none")


def learning_rate(settings: TrainSettings, epoch: int, step: int, steps: int) -> float:
    """Adam's rate for ``step`` (0-based) of ``epoch`` (1-based): constant, then a cosine decay.

    The rate depends on the position in the run only, so a resumed run follows the same curve
    as an uninterrupted one, and a constant-rate run can be resumed into a decay phase by
    raising --epochs (what the shipped students did: 60 constant epochs, then 20 decaying).
    """
    decay_start = settings.epochs - settings.lr_decay_epochs  # epochs before the decay
    if settings.lr_decay_epochs == 0 or epoch <= decay_start:
        return settings.lr
    progress = ((epoch - 1 - decay_start) * steps + step) / (settings.lr_decay_epochs * steps)
    floor = settings.lr * LR_FLOOR
    return floor + (settings.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def optimizer_path(checkpoint: Path) -> Path:
    """``last.pt`` -> ``last.opt.pt``: the optimizer state beside the weights."""
    return checkpoint.with_suffix(".opt.pt")


def _save_optimizer(path: Path, optimizer: torch.optim.Optimizer, task) -> None:
    buffer = io.BytesIO()
    # "kd": the task's extras (the FitNet regressors of a distillation; empty for classifiers)
    torch.save({"optimizer": optimizer.state_dict(), "kd": task.extra_state()}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _load_optimizer(path: Path, optimizer: torch.optim.Optimizer, task) -> bool:
    if not path.is_file():
        return False
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        task.load_extra_state(state["kd"])
        optimizer.load_state_dict(state["optimizer"])
    except Exception as err:  # a foreign or stale file: say so, do not half-resume
        raise AfkdError(f"{path}: cannot restore the optimizer state ({str(err).splitlines()[0][:200]})") from None
    return True


def keep_slopes_deployable(model: torch.nn.Module) -> None:
    """Clamp every PReLU slope at >= 0 after a step.

    The int16x8 graph replaces each one-slope PReLU by LEAKY_RELU, and Keras (the export
    route) refuses a negative leaky slope; a slope below zero is also rarely what a TCN
    needs. Clamping keeps every trained model exportable in both modes.
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.PReLU):
                module.weight.clamp_(min=0.0)


def fit(model_cfg, settings: TrainSettings, data_dir: str | os.PathLike,
        out_dir: str | os.PathLike, val_dir: str | os.PathLike | None = None,
        teacher_path: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
        role: str = "model", placement: ddp.Placement | None = None, task: str | None = None) -> Path:
    """Train (or distill, with ``teacher_path`` and ``settings.method``); returns ``out_dir/best.pt``.

    ``model_cfg`` is any family's config (DTFENetConfig, RhythmTCNConfig, ResNet34Config,
    BeatCNNConfig); it is ignored when resuming (the checkpoint's config is used). ``task``
    defaults to the family's (separation, rhythm or beats); a mismatch is an error.
    """
    settings.check()
    out_dir = Path(out_dir)
    placement = placement or ddp.placement_from_env()
    ddp.start(placement)
    try:
        return _fit(model_cfg, settings, data_dir, out_dir, val_dir, teacher_path, resume, role, placement, task)
    finally:
        ddp.stop(placement)


def _fit(model_cfg, settings, data_dir, out_dir, val_dir, teacher_path, resume, role, placement, task_name) -> Path:
    apply_threads(settings.threads)  # None: the cores free now (afkd.compute)
    torch.manual_seed(settings.seed)  # same initial weights on every rank
    device = placement.device

    start_epoch, best, best_epoch, history, resume_meta = 0, None, None, [], {}
    if resume is not None and settings.init is not None:
        raise AfkdError("--resume and --init: give one (--init starts a new run from a checkpoint's weights)")
    if settings.init is not None:
        model, _ = load_checkpoint(settings.init)
    elif resume is not None:
        model, resume_meta = load_checkpoint(resume)
        start_epoch = int(resume_meta.get("epoch", 0))
    elif model_cfg is None:
        raise AfkdError("training: give a model config or a checkpoint to resume")
    else:
        try:
            model = family_of(model_cfg).model_class(model_cfg)
        except ValueError as err:
            raise AfkdError(f"training: {err}") from None
    family = family_of(model)
    if task_name is not None and task_name != family.task:
        raise AfkdError(f"--task {task_name}: the model is a {family.name} ({family.summary}), "
                        f"trained by the {family.task} task")
    if settings.method != "none" and family.task != "separation":
        raise AfkdError(f"distillation ({settings.method}) is for DT-FENet students, not {family.name}")
    if settings.qat is not None and family.task != "separation":
        raise AfkdError(f"--qat: quantization-aware training is for the DT-FENet models so far, not {family.name}")
    masks = SparsityMasks.of(model) if settings.keep_sparsity else None
    if settings.qat is not None:  # folds BatchNorm; trains and validates the rounded graph
        model = QuantAwareModel(model, settings.qat_settings())
    saved = unwrap(model)  # what the checkpoints hold: the (folded) float model
    task = make_task(family.task, settings, model, teacher_path)
    task.load_data(data_dir, val_dir)
    score_key = f"best_val_{task.score_name}"
    if resume is not None:
        best, best_epoch = resume_meta.get(score_key), resume_meta.get("best_epoch")
        history = [r for r in read_history(out_dir) if r.get("epoch", 0) <= start_epoch]
    cfg = model.cfg
    model.train()

    net = task.trainable(device).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    resumed_optimizer = resume is not None and _load_optimizer(optimizer_path(Path(resume)), optimizer, task)
    wrapped = ddp.wrap(net, placement)

    steps = settings.steps_per_epoch or task.steps_per_epoch(placement.world_size)
    info = task.run_info()
    run_info = {
        "title": info.pop("title").format(role=role), "role": role, "data": str(data_dir),
        "val": info.pop("val"), "teacher": info.pop("teacher", None),
        "config": cfg.to_dict(), "train": asdict(settings), "crop_samples": info.pop("crop_samples", None),
        "steps_per_epoch": steps,
        "resumed_from": None if resume is None else str(resume), "resumed_optimizer": resumed_optimizer,
        "initialized_from": settings.init,
        "processes": placement.world_size, "device": str(device), "torch_threads": torch.get_num_threads(),
        **info,
    }
    # No mkdir here: the first checkpoint creates the folder, so a run that fails before
    # its first epoch ends leaves no empty run folder behind.
    if placement.is_main and start_epoch == 0 and 0 in settings.save_epochs:
        # the weights before the first step (Frankle et al.'s rewind to initialization)
        save_checkpoint(out_dir / "epoch_0.pt", saved, {"role": role, "epoch": 0, "steps": 0,
                                                        "args": asdict(settings)})

    for epoch in range(start_epoch + 1, settings.epochs + 1):
        rng = np.random.default_rng([settings.seed, epoch, placement.rank])  # resumable, rank-distinct
        sums: dict[str, float] = {"loss": 0.0}
        bar = _progress(steps, epoch, settings, placement)
        started = time.perf_counter()
        for step in range(steps):
            batch = task.sample(rng)
            loss, parts = task.loss(wrapped, batch, device)
            if not torch.isfinite(loss):
                raise AfkdError(f"training: the loss became {float(loss)} at epoch {epoch} step {step + 1} "
                                "(try a lower --lr)")
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(settings, epoch, step, steps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), settings.clip_norm)
            optimizer.step()
            keep_slopes_deployable(model)
            if masks is not None:
                masks.apply(saved)
            if settings.qat is not None and (step + 1) % settings.qat_calibrate_every == 0:
                model.recalibrate()
            sums["loss"] += loss.item()
            for name, value in parts.items():
                sums[name] = sums.get(name, 0.0) + value
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{sums['loss'] / (step + 1):.4g}")
        train_seconds = time.perf_counter() - started
        if settings.qat is not None:
            model.recalibrate()  # validate what the export of these weights will compute
        val = task.validate(placement)
        row = {"epoch": epoch, "lr": learning_rate(settings, epoch, steps - 1, steps),
               **{("train_loss" if k == "loss" else f"train_{k}_loss"): v / steps for k, v in sums.items()},
               "seconds_per_step": train_seconds / steps,
               **{f"val_{k}": v for k, v in val.items()
                  if k not in ("segments", "segments_with_ground_truth") and _loggable(v)}}
        history.append(row)
        score = val.get(task.score_name)
        improved = best is None or (score is not None and score > best)
        if improved:
            best, best_epoch = score, epoch
        if bar is not None:
            bar.set_postfix(loss=f"{row['train_loss']:.4g}", **{f"val_{task.score_name}": task.format_score(score)},
                            best=task.format_score(best))
            bar.close()
        if placement.is_main:
            meta = {"role": role, "epoch": epoch, "steps": epoch * steps, "val": val,
                    score_key: best, "best_epoch": best_epoch, "method": settings.method,
                    "teacher": run_info["teacher"], "data": str(data_dir), "args": asdict(settings),
                    **task.checkpoint_meta()}
            if settings.qat is not None:
                meta["qat"] = settings.qat_settings().to_meta()
            save_checkpoint(out_dir / "last.pt", saved, meta)
            _save_optimizer(optimizer_path(out_dir / "last.pt"), optimizer, task)
            if improved:
                save_checkpoint(out_dir / "best.pt", saved, meta)
            if epoch in settings.save_epochs:
                save_checkpoint(out_dir / f"epoch_{epoch}.pt", saved, meta)
            write_logs(out_dir, run_info, history, score=task.score_name)
        ddp.barrier(placement)
    if placement.is_main and not (out_dir / "best.pt").is_file():
        raise AfkdError(f"{out_dir}: no best.pt (resumed at epoch {start_epoch} >= --epochs {settings.epochs}?)")
    return out_dir / "best.pt"


def _loggable(value) -> bool:
    """Scalars go into the epoch rows of log.json/log.csv; per-class tables stay in the checkpoint meta."""
    return value is None or isinstance(value, (int, float, str))


def _progress(steps: int, epoch: int, settings: TrainSettings, placement: ddp.Placement):
    if not (settings.progress and placement.is_main):
        return None
    from tqdm import tqdm

    return tqdm(total=steps, desc=f"epoch {epoch}/{settings.epochs}", unit="step", leave=True, dynamic_ncols=True)
