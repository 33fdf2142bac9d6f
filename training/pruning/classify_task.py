"""``afkd prune`` on the classifiers: the rhythm detectors (RhythmTCN, ResNet34) and BeatCNN.

The prune task of :mod:`afkd.training.pruning.task`'s interface, built on the trainer's own
classifier tasks (:mod:`afkd.training.tasks`), so that pruning measures and fine-tunes
exactly as ``afkd train`` validates and trains:

- **evaluate**: the trainer's validation (the split of ``--data`` made by ``--val-fraction``
  and ``--seed``, or ``--val``) of the model, flattened into the metrics a goal can name:
  ``f1`` (macro F1 over the classes), ``challenge`` (mean F1 of N, A, O; rhythm),
  ``accuracy``, and ``f1_<class>`` per class. So ``f1_drop:0.01``, ``challenge_drop:0.01``,
  ``accuracy_drop:0.01`` or ``f1_A_drop:0.02`` are goals.
- **finetune**: :func:`afkd.training.trainer.fit` with ``--init`` the pruned model and
  ``--keep-sparsity`` for unstructured tickets; its ``last.pt`` is the fine-tuned model
  (selection between rounds is the goal's, on the same validation data).
- **structure**: BeatCNN's filters (:mod:`afkd.training.pruning.beat_channels`); the rhythm
  families have none yet (unstructured LTH/magnitude only).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from torch import nn

from afkd.errors import AfkdError
from afkd.training import checkpoint, ddp
from afkd.training.families import family_of
from afkd.training.pruning.beat_channels import BeatCNNStructure
from afkd.training.pruning.task import finetune_through_trainer


def flat_metrics(summary: dict) -> dict:
    """The numbers of a classification summary under the names goals use."""
    out = {"f1": summary.get("macro_f1"), "accuracy": summary.get("accuracy")}
    if summary.get("challenge_score") is not None:
        out["challenge"] = summary["challenge_score"]
    for name, value in summary.get("f1", {}).items():
        out[f"f1_{name}"] = value
    return {k: float(v) for k, v in out.items() if v is not None}


class ClassificationTask:
    """Rhythm or beat classification: evaluate on the trainer's validation split, fine-tune with it."""

    device = "auto"  # where fine-tuning runs (afkd prune --device)

    def __init__(self, model_path, data: str, val: str | None, train_settings, decay_epochs: int | None = None):
        from afkd.training.tasks import make_task

        self.data, self.val, self.train_settings = str(data), val, train_settings
        self.decay_epochs = decay_epochs
        model = self.load(model_path)
        self.family = family_of(model)
        if self.family.task not in ("rhythm", "beats"):
            raise AfkdError(f"{model_path}: a {self.family.name} is not a classifier")
        self.structure = BeatCNNStructure() if self.family.task == "beats" else None
        # The trainer's task object holds the split, the batches and the validation rows; its
        # model is swapped for the one being measured (the classes stay those of the start model).
        self.inner = make_task(self.family.task, train_settings, model)
        self.inner.load_data(data, val)
        self.classes = tuple(model.cfg.classes)

    def describe(self) -> dict:
        return {"task": self.family.task, "data": self.data, "val": self.val, "decay_epochs": self.decay_epochs,
                "val_rows": int(len(self.inner.val_labels)), "train": dataclasses.asdict(self.train_settings)}

    def load(self, path) -> nn.Module:
        model, _ = checkpoint.load_checkpoint(path)
        return model

    def save(self, path, model: nn.Module, meta: dict) -> None:
        checkpoint.save_checkpoint(path, model, {"task": self.family.task, **meta})

    def _with_model(self, model: nn.Module):
        if tuple(model.cfg.classes) != self.classes:
            raise AfkdError(f"the pruned model's classes {model.cfg.classes} differ from {self.classes}")
        self.inner.model = model

    def evaluate(self, model: nn.Module) -> dict:
        self._with_model(model)
        was_training = model.training
        try:
            one_process = ddp.Placement(rank=0, local_rank=0, world_size=1, device=torch.device("cpu"),
                                        distributed=False)
            summary = self.inner.validate(one_process)
        finally:
            model.train(was_training)
        return flat_metrics(summary)

    def example_input(self, model: nn.Module) -> torch.Tensor:
        """Beats: one beat window (costs per beat); rhythm: one second of ECG (costs per second)."""
        if self.family.task == "beats":
            return torch.zeros(1, model.cfg.window)
        from afkd.training.classify import input_multiple

        multiple = input_multiple(model)
        return torch.zeros(1, -(-int(model.cfg.fs) // multiple) * multiple)

    def finetune(self, model: nn.Module, work: Path, epochs: int, keep_sparsity: bool, seed: int) -> nn.Module:
        # The trainer's --seed also draws the validation split: fine-tuning keeps the goal's seed, so
        # it never trains on the rows the goal is measured on (a round's own seed would re-split).
        return finetune_through_trainer(self, model, work, epochs, keep_sparsity, self.train_settings.seed)

    def importance_losses(self, model: nn.Module, batches: int, seed: int) -> list:
        """Loss closures on ``batches`` training batches drawn once (a rerun measures the same)."""
        rng = np.random.default_rng([seed, 77])
        device = torch.device("cpu")
        drawn = [self.inner.sample(rng) for _ in range(batches)]
        return [lambda m, b=b: self.inner.loss(m, b, device)[0] for b in drawn]
