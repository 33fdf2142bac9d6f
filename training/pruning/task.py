"""What ``afkd prune`` needs from a model family: load, save, evaluate, fine-tune, losses, structure.

The pruning rounds (:mod:`afkd.training.pruning.driver`) only call these, so any nn.Module
family plugs in with its own evaluate callback (the metrics a goal names), its own fine-tune
callback (its trainer) and, for structured pruning, its channel structure.
:class:`SeparationTask` is DT-FENet's: metrics of :func:`afkd.training.evaluate.evaluate_model`
(``snr_aa_db``, ``nmse_aa``, ``sc``, ...) on the goal's segments, fine-tuning with
:func:`afkd.training.trainer.fit` (``--init`` from the pruned model, zeros kept for
unstructured pruning), importance losses from the task loss on training crops.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from torch import nn

from afkd.training import checkpoint, ddp
from afkd.training.pruning import dtfenet_channels


class DTFENetStructure:
    """:class:`afkd.training.pruning.structured.Structure` for DT-FENet."""

    @staticmethod
    def channel_groups(model):
        return dtfenet_channels.channel_groups(model)

    @staticmethod
    def rebuild(model, keep):
        return dtfenet_channels.rebuild(model, keep)

    @staticmethod
    def parameter_count(model, widths):
        return dtfenet_channels.parameter_count(dtfenet_channels.config_with_widths(model.cfg, widths))


def finetune_through_trainer(task, model: nn.Module, work: Path, epochs: int, keep_sparsity: bool, seed: int,
                             teacher: str | None = None) -> nn.Module:
    """Fine-tune ``model`` with afkd's trainer (``task``'s data, settings and ``device``) from a
    checkpoint in ``work``; the last epoch's model (a prune round scores what it trained)."""
    from afkd.training.trainer import fit

    work.mkdir(parents=True, exist_ok=True)
    start = work / "start.pt"
    task.save(start, model, {"role": "pruned"})
    decay = epochs if task.decay_epochs is None else min(task.decay_epochs, epochs)
    settings = dataclasses.replace(task.train_settings, init=str(start), epochs=epochs, lr_decay_epochs=decay,
                                   keep_sparsity=keep_sparsity, progress=False, seed=seed)
    fit(None, settings, task.data, work / "train", val_dir=task.val, teacher_path=teacher, role="pruned",
        placement=ddp.placement_from_env(device=task.device))
    return task.load(work / "train" / "last.pt")


class SeparationTask:
    """DT-FENet f-wave separation: evaluate on ``val`` segments, fine-tune on ``data``."""

    device = "auto"  # where fine-tuning runs (afkd prune --device)

    structure = DTFENetStructure()

    def __init__(self, data: str, val: str | None, train_settings, goal_segments: int | None = None,
                 decay_epochs: int | None = None, teacher: str | None = None):
        from afkd.training.evaluate import load_segments
        from afkd.training.train_data import TrainingData

        self.data, self.val, self.train_settings = str(data), val, train_settings
        self.decay_epochs = decay_epochs  # cosine decay over the last N epochs of a fine-tuning (None: all)
        self.teacher = teacher  # the model fine-tuning distills from (train_settings.method), if any
        self.training_data = TrainingData(data, val, train_settings.val_fraction, train_settings.seed,
                                          train_settings.val_segments)
        if val is not None:
            self.segments, self.fs = load_segments(val, goal_segments)
        else:  # the records the trainer holds out of --data
            self.segments = self.training_data.val_segments[:goal_segments]
            self.fs = self.training_data.fs
        self.goal_segments = len(self.segments)

    def describe(self) -> dict:
        """What the results depend on (a resumed prune must see the same)."""
        return {"task": "separation", "data": self.data, "val": self.val, "goal_segments": self.goal_segments,
                "decay_epochs": self.decay_epochs, "teacher": self.teacher,
                "train": dataclasses.asdict(self.train_settings)}

    def load(self, path) -> nn.Module:
        model, _ = checkpoint.load_checkpoint(path)
        return model

    def save(self, path, model: nn.Module, meta: dict) -> None:
        checkpoint.save_checkpoint(path, model, meta)

    def evaluate(self, model: nn.Module) -> dict:
        from afkd.training.evaluate import evaluate_model

        result = evaluate_model(model, self.segments, self.fs)
        return {k: v for k, v in result.items() if isinstance(v, (int, float)) and v is not None}

    def example_input(self, model: nn.Module) -> torch.Tensor:
        """One second of input (to a whole hop): the costs read as per second of ECG."""
        hop = model.cfg.hop
        return torch.zeros(1, -(-model.cfg.fs // hop) * hop)

    def finetune(self, model: nn.Module, work: Path, epochs: int, keep_sparsity: bool, seed: int) -> nn.Module:
        # Without --val the goal's segments are a split of --data drawn by the trainer's seed: keep
        # that seed, or fine-tuning would re-split and train on them. With --val a round's own seed is free.
        return finetune_through_trainer(self, model, work, epochs, keep_sparsity,
                                        seed if self.val is not None else self.train_settings.seed, self.teacher)

    def importance_losses(self, model: nn.Module, batches: int, seed: int) -> list:
        """Loss closures on ``batches`` training batches (fixed crops: a rerun measures the same)."""
        from afkd.training.losses import task_loss

        s = self.train_settings
        rng = np.random.default_rng([seed, 77])
        crop = self.training_data.crop_length(s.crop_seconds, model.cfg.hop)
        lag = model.cfg.lookahead_samples
        losses = []
        for _ in range(batches):
            b = self.training_data.sample(rng, s.batch_size, crop)
            x, aa, va = (torch.from_numpy(b[k]) for k in ("ecg", "aa", "va"))

            def loss(m, x=x, aa=aa, va=va):
                aa_hat, va_hat = m(x)
                return task_loss(aa, va, aa_hat, va_hat, s.alpha, s.loss, lag=lag)
            losses.append(loss)
        return losses
