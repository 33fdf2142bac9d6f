"""The compact rhythm detector: one causal DT-FENet path with a class head, streamable.

Built from DT-FENet's blocks (:mod:`afkd.training.model`), so the firmware already has every
op it needs::

    x (batch, T) mV at fs (250 Hz), T a multiple of the hop S
      -> left pad one hop                                    causal framing, as DT-FENet
      -> encoder: Conv1d(1, N, L, stride S) + ReLU           (batch, N, frames), frames = T/S
      -> TCN: 1x1 N->B, X x R causal dilated blocks, PReLU   (batch, B, frames)
      -> head: 1x1 B->classes                                frame logits (batch, classes, frames)

The record's answer, at any frame t and at the end, is the argmax of the running MEAN of the
frame logits over frames 0..t. That is the deployment contract: the firmware keeps an int32
running sum of the quantized logits (the divisor does not change the argmax), so training
optimises exactly that statistic (:func:`masked_mean_logits`, padding frames masked out).

Frame t covers samples [(t-1)S, tS+S) and sees nothing later, so streaming hop by hop
(:class:`StreamingDetector`) gives the one-shot logits frame for frame.

The model file imports no training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from afkd.training.config_checks import check_classes, check_int
from afkd.training.model import TCN, DTFENetConfig

RHYTHM_CLASSES = ("N", "A", "O", "~")  # CinC 2017 labels, in the challenge's order


@dataclass(frozen=True)
class RhythmTCNConfig:
    fs: int = 250  # input rate, Hz: the firmware contract (data are resampled to it)
    classes: tuple[str, ...] = RHYTHM_CLASSES  # output order of the logits
    enc_channels: int = 32  # N: encoder filters; a frame is N numbers
    # L: encoder window (160 ms); hop S = L/2 = 20 samples = 80 ms, 12.5 frames/s: RR timing to
    # one frame is enough for rhythm, and few frames keep MACs and ring RAM low
    enc_kernel: int = 40
    bottleneck: int = 32  # B: TCN residual width
    hidden: int = 48  # H: block inner width; rings hold H x (2d+1) frames per block
    kernel: int = 3  # P: depthwise kernel
    blocks: int = 5  # X: dilations 1 .. 16 per repeat
    # R: two stacks, receptive field 1 + 2*2*31 = 125 frames = 10 s: about ten beats, enough
    # to judge RR irregularity; the record-long view comes from the running mean
    repeats: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", check_classes(self.classes))
        for name, (least, most) in RANGES.items():
            check_int(name, getattr(self, name), least, most)
        if self.enc_kernel % 2:
            raise ValueError(f"enc_kernel must be even (hop is enc_kernel/2), got {self.enc_kernel}")
        layers = self.blocks * self.repeats
        params = self.enc_channels * (self.enc_kernel + self.bottleneck) + layers * self.hidden * (
            2 * self.bottleneck + self.kernel)
        if params > 50_000_000:
            raise ValueError(f"the model would have about {params / 1e6:.0f} M parameters, above 50 M")

    @property
    def hop(self) -> int:
        """Samples per frame (the encoder stride S = L/2)."""
        return self.enc_kernel // 2

    @property
    def dilations(self) -> list[int]:
        return [2**x for x in range(self.blocks)] * self.repeats

    @property
    def receptive_field_frames(self) -> int:
        return 1 + (self.kernel - 1) * sum(self.dilations)

    def tcn_config(self) -> DTFENetConfig:
        """The DT-FENet config whose TCN this detector reuses (causal, BatchNorm: foldable)."""
        return DTFENetConfig(fs=self.fs, enc_channels=self.enc_channels, enc_kernel=self.enc_kernel,
                             bottleneck=self.bottleneck, hidden=self.hidden, kernel=self.kernel,
                             blocks=self.blocks, repeats=self.repeats, causal=True, norm="batch")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RhythmTCNConfig":
        if not isinstance(data, dict):
            raise ValueError(f"the config must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return cls(**data)


# field -> (least, most): far above a deployable detector, low enough that no config hangs or fills memory.
RANGES = {"fs": (100, 20000), "enc_channels": (1, 1024), "enc_kernel": (2, 2048), "bottleneck": (1, 1024),
          "hidden": (1, 1024), "kernel": (1, 64), "blocks": (1, 12), "repeats": (1, 16)}

# The shipped compact detector's size (models/README.md): 35k parameters, 0.44 M MACs/s.
COMPACT_DETECTOR = RhythmTCNConfig()


class RhythmTCN(nn.Module):
    """x (batch, T) or (batch, 1, T) mV -> frame logits (batch, classes, T/S)."""

    def __init__(self, cfg: RhythmTCNConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = nn.Conv1d(1, cfg.enc_channels, cfg.enc_kernel, stride=cfg.hop, bias=False)
        self.tcn = TCN(cfg.tcn_config())
        self.head = nn.Conv1d(cfg.bottleneck, len(cfg.classes), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"expected input (batch, T) or (batch, 1, T), got {tuple(x.shape)}")
        S = self.cfg.hop
        if x.shape[-1] % S:
            raise ValueError(f"input length {x.shape[-1]} is not a multiple of the hop {S}")
        # One hop of zeros in front: frame t covers [(t-1)S, tS+S), complete at sample tS+S-1.
        feats = F.relu(self.encoder(F.pad(x, (S, 0))))  # (batch, N, frames)
        return self.head(self.tcn(feats))  # (batch, classes, frames)

    def record_logits(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Mean frame logits over each record's valid frames: (batch, classes).

        ``lengths`` (batch,) are the records' lengths in samples before zero padding; a
        frame is valid when all its samples lie inside the record (floor(length / S) frames).
        """
        frame_logits = self(x)
        valid = None if lengths is None else torch.div(lengths, self.cfg.hop, rounding_mode="floor")
        return masked_mean_logits(frame_logits, valid)


