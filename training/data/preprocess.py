"""Resampling, the 0.01 Hz high-pass and segmentation, shared by import and synthesis.

Every step is linear, so applying it to aa, va and noise separately and summing gives
the processed ecg (up to float64 rounding): the ground truth stays consistent.

The high-pass is a first-order Butterworth at 0.01 Hz applied *causally* (``lfilter``),
with the filter state started at steady state for the first sample (as if the record
had been at that level forever), so a DC offset causes no start-up transient. Causal
because the firmware sees the ECG through a streaming front-end: training on causally
filtered data means the model sees the same low-frequency phase on device as in
training. At 0.01 Hz the phase shift at f-wave frequencies (>= 3 Hz) is below
0.2 degrees, so nothing of interest is distorted; a zero-phase filtfilt would gain nothing
there and would need the future of the signal.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal

HIGHPASS_HZ = 0.01


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along the last axis (float64); exact rational ratio."""
    if fs_in == fs_out:
        return np.asarray(x, dtype=np.float64)
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return signal.resample_poly(np.asarray(x, dtype=np.float64), ratio.numerator, ratio.denominator, axis=-1)


def highpass(x: np.ndarray, fs: float, cutoff_hz: float = HIGHPASS_HZ) -> np.ndarray:
    """First-order Butterworth high-pass along the last axis, causal, steady-state start."""
    b, a = signal.butter(1, cutoff_hz, btype="highpass", fs=fs)
    x = np.asarray(x, dtype=np.float64)
    zi = signal.lfilter_zi(b, a)  # state for a unit step input held since -inf
    y, _ = signal.lfilter(b, a, x, axis=-1, zi=zi * x[..., :1])
    return y


def preprocess(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample to ``fs_out`` then high-pass; shape (..., n_in) -> (..., n_out), float64.

    A long record spooled to disk (an OnDiskArray, see long_records) is processed a chunk
    at a time and comes back spooled.
    """
    from afkd.training.data.spool import OnDiskArray

    if isinstance(x, OnDiskArray):
        from afkd.training.data.long_records import preprocess_chunked

        return preprocess_chunked(x, fs_in, fs_out)
    return highpass(resample(x, fs_in, fs_out), fs_out)


def segment_bounds(n: int, seg_len: int, hop: int, min_len: int) -> list[tuple[int, int]]:
    """[start, stop) sample ranges cutting ``n`` samples into segments.

    Full segments of ``seg_len`` every ``hop`` samples. A record shorter than one segment
    but at least ``min_len`` long is kept whole. The tail after the last full segment is
    dropped (training crops need full-length segments).
    """
    if n < min_len:
        return []
    if n <= seg_len:
        return [(0, n)]
    return [(s, s + seg_len) for s in range(0, n - seg_len + 1, hop)]
