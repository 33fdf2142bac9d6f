"""DT-FENet: a dual-path Conv-TasNet that separates f-waves (AA) from QRST (VA).

Lu et al., "Dual temporal convolutional network for single-lead fibrillation waveform
extraction" (2021); teacher/student sizes from Gan, Lin, Yang (2023), Table 1.

Signal path, per path p in {aa, va}::

    x (batch, T) mV
      -> left pad one hop (S = L/2)                         framing is causal for every model
      -> encoder_p: Conv1d(1, N, L, stride S) + ReLU        F_p (batch, N, frames), frames = T/S
      -> tcn_p: 1x1 N->B, then R x X blocks                 h_p (batch, B, frames)
      -> interaction: M_p = sigmoid(W_self h_p + W_cross h_other + b)   (batch, N, frames)
      -> decoder_p: ConvTranspose1d(N, 1, L, stride S) on F_p * M_p, crop the pad -> (batch, T)

A TCN block (Conv-TasNet order, with the norm *before* the activation so that a BatchNorm
folds exactly into the convolution before it, zero padding included)::

    y = 1x1 B->H -> norm -> PReLU -> depthwise conv (kernel P, dilation 2^x) -> norm -> PReLU -> 1x1 H->B
    out = in + y

The information interaction module (not specified by the paper) lets each path's mask see
the other path's latent features: ``W_cross`` is a 1x1 convolution from the other path's
``h``. It is mathematically "concatenate + 1x1", written as a sum of two 1x1 convolutions so
that the int8 graph needs only CONV + ADD. ``interaction=False`` removes it (ablation).

The model file imports no training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class DTFENetConfig:
    fs: int = 250  # model sampling rate, Hz; data is resampled to it
    enc_channels: int = 32  # N: encoder basis functions per path
    enc_kernel: int = 20  # L: encoder window in samples (80 ms at 250 Hz); hop L/2 = 10 divides 30 s and 5 s
    bottleneck: int = 32  # B: TCN residual width
    hidden: int = 32  # H: TCN block inner width
    kernel: int = 3  # P: depthwise kernel size
    blocks: int = 5  # X: blocks per repeat, dilations 1 .. 2^(X-1)
    repeats: int = 1  # R: stacks of X blocks
    causal: bool = True  # causal TCN; the encoder framing is causal regardless
    norm: str = "batch"  # "batch" (foldable, deployable), "gln" (global layer norm) or "none"
    interaction: bool = True  # cross-path mask fusion (see module docstring)
    # Frames the masks see beyond the frame they weight: mask t (inputs up to frame t) weights
    # encoder frame t - lookahead, so the output is delayed by lookahead hops and stays causal.
    lookahead: int = 0
    # Per-path and per-block widths of a structurally pruned model (afkd prune); None: every
    # path and block has the uniform width above. Paths in the order (aa, va); blocks aa's then va's.
    enc_channels_per_path: tuple[int, int] | None = None
    bottleneck_per_path: tuple[int, int] | None = None
    hidden_per_block: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_config_fields(self)  # types and ranges first: a wrong one must not reach the checks below
        for name, length in (("enc_channels_per_path", 2), ("bottleneck_per_path", 2),
                             ("hidden_per_block", 2 * self.blocks * self.repeats)):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"{name} must be a list of {length} integers, got {value!r}")
            value = tuple(value)  # JSON gives lists
            object.__setattr__(self, name, value)
            if len(value) != length or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096
                                               for v in value):
                raise ValueError(f"{name} must be {length} integers in [1, 4096], got {list(value)}")
        if self.enc_kernel % 2:
            raise ValueError(f"enc_kernel must be even (hop is enc_kernel/2), got {self.enc_kernel}")
        if self.norm not in ("batch", "gln", "none"):
            raise ValueError(f"norm must be batch, gln or none, got {self.norm!r}")
        check_config_size(self)

    def path_enc_channels(self, path: str) -> int:
        """N of path ``aa`` or ``va``."""
        return self.enc_channels if self.enc_channels_per_path is None else self.enc_channels_per_path[_PATH[path]]

    def path_bottleneck(self, path: str) -> int:
        """B of path ``aa`` or ``va``."""
        return self.bottleneck if self.bottleneck_per_path is None else self.bottleneck_per_path[_PATH[path]]

    def block_hidden(self, path: str, index: int) -> int:
        """H of block ``index`` (0-based, over all repeats) of path ``aa`` or ``va``."""
        if self.hidden_per_block is None:
            return self.hidden
        return self.hidden_per_block[_PATH[path] * len(self.dilations) + index]

    @property
    def hop(self) -> int:
        """Samples per frame (the encoder stride S = L/2)."""
        return self.enc_kernel // 2

    @property
    def lookahead_samples(self) -> int:
        """Samples by which the output lags the input in one-shot use (lookahead hops)."""
        return self.lookahead * self.hop

    @property
    def dilations(self) -> list[int]:
        return [2**x for x in range(self.blocks)] * self.repeats

    @property
    def receptive_field_frames(self) -> int:
        """Frames of past context the TCN sees (for a causal model)."""
        return 1 + (self.kernel - 1) * sum(self.dilations)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DTFENetConfig":
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict):
            raise ValueError(f"the config must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return cls(**data)


_PATH = {"aa": 0, "va": 1}

# field -> (least, most). The most are far above the paper's teacher (N 256, B 64, H 128, X 8,
# R 3) and keep a config from a file or the command line from hanging or exhausting memory
# (blocks 1000000 would build forever; dilations 2^(X-1) beyond 2^15 frames see hours).
CONFIG_RANGES = {"fs": (100, 20000), "enc_channels": (1, 4096), "enc_kernel": (2, 2048), "bottleneck": (1, 4096),
                 "hidden": (1, 4096), "kernel": (1, 64), "blocks": (1, 16), "repeats": (1, 32), "lookahead": (0, 4096)}
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights, 50x the teacher
MAX_FLOATS_PER_FRAME = 1 << 18  # activations of one frame over all layers: 1 MB, 15x the teacher


def check_config_fields(cfg: "DTFENetConfig") -> None:
    """Each field's type (an int is not a bool or a float) and range; ValueError naming the field."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if f.name in CONFIG_RANGES:
            least, most = CONFIG_RANGES[f.name]
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{f.name} must be an integer, got {value!r}")
            if not least <= value <= most:
                raise ValueError(f"{f.name} must be in [{least}, {most}], got {value}")
        elif f.name in ("causal", "interaction") and not isinstance(value, bool):
            raise ValueError(f"{f.name} must be true or false, got {value!r}")
        elif f.name == "norm" and not isinstance(value, str):
            raise ValueError(f"norm must be a string, got {value!r}")


