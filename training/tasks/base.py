"""The task interface the trainer runs (:func:`afkd.training.trainer.fit`).

A task owns what differs between model families: how its datasets are read and split (and
refused: every task refuses the CinC held-out records), how a training batch is drawn, the
loss, the validation metrics, and the score whose best value picks ``best.pt``. The trainer
owns the rest: seeding, the optimizer and its rate schedule, gradient clipping, PReLU slope
clamping, torchrun, progress, logs, checkpoints and resuming.

Per run the trainer calls, in order::

    task.load_data(data_dir, val_dir)            datasets, split, held-out check
    net = task.trainable(device)                 the module to optimise (model + task extras)
    task.extra_state() / load_extra_state(s)     extras kept in last.opt.pt (FitNet regressors)
    for each step:  batch = task.sample(rng)
                    loss, parts = task.loss(wrapped_net, batch)   parts: named floats to log
    val = task.validate(placement)               dict; val[task.score_name] picks best.pt
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from afkd.training import ddp


class Task:
    name: str = ""
    score_name: str = ""  # the validation metric (higher is better) that picks best.pt
    score_unit: str = ""  # how the progress bar prints it

    def __init__(self, settings, model: nn.Module):
        self.settings = settings
        self.model = model

    def load_data(self, data_dir: str | os.PathLike, val_dir: str | os.PathLike | None) -> None:
        raise NotImplementedError

    def trainable(self, device: torch.device) -> nn.Module:
        """The module whose parameters the optimizer updates (the model unless extras exist)."""
        return self.model

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def steps_per_epoch(self, world_size: int) -> int:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def loss(self, net: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def validate(self, placement: ddp.Placement) -> dict[str, Any]:
        raise NotImplementedError

    def run_info(self) -> dict[str, Any]:
        """Task entries of log.json's run record: title, data sources, split, crop, ..."""
        return {}

    def checkpoint_meta(self) -> dict[str, Any]:
        """Extra entries of every checkpoint's meta (none for the f-wave task: its meta is as it was)."""
        return {"task": self.name}

    def format_score(self, value) -> str:
        return "-" if value is None else f"{value:.3f}{self.score_unit}"
