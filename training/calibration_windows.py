"""The windows of ECG that calibrate a quantized export, and the windows that validate it.

The exporter (``afkd export``) calibrates TFLite's activation ranges on these windows, and
quantization-aware training (``--qat``) computes its ranges on the same ones, so that the
ranges it trains with are the ranges the export will have.
"""

from __future__ import annotations

import numpy as np

from afkd.errors import AfkdError
from afkd.training.model import DTFENetConfig

SYNTHETIC_SEED = 2024  # the exporter's default windows (no --calibration directory)


def synthetic_ecg(fs: int, length: int, count: int, seed: int) -> list[np.ndarray]:
    """``count`` synthetic AF ECGs (float32 (length,) mV) from the data room's generator."""
    from afkd.training.data.synth import synthesize_record

    return [synthesize_record(i, length / fs, fs, seed)["ecg"][:length].astype(np.float32)
            for i in range(count)]


def dataset_windows(path, cfg: DTFENetConfig, length: int, count: int) -> list[np.ndarray]:
    """Up to ``count`` windows of ``length`` samples (the start of each long-enough segment)."""
    from afkd.training.data.dataset import Dataset

    ds = Dataset(path)
    if ds.fs != cfg.fs:
        raise AfkdError(f"{path}: dataset rate {ds.fs:g} Hz, the model runs at {cfg.fs} Hz")
    pool = ds.indices(min_length=length)
    if pool.size == 0:
        raise AfkdError(f"{path}: no segment is at least {length} samples ({length / cfg.fs:g} s) long")
    windows = []
    for i in pool[:count]:
        x = ds.segment(int(i))["ecg"][:length]
        if not np.all(np.isfinite(x)):
            raise AfkdError(f"{path}: segment {ds.segments[int(i)]['id']} holds non-finite samples")
        windows.append(x.astype(np.float32))
    return windows


def split_windows(cfg: DTFENetConfig, length: int, calibration, n_calibration: int,
                  n_validation: int) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """(calibration windows, validation windows, description); the two sets never overlap."""
    if n_calibration < 1 or n_validation < 1:
        raise AfkdError("--calibration-segments and --validation-segments must be at least 1")
    if calibration is None:
        windows = synthetic_ecg(cfg.fs, length, n_calibration + n_validation, seed=SYNTHETIC_SEED)
        source = f"synthetic ({n_calibration} calibration + {n_validation} validation windows)"
    else:
        windows = dataset_windows(calibration, cfg, length, n_calibration + n_validation)
        if len(windows) < 2:
            raise AfkdError(f"{calibration}: need at least 2 segments of {length} samples "
                            f"(calibration and validation), found {len(windows)}")
        source = str(calibration)
    n_val = min(n_validation, len(windows) // 2) if len(windows) < n_calibration + n_validation else n_validation
    return windows[:-n_val], windows[-n_val:], source
