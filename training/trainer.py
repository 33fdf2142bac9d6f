"""The training loop shared by ``afkd train`` and ``afkd distill``.

One epoch = ``steps_per_epoch`` Adam steps on random crops, then validation on whole
held-out segments. ``last.pt`` is written every epoch, ``best.pt`` whenever the validation
SNR_AA improves; ``log.json``, ``log.csv`` and ``loss.png`` follow each epoch. A run resumes
from ``last.pt`` (weights + ``last.opt.pt``: optimizer and FitNet regressor state). A run may
instead start from a checkpoint's weights (``init``, fine-tuning): epoch 0, a fresh optimizer,
its own best.

The loss of a step (batch of crops ``x, aa, va`` (batch, T))::

    loss = L_task(aa, va, student(x)) + L_KD(student features, teacher features)

with L_KD = 0 without a teacher (:mod:`afkd.training.losses`, :mod:`afkd.training.distill`).
Gradients are clipped to L2 norm ``clip_norm`` before each step.

Under torchrun every process trains on its own rank-seeded crops; DistributedDataParallel
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
from torch import nn

from afkd.atomic import atomic_write_bytes
from afkd.errors import AfkdError
from afkd.training import ddp
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.distill import METHODS, DistillationLoss
from afkd.training.evaluate import predict
from afkd.training.losses import ALPHA, LOSS_KINDS, task_loss
from afkd.training.metrics import segment_metrics, summarize
from afkd.training.model import DTFENet, DTFENetConfig
from afkd.training.run_log import read_history, write_logs
from afkd.training.train_data import TrainingData


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
        if not 0 <= self.lr_decay_epochs <= self.epochs:
            raise AfkdError(f"--lr-decay-epochs {self.lr_decay_epochs}: must be between 0 and --epochs {self.epochs}")


LR_FLOOR = 0.01  # where the decay ends, as a share of --lr


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


class StudentWithKD(nn.Module):
    """The trained model and the KD loss (with its regressors) as one module for DDP.

    DDP synchronises gradients only through ``forward``, so ``features`` and the FitNet
    regressors must run inside it.
    """

    def __init__(self, model: DTFENet, kd: DistillationLoss):
        super().__init__()
        self.model = model
        self.kd = kd

    def forward(self, x: torch.Tensor, teacher_feats: dict[str, torch.Tensor] | None):
        feats = self.model.features(x)  # enc/mask (batch, N, frames), aa/va (batch, T)
        kd_loss, parts = self.kd(feats, teacher_feats)
        return feats, kd_loss, parts


def optimizer_path(checkpoint: Path) -> Path:
    """``last.pt`` -> ``last.opt.pt``: the optimizer state beside the weights."""
    return checkpoint.with_suffix(".opt.pt")


def _save_optimizer(path: Path, optimizer: torch.optim.Optimizer, kd: DistillationLoss) -> None:
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "kd": kd.state_dict()}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _load_optimizer(path: Path, optimizer: torch.optim.Optimizer, kd: DistillationLoss) -> bool:
    if not path.is_file():
        return False
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        kd.load_state_dict(state["kd"])
        optimizer.load_state_dict(state["optimizer"])
    except Exception as err:  # a foreign or stale file: say so, do not half-resume
        raise AfkdError(f"{path}: cannot restore the optimizer state ({str(err).splitlines()[0][:200]})") from None
    return True


def validate(model: DTFENet, data: TrainingData, placement: ddp.Placement) -> dict:
    """Dataset means over the validation segments, split across ranks and gathered."""
    mine = data.val_segments[placement.rank :: placement.world_size]
    model.eval()
    estimates = predict(model, [s["ecg"] for s in mine], placement.device) if mine else []
    model.train()
    rows = [segment_metrics(s["ecg"], a, v, data.fs, s["aa"], s["va"]) for s, (a, v) in zip(mine, estimates)]
    return summarize(r for part in ddp.gather(rows, placement) for r in part)



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


def fit(model_cfg: DTFENetConfig | None, settings: TrainSettings, data_dir: str | os.PathLike,
        out_dir: str | os.PathLike, val_dir: str | os.PathLike | None = None,
        teacher_path: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
        role: str = "model", placement: ddp.Placement | None = None,
        init: str | os.PathLike | None = None) -> Path:
    """Train (or distill, with ``teacher_path`` and ``settings.method``); returns ``out_dir/best.pt``.

    ``model_cfg`` is ignored when resuming or starting from ``init`` (the checkpoint's config is used).
    """
    settings.check()
    if resume is not None and init is not None:
        raise AfkdError("--resume and --init: give one (resume continues a run, init starts one from weights)")
    out_dir = Path(out_dir)
    placement = placement or ddp.placement_from_env()
    ddp.start(placement)
    try:
        return _fit(model_cfg, settings, data_dir, out_dir, val_dir, teacher_path, resume, role, placement, init)
    finally:
        ddp.stop(placement)


def _fit(model_cfg, settings, data_dir, out_dir, val_dir, teacher_path, resume, role, placement, init=None) -> Path:
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)  # same initial weights on every rank
    device = placement.device
    data = TrainingData(data_dir, val_dir, settings.val_fraction, settings.seed, settings.val_segments)

    start_epoch, best, best_epoch, history, resume_meta = 0, None, None, [], {}
    if resume is not None:
        model, resume_meta = load_checkpoint(resume)
        start_epoch = int(resume_meta.get("epoch", 0))
        best, best_epoch = resume_meta.get("best_val_snr_aa_db"), resume_meta.get("best_epoch")
        history = [r for r in read_history(out_dir) if r.get("epoch", 0) <= start_epoch]
    elif init is not None:  # fine-tuning: the weights alone, then a run of its own from epoch 0
        model, _ = load_checkpoint(init)
    elif model_cfg is None:
        raise AfkdError("training: give a model config or a checkpoint to resume")
    else:
        model = DTFENet(model_cfg)
    cfg = model.cfg
    if abs(cfg.fs - data.fs) > 1e-6:
        raise AfkdError(f"{data_dir}: rate {data.fs} Hz differs from the model rate {cfg.fs} Hz")
    model.train()

    teacher = None
    if settings.method != "none":
        if teacher_path is None:
            raise AfkdError(f"distillation method {settings.method}: needs --teacher")
        teacher, _ = load_checkpoint(teacher_path)
        teacher.to(device).eval().requires_grad_(False)
    kd = DistillationLoss(settings.method, cfg, teacher.cfg if teacher else None,
                          settings.gamma, settings.beta, settings.alpha)
    net = StudentWithKD(model, kd).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    resumed_optimizer = resume is not None and _load_optimizer(optimizer_path(Path(resume)), optimizer, kd)
    wrapped = ddp.wrap(net, placement)

    crop = data.crop_length(settings.crop_seconds, cfg.hop)
    if crop <= 2 * cfg.lookahead_samples:
        raise AfkdError(f"training crops of {crop} samples: the model's lookahead lags its output by "
                        f"{cfg.lookahead_samples}, leave more than twice that (longer --crop-seconds)")
    steps = settings.steps_per_epoch or max(1, len(data.train_ids) // (settings.batch_size * placement.world_size))
    run_info = {
        "title": f"{role} ({settings.method if teacher else 'no KD'})", "role": role, "data": str(data_dir),
        "val": data.val_source, "teacher": None if teacher_path is None else str(teacher_path),
        "config": cfg.to_dict(), "train": asdict(settings), "crop_samples": crop, "steps_per_epoch": steps,
        "resumed_from": None if resume is None else str(resume), "resumed_optimizer": resumed_optimizer,
        "initialized_from": None if init is None else str(init),
        "processes": placement.world_size, "device": str(device), "torch_threads": torch.get_num_threads(),
    }
    if placement.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)

    for epoch in range(start_epoch + 1, settings.epochs + 1):
        rng = np.random.default_rng([settings.seed, epoch, placement.rank])  # resumable, rank-distinct
        sums = {"loss": 0.0, "task": 0.0, "kd": 0.0}
        bar = _progress(steps, epoch, settings, placement)
        started = time.perf_counter()
        for step in range(steps):
            batch = data.sample(rng, settings.batch_size, crop)
            x, aa, va = (torch.from_numpy(batch[k]).to(device) for k in ("ecg", "aa", "va"))  # (batch, T)
            teacher_feats = None
            if teacher is not None:
                with torch.no_grad():
                    teacher_feats = teacher.features(x)
            feats, kd_loss, _ = wrapped(x, teacher_feats)
            # The output lags the input by the model's lookahead: compare it with the truth it estimates.
            task = task_loss(aa, va, feats["aa"], feats["va"], settings.alpha, settings.loss, lag=cfg.lookahead_samples)
            loss = task + kd_loss
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
            sums["loss"] += loss.item()
            sums["task"] += task.item()
            sums["kd"] += kd_loss.item()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{sums['loss'] / (step + 1):.4g}")
        train_seconds = time.perf_counter() - started
        val = validate(model, data, placement)
        row = {"epoch": epoch, "lr": learning_rate(settings, epoch, steps - 1, steps), "train_loss": sums["loss"] / steps, "train_task_loss": sums["task"] / steps,
               "train_kd_loss": sums["kd"] / steps, "seconds_per_step": train_seconds / steps,
               **{f"val_{k}": v for k, v in val.items() if k not in ("segments", "segments_with_ground_truth")}}
        history.append(row)
        score = val.get("snr_aa_db")
        improved = best is None or (score is not None and score > best)
        if improved:
            best, best_epoch = score, epoch
        if bar is not None:
            bar.set_postfix(loss=f"{row['train_loss']:.4g}", val_snr_aa=_fmt(score), best=_fmt(best))
            bar.close()
        if placement.is_main:
            meta = {"role": role, "epoch": epoch, "steps": epoch * steps, "val": val,
                    "best_val_snr_aa_db": best, "best_epoch": best_epoch, "method": settings.method,
                    "teacher": run_info["teacher"], "data": str(data_dir), "args": asdict(settings)}
            save_checkpoint(out_dir / "last.pt", model, meta)
            _save_optimizer(optimizer_path(out_dir / "last.pt"), optimizer, kd)
            if improved:
                save_checkpoint(out_dir / "best.pt", model, meta)
            write_logs(out_dir, run_info, history)
        ddp.barrier(placement)
    if placement.is_main and not (out_dir / "best.pt").is_file():
        raise AfkdError(f"{out_dir}: no best.pt (resumed at epoch {start_epoch} >= --epochs {settings.epochs}?)")
    return out_dir / "best.pt"


def _fmt(value) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2f} dB"


def _progress(steps: int, epoch: int, settings: TrainSettings, placement: ddp.Placement):
    if not (settings.progress and placement.is_main):
        return None
    from tqdm import tqdm

    return tqdm(total=steps, desc=f"epoch {epoch}/{settings.epochs}", unit="step", leave=True, dynamic_ncols=True)