def check_config_size(cfg: "DTFENetConfig") -> None:
    """The memory the model would need, from its sizes alone (before any tensor exists)."""
    n, l, b, h, p, layers = cfg.enc_channels, cfg.enc_kernel, cfg.bottleneck, cfg.hidden, cfg.kernel, \
        cfg.blocks * cfg.repeats
    parameters = 2 * (2 * n * l + 3 * n * b + layers * (2 * b * h + h * p + 6 * h))  # both paths
    if parameters > MAX_PARAMETERS:
        raise ValueError(f"the model would have about {parameters / 1e6:.0f} M parameters "
                         f"({4 * parameters / 2**30:.1f} GiB), above the limit of {MAX_PARAMETERS / 1e6:.0f} M")
    per_frame = 2 * (3 * n + layers * (2 * h + b))
    if per_frame > MAX_FLOATS_PER_FRAME:
        raise ValueError(f"the model would hold {per_frame} activations per frame "
                         f"({4 * per_frame * 750 / 2**30:.1f} GiB for 30 s at hop 10), above {MAX_FLOATS_PER_FRAME}")

TEACHER = DTFENetConfig(
    enc_channels=256, bottleneck=64, hidden=128, blocks=8, repeats=3, causal=False, norm="gln"
)
# The student's masks look 8 frames (320 ms) ahead: a QRS complex and most of its T wave are then
# in view before the frame is separated (models/README.md measures 0, 4, 8, 12 and 16).
STUDENT = DTFENetConfig(lookahead=8)


