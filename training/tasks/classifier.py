"""What the rhythm and beat tasks share: class weights, the weighted cross-entropy, the split,
and validation by F1 per class.

Class weights come from the training counts n_c of the C classes (``--class-weighting``)::

    balanced  w_c = n / (C n_c)         every class weighs as much in the loss as any other
    sqrt      w_c = sqrt(n / (C n_c))   half way (for classes of a few dozen examples)
    none      w_c = 1

then scaled so that the mean weight over the training examples is 1 (the loss keeps its
scale). A class without training examples gets weight 0.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from afkd.errors import AfkdError
from afkd.training import ddp
from afkd.training.metrics_classify import classification_summary
from afkd.training.tasks.base import Task


def class_weights(counts: Sequence[int], kind: str) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    if kind == "none":
        weights[present] = 1.0
    else:
        weights[present] = counts.sum() / (present.sum() * counts[present])
        if kind == "sqrt":
            weights = np.sqrt(weights)
    return weights * counts.sum() / float((weights * counts).sum())


def stratified_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices: ``fraction`` of each class held out (rounded, at least one of a class
    with two or more members), seeded; independent of the batch streams."""
    if not 0.0 < fraction < 1.0:
        raise AfkdError(f"--val-fraction {fraction}: must be between 0 and 1 (or give --val)")
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 7919])
    val = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = math.floor(fraction * members.size + 0.5)
        if members.size >= 2:
            k = min(max(k, 1), members.size - 1)
        val.extend(rng.permutation(members)[:k].tolist())
    val = np.sort(np.array(val, dtype=np.int64))
    train = np.setdiff1d(np.arange(labels.size), val)
    return train, val


class ClassifierTask(Task):
    """A task whose model maps an input to logits over ``model.cfg.classes``."""

    score_name = "macro_f1"

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.model.cfg.classes)

    def set_weights(self, train_labels: np.ndarray) -> None:
        counts = np.bincount(train_labels, minlength=len(self.classes))
        self.train_counts = dict(zip(self.classes, counts.tolist()))
        self.weights = class_weights(counts, self.settings.class_weighting)
        self._weight_tensor = None

    def cross_entropy(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self._weight_tensor is None or self._weight_tensor.device != logits.device:
            self._weight_tensor = torch.tensor(self.weights, dtype=logits.dtype, device=logits.device)
        per_example = F.cross_entropy(logits, labels, reduction="none")  # (batch,)
        return (per_example * self._weight_tensor[labels]).mean()

    def steps_per_epoch(self, world_size: int) -> int:
        return max(1, len(self.train_labels) // (self.settings.batch_size * world_size))

    def val_logits(self, indices: np.ndarray, device: torch.device) -> np.ndarray:
        """Logits (len(indices), classes) of validation examples; the subclass runs the model."""
        raise NotImplementedError

    def validate(self, placement: ddp.Placement) -> dict[str, Any]:
        mine = np.arange(len(self.val_labels))[placement.rank :: placement.world_size]
        self.model.eval()
        logits = self.val_logits(mine, placement.device) if mine.size else np.zeros((0, len(self.classes)))
        self.model.train()
        parts = ddp.gather((mine, logits.argmax(axis=1)), placement)
        order = np.concatenate([p[0] for p in parts])
        predicted = np.concatenate([p[1] for p in parts])
        summary = classification_summary(self.val_labels[order], predicted, self.classes)
        return summary

    def run_info(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "train_counts": self.train_counts,
                "val_counts": dict(zip(self.classes, np.bincount(self.val_labels, minlength=len(self.classes)).tolist())),
                "class_weights": dict(zip(self.classes, [round(float(w), 4) for w in self.weights]))}
