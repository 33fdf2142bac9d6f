"""Tiny quantized classifiers (rhythm detector, beat CNN) for the plan, reference, kernel and
firmware tests, built once per session through the route ``afkd export`` takes (fold,
Keras rebuild, TFLiteConverter)."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from afkd.export.fold import fold_classifier
from afkd.export.keras_beat import build_beat_keras
from afkd.export.keras_detector import build_detector_keras
from afkd.export.tflite_export import convert
from afkd.training.model_beat import BeatCNN, BeatCNNConfig
from afkd.training.model_detector import RhythmTCN, RhythmTCNConfig
from tiny_tflite import ecg_like

TINY_DETECTOR = RhythmTCNConfig(enc_channels=8, enc_kernel=8, bottleneck=8, hidden=12, blocks=3, repeats=2)
DETECTOR_LENGTH = 480  # 1.92 s at 250 Hz: 120 frames of 4 samples
TINY_BEAT = BeatCNNConfig(before=24, after=40, channels=(4, 8), kernels=(5, 4), dense=8)


def trained_looking(model: nn.Module, seed: int) -> nn.Module:
    """Random weights with non-trivial BatchNorm statistics and PReLU slopes >= 0, eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(0.05, 0.4)
    return model.eval()


def tiny_detector(seed: int = 0) -> RhythmTCN:
    torch.manual_seed(seed)
    return trained_looking(RhythmTCN(TINY_DETECTOR), seed)


def tiny_beat(seed: int = 0) -> BeatCNN:
    torch.manual_seed(seed)
    return trained_looking(BeatCNN(TINY_BEAT), seed)


@functools.lru_cache(maxsize=None)
def detector_tflite(quant: str, seed: int = 0) -> bytes:
    keras_model = build_detector_keras(fold_classifier(tiny_detector(seed)), DETECTOR_LENGTH,
                                       leaky_relu=(quant == "int16x8"))
    return convert(keras_model, quant, ecg_like(8, DETECTOR_LENGTH))


@functools.lru_cache(maxsize=None)
def beat_tflite(quant: str, seed: int = 0) -> bytes:
    keras_model = build_beat_keras(fold_classifier(tiny_beat(seed)))
    return convert(keras_model, quant, ecg_like(16, TINY_BEAT.window))


def full_range(dtype, n: int, seed: int) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max + 1, size=n).astype(dtype)
