"""The heartbeat classifier: a 1-D CNN on a beat-centred window, five AAMI classes.

The family the multistage-pruning paper compresses (Li, Panicker, Cardiff, John, "Multistage
pruning of CNN based ECG classifiers for edge devices", 2021): stacked convolution + ReLU +
max-pooling stages on one beat window, then dense layers and a softmax over N, S, V, F, Q.
The layer sizes here are ours (models/README.md says so); the ops are the ones TFLite's
int8 kernels have (CONV_2D with H=1, MAX_POOL_2D, FULLY_CONNECTED, MEAN/SUB)::

    x (batch, W) mV, W = before + after samples around the annotated R peak
      -> minus the window mean (optional)                    baseline offset removed
      -> stage k: conv k_k (C_k filters) -> BN -> ReLU -> max pool 2     (batch, C_k, W / 2^k)
      -> flatten -> dense D -> ReLU -> dropout -> dense classes          logits (batch, classes)

The window reaches past the neighbouring beats (1.5 s before, 1 s after) so that the
network sees the RR intervals, which separate S beats from N beats far better than the
shape of one QRS does (inter-patient, de Chazal 2004).

The model file imports no training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from afkd.training.config_checks import check_bool, check_classes, check_float, check_int, check_int_list

AAMI_CLASSES = ("N", "S", "V", "F", "Q")


@dataclass(frozen=True)
class BeatCNNConfig:
    fs: int = 250  # input rate, Hz (MIT-BIH's 360 Hz is resampled on import)
    classes: tuple[str, ...] = AAMI_CLASSES  # output order of the logits
    before: int = 384  # samples before the R peak (1.54 s): the previous beat and its RR interval
    after: int = 256  # samples after it (1.02 s): the next beat (compensatory pause of a V)
    channels: tuple[int, ...] = (8, 16, 16, 32, 32)  # filters per conv stage (28k parameters, 0.9 M MACs a beat)
    kernels: tuple[int, ...] = (7, 7, 5, 5, 3)  # kernel per stage ('same' padding)
    pool: int = 2  # max pooling after every stage
    dense: int = 32  # hidden dense width
    dropout: float = 0.3  # before the last dense layer (training only)
    center: bool = True  # subtract the window mean first: baseline offsets vary per record

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", check_classes(self.classes))
        object.__setattr__(self, "channels", check_int_list("channels", self.channels, 1, 1024))
        object.__setattr__(self, "kernels", check_int_list("kernels", self.kernels, 1, 256))
        if len(self.channels) != len(self.kernels):
            raise ValueError("channels and kernels must be of equal length")
        check_int("fs", self.fs, 100, 20000)
        check_int("before", self.before, 0, 100_000)
        check_int("after", self.after, 1, 100_000)
        check_int("pool", self.pool, 1, 16)
        check_int("dense", self.dense, 1, 4096)
        check_bool("center", self.center)
        if self.window % self.pool ** len(self.channels):
            raise ValueError(f"window {self.window} is not a multiple of pool^stages "
                             f"({self.pool}^{len(self.channels)})")
        check_float("dropout", self.dropout, 0.0, 1.0)
        if self.flat_features * self.dense > 50_000_000:
            raise ValueError(f"the dense layer would have {self.flat_features * self.dense} weights, above 50 M")

    @property
    def window(self) -> int:
        """Input samples per beat (R peak at index ``before``)."""
        return self.before + self.after

    @property
    def flat_features(self) -> int:
        return self.channels[-1] * (self.window // self.pool ** len(self.channels))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("classes", "channels", "kernels"):
            data[name] = list(getattr(self, name))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BeatCNNConfig":
        if not isinstance(data, dict):
            raise ValueError(f"the config must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return cls(**data)


BEAT_CNN = BeatCNNConfig()


class BeatCNN(nn.Module):
    """x (batch, W) or (batch, 1, W) mV -> logits (batch, classes)."""

    def __init__(self, cfg: BeatCNNConfig):
        super().__init__()
        self.cfg = cfg
        convs, norms, channels = [], [], 1
        for out, k in zip(cfg.channels, cfg.kernels):
            convs.append(nn.Conv1d(channels, out, k))
            norms.append(nn.BatchNorm1d(out))
            channels = out
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(norms)
        self.hidden = nn.Linear(cfg.flat_features, cfg.dense)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.dense, len(cfg.classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3 and x.shape[1] == 1:
            x = x[:, 0]
        if x.dim() != 2 or x.shape[1] != self.cfg.window:
            raise ValueError(f"expected beat windows (batch, {self.cfg.window}), got {tuple(x.shape)}")
        if self.cfg.center:
            x = x - x.mean(dim=1, keepdim=True)
        h = x.unsqueeze(1)  # (batch, 1, W)
        for conv, norm in zip(self.convs, self.norms):
            k = conv.kernel_size[0]
            h = F.relu(norm(conv(F.pad(h, ((k - 1) // 2, k // 2)))))  # 'same': (batch, C, t)
            h = F.max_pool1d(h, self.cfg.pool)  # (batch, C, t / pool)
        h = self.dropout(F.relu(self.hidden(h.flatten(1))))  # (batch, D)
        return self.out(h)  # (batch, classes)

    def record_logits(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """One window is one beat: the logits themselves (the classifier interface)."""
        return self(x)


def beat_macs(cfg: BeatCNNConfig) -> int:
    """Multiply-accumulates per beat window (convolutions and dense layers)."""
    t, channels, macs = cfg.window, 1, 0
    for out, k in zip(cfg.channels, cfg.kernels):
        macs += t * channels * out * k
        t //= cfg.pool
        channels = out
    return macs + cfg.flat_features * cfg.dense + cfg.dense * len(cfg.classes)
