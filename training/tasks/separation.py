"""The f-wave task: DT-FENet separates AA and VA; optionally distilled from a teacher.

Loss of a step (batch of crops ``x, aa, va`` (batch, T))::

    loss = L_task(aa, va, student(x)) + L_KD(student features, teacher features)

with L_KD = 0 without a teacher (:mod:`afkd.training.losses`, :mod:`afkd.training.distill`).
Validation runs whole held-out segments; the validation SNR_AA picks best.pt.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from afkd.errors import AfkdError
from afkd.training import ddp
from afkd.training.checkpoint import load_checkpoint
from afkd.training.distill import DistillationLoss
from afkd.training.evaluate import predict
from afkd.training.losses import task_loss
from afkd.training.metrics import segment_metrics, summarize
from afkd.training.model import DTFENet
from afkd.training.tasks.base import Task
from afkd.training.train_data import TrainingData


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


class SeparationTask(Task):
    name = "separation"
    score_name = "snr_aa_db"
    score_unit = " dB"

    def __init__(self, settings, model: DTFENet, teacher_path=None):
        super().__init__(settings, model)
        self.teacher_path = teacher_path
        self.teacher = None

    def load_data(self, data_dir, val_dir) -> None:
        s = self.settings
        self.data_dir = data_dir
        self.data = TrainingData(data_dir, val_dir, s.val_fraction, s.seed, s.val_segments)
        cfg = self.model.cfg
        if abs(cfg.fs - self.data.fs) > 1e-6:
            raise AfkdError(f"{data_dir}: rate {self.data.fs} Hz differs from the model rate {cfg.fs} Hz")

    def trainable(self, device: torch.device) -> nn.Module:
        s, cfg = self.settings, self.model.cfg
        if s.method != "none":
            if self.teacher_path is None:
                raise AfkdError(f"distillation method {s.method}: needs --teacher")
            self.teacher, _ = load_checkpoint(self.teacher_path)
            if not isinstance(self.teacher, DTFENet):
                raise AfkdError(f"{self.teacher_path}: the teacher must be a DT-FENet")
            self.teacher.to(device).eval().requires_grad_(False)
        self.kd = DistillationLoss(s.method, cfg, self.teacher.cfg if self.teacher else None,
                                   s.gamma, s.beta, s.alpha)
        self.crop = self.data.crop_length(s.crop_seconds, cfg.hop)
        if self.crop <= 2 * cfg.lookahead_samples:
            raise AfkdError(f"training crops of {self.crop} samples: the model's lookahead lags its output by "
                            f"{cfg.lookahead_samples}, leave more than twice that (longer --crop-seconds)")
        return StudentWithKD(self.model, self.kd).to(device)

    def extra_state(self) -> dict[str, Any]:
        return self.kd.state_dict()

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.kd.load_state_dict(state)

    def steps_per_epoch(self, world_size: int) -> int:
        return max(1, len(self.data.train_ids) // (self.settings.batch_size * world_size))

    def sample(self, rng):
        return self.data.sample(rng, self.settings.batch_size, self.crop)

    def loss(self, net, batch, device):
        x, aa, va = (torch.from_numpy(batch[k]).to(device) for k in ("ecg", "aa", "va"))  # (batch, T)
        teacher_feats = None
        if self.teacher is not None:
            with torch.no_grad():
                teacher_feats = self.teacher.features(x)
        feats, kd_loss, _ = net(x, teacher_feats)
        # The output lags the input by the model's lookahead: compare it with the truth it estimates.
        s = self.settings
        task = task_loss(aa, va, feats["aa"], feats["va"], s.alpha, s.loss, lag=self.model.cfg.lookahead_samples)
        return task + kd_loss, {"task": task.item(), "kd": kd_loss.item()}

    def validate(self, placement: ddp.Placement) -> dict:
        """Dataset means over the validation segments, split across ranks and gathered."""
        data, model = self.data, self.model
        mine = data.val_segments[placement.rank :: placement.world_size]
        model.eval()
        estimates = predict(model, [s["ecg"] for s in mine], placement.device) if mine else []
        model.train()
        rows = [segment_metrics(s["ecg"], a, v, data.fs, s["aa"], s["va"]) for s, (a, v) in zip(mine, estimates)]
        return summarize(r for part in ddp.gather(rows, placement) for r in part)

    def run_info(self) -> dict[str, Any]:
        return {"title": f"{{role}} ({self.settings.method if self.teacher else 'no KD'})",
                "val": self.data.val_source, "teacher": None if self.teacher_path is None else str(self.teacher_path),
                "crop_samples": self.crop}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {}

    def format_score(self, value) -> str:
        import math

        return "-" if value is None or not math.isfinite(value) else f"{value:.2f} dB"