def masked_mean_logits(frame_logits: torch.Tensor, valid_frames: torch.Tensor | None) -> torch.Tensor:
    """Mean over the first ``valid_frames[b]`` frames of each row: (batch, C, F) -> (batch, C).

    At least one frame counts, so a record shorter than one frame still has an answer.
    """
    if valid_frames is None:
        return frame_logits.mean(dim=-1)
    frames = frame_logits.shape[-1]
    valid = valid_frames.clamp(min=1, max=frames).to(frame_logits.device)
    mask = (torch.arange(frames, device=frame_logits.device)[None, :] < valid[:, None]).to(frame_logits.dtype)
    return (frame_logits * mask[:, None, :]).sum(dim=-1) / valid[:, None].to(frame_logits.dtype)


class StreamingDetector:
    """The detector run one hop at a time, with the state a firmware keeps (eval mode).

    State: the last L - S input samples (the encoder's window), one ring of (K-1)d past
    frames per depthwise layer, and the running sum of frame logits. ``step(hop)`` takes S new
    samples and returns that frame's logits; ``result()`` is the running mean so far. It
    equals the one-shot model frame for frame (tests/test_classifier_models.py).
    """

    def __init__(self, model: RhythmTCN):
        self.model = model.eval()
        cfg = model.cfg
        self.S, self.L = cfg.hop, cfg.enc_kernel
        self.window = torch.zeros(1, 1, self.L - self.S)  # the one-hop left pad of the one-shot model
        self.rings = [torch.zeros(1, cfg.hidden, (cfg.kernel - 1) * b.dilation) for b in model.tcn.blocks]
        self.logit_sum = torch.zeros(len(cfg.classes))
        self.frames = 0

    @torch.no_grad()
    def step(self, hop: torch.Tensor) -> torch.Tensor:
        """hop: (S,) mV -> this frame's logits (classes,)."""
        x = torch.cat([self.window, hop.reshape(1, 1, self.S)], dim=-1)  # (1, 1, L)
        self.window = x[..., self.S :]
        tcn = self.model.tcn
        h = tcn.bottleneck(F.relu(self.model.encoder(x)))  # (1, B, 1)
        for k, block in enumerate(tcn.blocks):
            y = block.act1(block.norm1(block.in_conv(h)))  # (1, H, 1)
            taps = torch.cat([self.rings[k], y], dim=-1)  # (1, H, (K-1)d + 1)
            self.rings[k] = taps[..., 1:]
            y = block.act2(block.norm2(block.depthwise(taps)))  # (1, H, 1)
            h = h + block.out_conv(y)
        logits = self.model.head(tcn.out_act(h))[0, :, 0]  # (classes,)
        self.logit_sum += logits
        self.frames += 1
        return logits

    def result(self) -> torch.Tensor:
        """Running mean of the frame logits so far (classes,); argmax is the answer."""
        return self.logit_sum / max(self.frames, 1)


def detector_macs_per_frame(cfg: RhythmTCNConfig) -> int:
    """Multiply-accumulates per frame (convolutions only, as :func:`model.macs_per_frame`)."""
    N, L, B, H, P = cfg.enc_channels, cfg.enc_kernel, cfg.bottleneck, cfg.hidden, cfg.kernel
    return N * L + N * B + len(cfg.dilations) * (B * H + H * P + H * B) + B * len(cfg.classes)


def detector_ring_frames(cfg: RhythmTCNConfig) -> int:
    """Frames the streaming state keeps over all depthwise layers (each H values): sum of (K-1)d + 1."""
    return sum((cfg.kernel - 1) * d + 1 for d in cfg.dilations)