class GlobalLayerNorm(nn.Module):
    """Conv-TasNet's gLN: normalise over channels and time. Non-causal; teacher only."""

    def __init__(self, channels: int, eps: float = 1e-8):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, C, frames)
        mean = x.mean(dim=(1, 2), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(1, 2), keepdim=True)
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    if kind == "gln":
        return GlobalLayerNorm(channels)
    return nn.Identity()


class TCNBlock(nn.Module):
    def __init__(self, cfg: DTFENetConfig, dilation: int, bottleneck: int, hidden: int):
        super().__init__()
        self.dilation = dilation
        self.causal = cfg.causal
        self.pad = (cfg.kernel - 1) * dilation  # total padding that keeps the frame count
        self.in_conv = nn.Conv1d(bottleneck, hidden, 1)
        self.norm1 = make_norm(cfg.norm, hidden)
        self.act1 = nn.PReLU()
        self.depthwise = nn.Conv1d(hidden, hidden, cfg.kernel, dilation=dilation, groups=hidden)
        self.norm2 = make_norm(cfg.norm, hidden)
        self.act2 = nn.PReLU()
        self.out_conv = nn.Conv1d(hidden, bottleneck, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, B, frames)
        y = self.act1(self.norm1(self.in_conv(x)))  # (batch, H, frames)
        # Causal: all padding before the first frame, so output frame t sees frames <= t.
        left = self.pad if self.causal else self.pad // 2
        y = F.pad(y, (left, self.pad - left))
        y = self.act2(self.norm2(self.depthwise(y)))  # (batch, H, frames)
        return x + self.out_conv(y)  # (batch, B, frames)


class TCN(nn.Module):
    """Bottleneck 1x1 N->B, then R x X dilated blocks; returns h (batch, B, frames)."""

    def __init__(self, cfg: DTFENetConfig, path: str = "aa"):
        super().__init__()
        B = cfg.path_bottleneck(path)
        self.bottleneck = nn.Conv1d(cfg.path_enc_channels(path), B, 1)
        self.blocks = nn.ModuleList(TCNBlock(cfg, d, B, cfg.block_hidden(path, i)) for i, d in enumerate(cfg.dilations))
        self.out_act = nn.PReLU()

    def forward(self, feats: torch.Tensor) -> torch.Tensor:  # (batch, N, frames)
        h = self.bottleneck(feats)
        for block in self.blocks:
            h = block(h)
        return self.out_act(h)  # (batch, B, frames)


class MaskHead(nn.Module):
    """M = sigmoid(W_self h_self + W_cross h_other + b): the information interaction module."""

    def __init__(self, cfg: DTFENetConfig, path: str = "aa"):
        super().__init__()
        other = "va" if path == "aa" else "aa"
        N = cfg.path_enc_channels(path)
        self.self_conv = nn.Conv1d(cfg.path_bottleneck(path), N, 1)
        self.cross_conv = (
            nn.Conv1d(cfg.path_bottleneck(other), N, 1, bias=False) if cfg.interaction else None
        )

    def forward(self, h_self: torch.Tensor, h_other: torch.Tensor) -> torch.Tensor:
        z = self.self_conv(h_self)  # (batch, N, frames)
        if self.cross_conv is not None:
            z = z + self.cross_conv(h_other)
        return torch.sigmoid(z)


