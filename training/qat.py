"""Quantization-aware training: train the model the exporter will quantize, as it will quantize it.

``afkd train/distill/prune --qat int8|int16x8`` wraps the model in :class:`QuantAwareModel`:
BatchNorm is folded first (the exporter rounds the *folded* weights, so training must round
those: the model trains on as ``norm="none"``), and every forward runs the deployable graph
(:mod:`afkd.training.quant_graph`) with TFLite's rounding at every weight, bias and activation
(:mod:`afkd.training.fake_quant`). The activation ranges are the exporter's: min/max over the
same calibration windows (``--qat-calibration``, default the exporter's synthetic ones) with
the same headroom, recomputed from the current weights every ``--qat-calibrate-every`` steps
and before every validation, so that the validation score (and ``best.pt``) is the score of
the model the export will produce. The checkpoints are ordinary afkd checkpoints (folded,
float weights); ``meta["qat"]`` says how to export them to get the ranges trained with.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from afkd.errors import AfkdError
from afkd.training.calibration_windows import split_windows
from afkd.training.fake_quant import DEFAULT_HEADROOM, MODES, FakeQuantizer, calibrate
from afkd.training.folding import fold_batchnorm
from afkd.training.quant_graph import graph_features


@dataclass(frozen=True)
class QATSettings:
    mode: str  # int8 or int16x8, the export's --quant
    calibration: str | None = None  # dataset directory, the export's --calibration (None: synthetic)
    calibration_segments: int = 16  # the export's --calibration-segments
    validation_segments: int = 4  # the export's --validation-segments (they decide the split)
    seconds: float = 30.0  # the export's --seconds
    headroom: float | None = None  # the export's --headroom (None: the mode's default)
    calibrate_every: int = 50  # steps between range updates

    def check(self) -> None:
        if self.mode not in MODES:
            raise AfkdError(f"--qat {self.mode}: choose one of {', '.join(MODES)}")
        if self.calibrate_every < 1:
            raise AfkdError(f"--qat-calibrate-every {self.calibrate_every}: must be at least 1")
        if self.headroom is not None and not self.headroom >= 1.0:
            raise AfkdError(f"--qat-headroom {self.headroom}: must be a gain of at least 1")

    def export_options(self) -> str:
        """The ``afkd export`` options that calibrate the ranges this training used."""
        opts = [f"--quant {self.mode}", f"--seconds {self.seconds:g}",
                f"--calibration-segments {self.calibration_segments}",
                f"--validation-segments {self.validation_segments}"]
        if self.calibration is not None:
            opts.append(f"--calibration {self.calibration}")
        if self.headroom is not None:
            opts.append(f"--headroom {self.headroom:g}")
        return " ".join(opts)

    def to_meta(self) -> dict:
        return {"mode": self.mode, "calibration": self.calibration,
                "calibration_segments": self.calibration_segments,
                "validation_segments": self.validation_segments, "seconds": self.seconds,
                "headroom": self.headroom, "headroom_used": self.gain, "export_options": self.export_options()}

    @property
    def gain(self) -> float:
        return DEFAULT_HEADROOM[self.mode] if self.headroom is None else float(self.headroom)


class QuantAwareModel(nn.Module):
    """A folded DT-FENet whose forward rounds as the exported integer model will.

    ``features(x)`` and ``forward(x)`` keep :class:`DTFENet`'s shapes and lookahead, so the
    trainer, the KD losses and ``evaluate.predict`` use it unchanged. ``model`` is the folded
    float model (the one to save).
    """

    def __init__(self, model: nn.Module, settings: QATSettings):
        super().__init__()
        settings.check()
        if model.cfg.norm == "gln":
            raise AfkdError("--qat: a model with global layer norm cannot be quantized (it does not fold)")
        self.model = fold_batchnorm(model) if model.cfg.norm == "batch" else model
        self.model.train(model.training)
        self.settings = settings
        length = int(round(settings.seconds * self.cfg.fs))
        if length <= 0 or length % self.cfg.hop:
            raise AfkdError(f"--qat-seconds {settings.seconds}: not a positive multiple of the hop")
        self.windows, _, self.source = split_windows(self.cfg, length, settings.calibration,
                                                     settings.calibration_segments, settings.validation_segments)
        self.params = {}
        self.recalibrate()

    @property
    def cfg(self):
        return self.model.cfg

    def recalibrate(self) -> None:
        """Ranges from the current weights, as the exporter would compute them now."""
        self.params = calibrate(self.model, self.windows, self.settings.mode, self.settings.gain)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return graph_features(self.model, x, FakeQuantizer(self.params))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.features(x)
        return out["aa"], out["va"]


def unwrap(model: nn.Module) -> nn.Module:
    """The model to save: the folded float model inside a QuantAwareModel, else the model."""
    return model.model if isinstance(model, QuantAwareModel) else model
