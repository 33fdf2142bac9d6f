"""Running classifiers: record logits of the rhythm models, beat logits of the beat CNN.

Rhythm models take a whole record of any length: it is zero-padded on the right to the
model's multiple (the compact detector's hop, the reference's 256-sample window), and only
the frames (windows) that lie inside the record are averaged, so padding never changes an
answer; a streaming detector would see the same frames. The record's answer is the argmax of
the mean logits (:mod:`afkd.training.model_detector`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from afkd.training.model_beat import BeatCNN
from afkd.training.model_detector import RhythmTCN
from afkd.training.model_resnet import ResNet34


def input_multiple(model: nn.Module) -> int:
    """Input lengths the model takes are multiples of this many samples."""
    if isinstance(model, RhythmTCN):
        return model.cfg.hop
    if isinstance(model, ResNet34):
        return model.cfg.window
    raise TypeError(f"{type(model).__name__} does not classify whole records")


def pad_batch(ecgs: Sequence[np.ndarray], multiple: int) -> tuple[np.ndarray, np.ndarray]:
    """(batch, T) float32 zero-padded to a common multiple of ``multiple``, and the lengths (batch,)."""
    lengths = np.array([len(x) for x in ecgs], dtype=np.int64)
    width = int(-(-max(int(lengths.max()), 1) // multiple) * multiple)
    out = np.zeros((len(ecgs), width), dtype=np.float32)
    for row, x in enumerate(ecgs):
        out[row, : len(x)] = x
    return out, lengths


@torch.no_grad()
def record_logits(model: nn.Module, ecgs: Sequence[np.ndarray], device: torch.device | str = "cpu",
                  batch_size: int = 16) -> np.ndarray:
    """Mean logits of each record (n, classes), in input order. The caller sets eval mode.

    Records are batched in order of length so that little padding is computed.
    """
    multiple = input_multiple(model)
    order = np.argsort([len(x) for x in ecgs], kind="stable")
    out = np.zeros((len(ecgs), len(model.cfg.classes)), dtype=np.float32)
    for lo in range(0, len(order), batch_size):
        chunk = order[lo : lo + batch_size]
        x, lengths = pad_batch([ecgs[i] for i in chunk], multiple)
        logits = model.record_logits(torch.from_numpy(x).to(device), torch.from_numpy(lengths).to(device))
        out[chunk] = logits.float().cpu().numpy()
    return out


@torch.no_grad()
def beat_logits(model: BeatCNN, windows: np.ndarray, device: torch.device | str = "cpu",
                batch_size: int = 512) -> np.ndarray:
    """Logits (n, classes) of beat windows (n, W). The caller sets eval mode."""
    out = np.zeros((len(windows), len(model.cfg.classes)), dtype=np.float32)
    for lo in range(0, len(windows), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(windows[lo : lo + batch_size], dtype=np.float32)).to(device)
        out[lo : lo + batch_size] = model(x).float().cpu().numpy()
    return out


def cut_windows(signal: np.ndarray, peaks: np.ndarray, before: int, after: int) -> tuple[np.ndarray, np.ndarray]:
    """Beat windows [peak - before, peak + after) of one record (n, W) and which peaks had one.

    Peaks too close to either end of the record have no whole window: they are left out
    (the mask says which), never padded with made-up signal.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    inside = (peaks - before >= 0) & (peaks + after <= len(signal))
    starts = peaks[inside] - before
    index = starts[:, None] + np.arange(before + after)[None, :]
    return np.asarray(signal, dtype=np.float32)[index], inside
