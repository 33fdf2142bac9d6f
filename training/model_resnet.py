"""The dense reference: Hannun et al.'s 34-layer 1-D residual CNN (Nature Medicine 2019).

"Cardiologist-level arrhythmia detection and classification in ambulatory electrocardiograms
using a deep neural network": the Stanford network that LTH-ECG prunes. 33 convolutions and a
per-window dense head::

    x (batch, T) mV
      -> conv k16, F0 filters -> BN -> ReLU
      -> block 0: conv -> BN -> ReLU -> dropout -> conv          (+ shortcut)
      -> blocks 1..15: BN -> ReLU -> dropout -> conv -> BN -> ReLU -> dropout -> conv  (+ shortcut)
      -> BN -> ReLU -> 1x1 dense per window                   logits (batch, classes, T / 2^8)

Block i has F0 * 2^(i // 4) filters; every other block (odd i) subsamples by 2 (stride 2 in
its first convolution, max pooling of 2 on its shortcut), so one output covers 256 samples.
Where the filter count grows the shortcut is zero-padded in channels (the paper's code).
Convolutions are 'same'-padded (not causal): it is the reference, not the deployed model.

``base_filters`` is the width option: the paper's is 32; the shipped reference is narrower
to train on two CPU cores, at the paper's depth (models/README.md). The record's answer is
the mean of the window logits, as for the compact detector.

The model file imports no training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from afkd.training.config_checks import check_classes, check_float, check_int
from afkd.training.model_detector import RHYTHM_CLASSES, masked_mean_logits


@dataclass(frozen=True)
class ResNet34Config:
    fs: int = 250  # input rate, Hz (the paper's 200; 250 is the pipeline's, the same data path)
    classes: tuple[str, ...] = RHYTHM_CLASSES  # output order of the logits
    base_filters: int = 32  # F0: the paper's 32; the width option (filters scale with it)
    kernel: int = 16  # the paper's filter length
    blocks: int = 16  # residual blocks of two convolutions: 2*16 + first conv + head = 34 layers
    grow_every: int = 4  # filters double every 4th block (32, 64, 128, 256 in the paper)
    subsample_every: int = 2  # every other block halves the time axis (8 times: 256 samples a window)
    dropout: float = 0.2  # the paper's, before each convolution inside the blocks

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", check_classes(self.classes))
        for name, (least, most) in RANGES.items():
            check_int(name, getattr(self, name), least, most)
        check_float("dropout", self.dropout, 0.0, 1.0)
        params = sum(2 * self.filters(i) ** 2 * self.kernel for i in range(self.blocks))
        if params > 50_000_000:
            raise ValueError(f"the model would have about {params / 1e6:.0f} M parameters, above 50 M")
        if self.base_filters * 2 ** ((self.blocks - 1) // self.grow_every) > 4096:
            raise ValueError(f"the last block would have more than 4096 filters "
                             f"(base_filters {self.base_filters}, blocks {self.blocks}, grow_every {self.grow_every})")

    def filters(self, block: int) -> int:
        return self.base_filters * 2 ** (block // self.grow_every)

    def subsamples(self, block: int) -> bool:
        return block % self.subsample_every == self.subsample_every - 1

    @property
    def window(self) -> int:
        """Input samples per output window (2^number of subsampling blocks)."""
        return 2 ** sum(self.subsamples(i) for i in range(self.blocks))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ResNet34Config":
        if not isinstance(data, dict):
            raise ValueError(f"the config must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return cls(**data)


# field -> (least, most): far above the paper's network, low enough that no config hangs or fills memory.
RANGES = {"fs": (100, 20000), "base_filters": (1, 512), "kernel": (1, 256), "blocks": (1, 64),
          "grow_every": (1, 64), "subsample_every": (1, 64)}

# The paper's size, and the width-reduced reference that trains on two CPU cores (paper's depth).
HANNUN_34 = ResNet34Config()
HANNUN_34_NARROW = ResNet34Config(base_filters=8)


def _same_pad(kernel: int) -> tuple[int, int]:
    return (kernel - 1) // 2, kernel // 2


class ResidualBlock(nn.Module):
    def __init__(self, cfg: ResNet34Config, index: int, in_channels: int):
        super().__init__()
        out_channels = cfg.filters(index)
        self.first = index == 0  # its input already went through BN-ReLU after the first conv
        self.stride = 2 if cfg.subsamples(index) else 1
        self.extra_channels = out_channels - in_channels
        self.pad = _same_pad(cfg.kernel)
        self.norm1 = None if self.first else nn.BatchNorm1d(in_channels)
        self.conv1 = nn.Conv1d(in_channels, out_channels, cfg.kernel, stride=self.stride)
        self.norm2 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, cfg.kernel)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, C_in, t)
        shortcut = F.max_pool1d(x, 2) if self.stride == 2 else x  # (batch, C_in, t / stride)
        if self.extra_channels:
            shortcut = F.pad(shortcut, (0, 0, 0, self.extra_channels))  # zero channels on top
        y = x if self.first else self.dropout(F.relu(self.norm1(x)))
        # 'same' padding for the strided conv: pad as for stride 1, then every other output
        y = self.conv1(F.pad(y, self.pad))  # (batch, C_out, t / stride)
        y = self.dropout(F.relu(self.norm2(y)))
        y = self.conv2(F.pad(y, self.pad))
        return y + shortcut


class ResNet34(nn.Module):
    """x (batch, T) or (batch, 1, T) mV, T a multiple of ``cfg.window`` -> (batch, classes, T/window)."""

    def __init__(self, cfg: ResNet34Config):
        super().__init__()
        self.cfg = cfg
        self.stem = nn.Conv1d(1, cfg.base_filters, cfg.kernel)
        self.stem_norm = nn.BatchNorm1d(cfg.base_filters)
        blocks, channels = [], cfg.base_filters
        for i in range(cfg.blocks):
            blocks.append(ResidualBlock(cfg, i, channels))
            channels = cfg.filters(i)
        self.blocks = nn.ModuleList(blocks)
        self.out_norm = nn.BatchNorm1d(channels)
        self.head = nn.Conv1d(channels, len(cfg.classes), 1)  # the time-distributed dense layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"expected input (batch, T) or (batch, 1, T), got {tuple(x.shape)}")
        if x.shape[-1] % self.cfg.window:
            raise ValueError(f"input length {x.shape[-1]} is not a multiple of the window {self.cfg.window}")
        h = F.relu(self.stem_norm(self.stem(F.pad(x, _same_pad(self.cfg.kernel)))))
        for block in self.blocks:
            h = block(h)
        return self.head(F.relu(self.out_norm(h)))  # (batch, classes, T / window)

    def record_logits(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Mean window logits over the windows that lie inside each record: (batch, classes)."""
        valid = None if lengths is None else torch.div(lengths, self.cfg.window, rounding_mode="floor")
        return masked_mean_logits(self(x), valid)


def resnet_macs_per_second(cfg: ResNet34Config) -> float:
    """Convolution MACs per second of input at ``cfg.fs`` (BN, ReLU, pooling left out)."""
    rate = float(cfg.fs)  # output samples per second of the current layer
    macs = cfg.base_filters * cfg.kernel * rate
    channels = cfg.base_filters
    for i in range(cfg.blocks):
        out = cfg.filters(i)
        if cfg.subsamples(i):
            rate /= 2
        macs += (channels * out + out * out) * cfg.kernel * rate
        channels = out
    return macs + channels * len(cfg.classes) * rate
