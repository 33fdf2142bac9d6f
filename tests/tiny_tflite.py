"""Tiny quantized DT-FENets for the plan, streaming and firmware tests (built once per session).

A randomly initialised model with non-trivial BatchNorm statistics, folded and converted
through the same Keras route and converter call that ``afkd export`` uses.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from afkd.export.fold import fold_batchnorm
from afkd.export.keras_model import build_keras_model
from afkd.export.tflite_export import convert
from afkd.training.model import DTFENet, DTFENetConfig

REPO = Path(__file__).resolve().parents[1]
TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=12, blocks=3)
LENGTH = 400  # 1.6 s at 250 Hz


def ecg_like(n: int, length: int = LENGTH, seed: int = 1) -> list[np.ndarray]:
    """QRS-like spikes of 1-2 mV every ~0.8 s over a 6 Hz 0.1 mV f-wave and noise (mV)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 250.0
    out = []
    for _ in range(n):
        phase = rng.uniform(0, 1)
        spikes = (np.abs(((t * 1.25 + phase) % 1.0) - 0.5) < 0.012) * rng.uniform(1.0, 2.0)
        fwave = 0.1 * np.sin(2 * np.pi * rng.uniform(4, 8) * t + rng.uniform(0, 6))
        out.append((spikes + fwave + 0.02 * rng.standard_normal(length)).astype(np.float32))
    return out


def tiny_model(seed: int = 0, lookahead: int = 0) -> DTFENet:
    torch.manual_seed(seed)
    model = DTFENet(replace(TINY, lookahead=lookahead))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
            if isinstance(module, torch.nn.PReLU):
                module.weight.uniform_(0.05, 0.4)
    return model.eval()


#: Files whose code makes the tiny .tflite: a cached conversion is used only while they are unchanged.
_MAKERS = ("tests/tiny_tflite.py", "training/model.py", "export/fold.py", "export/keras_model.py",
           "export/tflite_export.py")


def _cached_path(quant: str, seed: int, lookahead: int) -> Path | None:
    """Where a conversion is kept between sessions, when AFKD_TEST_CACHE names a folder (make
    test-fast sets it): keyed by the content of the files that make it and the TensorFlow version."""
    folder = os.environ.get("AFKD_TEST_CACHE")
    if not folder:
        return None
    import tensorflow as tf

    digest = hashlib.sha256(tf.__version__.encode())
    for name in _MAKERS:
        digest.update((REPO / name).read_bytes())
    return Path(folder) / f"tiny_{quant}_s{seed}_l{lookahead}_{digest.hexdigest()[:16]}.tflite"


@functools.lru_cache(maxsize=None)
def tiny_tflite(quant: str, seed: int = 0, lookahead: int = 0) -> bytes:
    cached = _cached_path(quant, seed, lookahead)
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    folded = fold_batchnorm(tiny_model(seed, lookahead))
    keras_model = build_keras_model(folded, LENGTH, leaky_relu=(quant == "int16x8"))
    data = convert(keras_model, quant, ecg_like(16))
    if cached is not None:
        from afkd.atomic import atomic_write_bytes

        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cached, data)
    return data