class DTFENet(nn.Module):
    def __init__(self, cfg: DTFENetConfig):
        super().__init__()
        self.cfg = cfg
        L, S = cfg.enc_kernel, cfg.hop
        N_aa, N_va = cfg.path_enc_channels("aa"), cfg.path_enc_channels("va")
        self.encoder_aa = nn.Conv1d(1, N_aa, L, stride=S, bias=False)
        self.encoder_va = nn.Conv1d(1, N_va, L, stride=S, bias=False)
        self.tcn_aa = TCN(cfg, "aa")
        self.tcn_va = TCN(cfg, "va")
        self.mask_aa = MaskHead(cfg, "aa")
        self.mask_va = MaskHead(cfg, "va")
        self.decoder_aa = nn.ConvTranspose1d(N_aa, 1, L, stride=S, bias=False)
        self.decoder_va = nn.ConvTranspose1d(N_va, 1, L, stride=S, bias=False)

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"expected input (batch, T) or (batch, 1, T), got {tuple(x.shape)}")
        if x.shape[-1] % self.cfg.hop:
            raise ValueError(f"input length {x.shape[-1]} is not a multiple of the hop {self.cfg.hop}")
        return x  # (batch, 1, T)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """All intermediate tensors distillation needs, plus the outputs.

        x: (batch, T) or (batch, 1, T) in mV, T a multiple of the hop S.
        Returns enc_aa, enc_va, mask_aa, mask_va: (batch, N, T/S); aa, va: (batch, T).
        """
        x = self._input(x)
        S = self.cfg.hop
        T = x.shape[-1]
        # One hop of zeros in front: frame t then covers samples [(t-1)S, tS+S) and is
        # complete as soon as sample tS+S-1 arrives, so streaming needs no look-ahead.
        padded = F.pad(x, (S, 0))  # (batch, 1, T+S)
        enc_aa = F.relu(self.encoder_aa(padded))  # (batch, N, T/S)
        enc_va = F.relu(self.encoder_va(padded))
        h_aa = self.tcn_aa(enc_aa)  # (batch, B, T/S)
        h_va = self.tcn_va(enc_va)
        mask_aa = self.mask_aa(h_aa, h_va)  # (batch, N, T/S)
        mask_va = self.mask_va(h_va, h_aa)
        # The transposed conv output covers input time [-S, T): drop the padded hop. Output hop
        # t is complete once frame t+1 is decoded, so a stream emits hop t-1 at step t and the
        # last hop (second half of the last frame only) on flush: one hop of latency.
        aa = self.decoder_aa(self._delayed(enc_aa) * mask_aa)[:, 0, S : S + T]  # (batch, T)
        va = self.decoder_va(self._delayed(enc_va) * mask_va)[:, 0, S : S + T]
        return {"enc_aa": enc_aa, "enc_va": enc_va, "mask_aa": mask_aa, "mask_va": mask_va, "aa": aa, "va": va}

    def _delayed(self, enc: torch.Tensor) -> torch.Tensor:
        """Encoder frames delayed by ``lookahead`` (zeros before the first): (batch, N, frames).

        The mask of frame t weights encoder frame t - lookahead, so it has seen ``lookahead``
        frames after the one it separates; the output lags the input by that many hops.
        """
        D = self.cfg.lookahead
        if D == 0:
            return enc
        return F.pad(enc, (D, 0))[..., : enc.shape[-1]]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (batch, T) mV -> (aa, va), each (batch, T) mV, lagging x by ``cfg.lookahead_samples``."""
        out = self.features(x)
        return out["aa"], out["va"]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_frame(cfg: DTFENetConfig) -> int:
    """Multiply-accumulates per frame (per hop of S samples) of the whole network, both paths.

    Counts convolutions only (encoder, 1x1s, depthwise, mask heads, decoder); element-wise
    ops (norm, PReLU, sigmoid, mask multiply, residual add) are O(channels) and left out,
    as is usual for MAC counts.
    """
    L, P = cfg.enc_kernel, cfg.kernel
    total = 0
    for path, other in (("aa", "va"), ("va", "aa")):
        N, B = cfg.path_enc_channels(path), cfg.path_bottleneck(path)
        blocks = sum(H * (2 * B + P) for H in (cfg.block_hidden(path, i) for i in range(len(cfg.dilations))))
        mask = N * (B + (cfg.path_bottleneck(other) if cfg.interaction else 0))
        total += N * L + N * B + blocks + mask + N * L  # encoder, bottleneck, blocks, mask head, decoder
    return total


def macs_per_second(cfg: DTFENetConfig) -> float:
    return macs_per_frame(cfg) * cfg.fs / cfg.hop
