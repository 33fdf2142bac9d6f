"""Separation quality: SNR, NMSE (with ground truth) and spectral concentration (always).

All functions take NumPy arrays of one segment, shape (T,), in mV; the per-dataset figures
are plain means over segments (see :func:`summarize`).

Per segment, with ``s`` the true signal and ``s_hat`` the estimate::

    SNR  = 10 log10( sum s^2 / sum (s - s_hat)^2 )      dB
    NMSE = sum (s - s_hat)^2 / sum s^2                   ratio (not dB)

Across segments we average the per-segment **dB** values for SNR and the per-segment
**ratios** for NMSE (so mean SNR != -10 log10(mean NMSE) in general; both are reported).
This is what the paper's tables average, and it keeps one very bad segment from
dominating the SNR.

Spectral concentration (Alcaraz and Rieta's SC, as used for f-wave extraction)::

    SC = sum_{3 Hz <= f <= 12 Hz} P(f) / sum_{all f} P(f)

with ``P`` the Welch power spectral density of the extracted f-wave: Hann window of
``SC_WINDOW_SECONDS`` (4 s, 0.25 Hz resolution; the whole segment when shorter), 50 %
overlap, mean detrending per window, one-sided. Real AF f-waves sit in 3-12 Hz, so
ventricular residue (QRS energy up to 40 Hz) and baseline wander (< 1 Hz) both lower SC.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from scipy import signal

SC_BAND_HZ = (3.0, 12.0)
SC_WINDOW_SECONDS = 4.0
SC_OVERLAP = 0.5
_TINY = 1e-20  # keeps log10 finite for a perfect estimate or an all-zero signal


def _pair(s: np.ndarray, s_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(s, dtype=np.float64)
    s_hat = np.asarray(s_hat, dtype=np.float64)
    if s.shape != s_hat.shape:
        raise ValueError(f"signal and estimate shapes differ: {s.shape} vs {s_hat.shape}")
    return s, s_hat


def snr_db(s: np.ndarray, s_hat: np.ndarray) -> float:
    """10 log10(sum s^2 / sum (s - s_hat)^2) of one segment, dB."""
    s, s_hat = _pair(s, s_hat)
    return float(10.0 * math.log10((np.sum(s**2) + _TINY) / (np.sum((s - s_hat) ** 2) + _TINY)))


def nmse(s: np.ndarray, s_hat: np.ndarray) -> float:
    """sum (s - s_hat)^2 / sum s^2 of one segment (a ratio; 0 is perfect, 1 = returning zeros)."""
    s, s_hat = _pair(s, s_hat)
    return float(np.sum((s - s_hat) ** 2) / (np.sum(s**2) + _TINY))


def spectral_concentration(x: np.ndarray, fs: float, band_hz: tuple[float, float] = SC_BAND_HZ) -> float:
    """Share of Welch power in ``band_hz`` (inclusive) over all power, in [0, 1]; NaN for silence."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 8:
        raise ValueError(f"spectral concentration needs a 1-D signal of >= 8 samples, got {x.shape}")
    nperseg = min(x.size, int(round(SC_WINDOW_SECONDS * fs)))
    freqs, psd = signal.welch(x, fs=fs, window="hann", nperseg=nperseg,
                              noverlap=int(nperseg * SC_OVERLAP), detrend="constant")
    total = float(np.sum(psd))
    if total <= 0.0:
        return float("nan")
    band = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    return float(np.sum(psd[band]) / total)


def segment_metrics(ecg: np.ndarray, aa_hat: np.ndarray, va_hat: np.ndarray, fs: float,
                    aa: np.ndarray | None = None, va: np.ndarray | None = None) -> dict[str, float]:
    """Metrics of one segment: always ``sc``; with ground truth also SNR/NMSE of AA and VA."""
    out = {"sc": spectral_concentration(aa_hat, fs)}
    if aa is not None and va is not None and np.all(np.isfinite(aa)) and np.all(np.isfinite(va)):
        out.update(snr_aa_db=snr_db(aa, aa_hat), snr_va_db=snr_db(va, va_hat),
                   nmse_aa=nmse(aa, aa_hat), nmse_va=nmse(va, va_hat))
    return out


METRIC_KEYS = ("snr_aa_db", "snr_va_db", "nmse_aa", "nmse_va", "sc")


def summarize(rows: Iterable[dict[str, float]]) -> dict[str, float | int | None]:
    """Mean of each metric over the segments that have it (dB averaged as dB, NMSE as ratios).

    Returns every key of :data:`METRIC_KEYS` (None where no segment had it), plus
    ``segments`` and ``segments_with_ground_truth``.
    """
    rows = list(rows)
    out: dict[str, float | int | None] = {}
    for key in METRIC_KEYS:
        values = [r[key] for r in rows if key in r and np.isfinite(r[key])]
        out[key] = float(np.mean(values)) if values else None
    out["segments"] = len(rows)
    out["segments_with_ground_truth"] = sum(1 for r in rows if "snr_aa_db" in r)
    return out


def paired_difference(a: Iterable[float], b: Iterable[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean of ``a - b`` over paired segments, with its two-sided t confidence interval.

    Two models scored on the same segments differ far less than either varies between
    segments (a hard recording is hard for both), so the paired interval is what says whether
    a difference of a few tenths of a dB between two table rows is more than noise. Returns
    ``mean``, ``low``, ``high`` (dB when ``a``, ``b`` are dB) and the number of pairs ``n``.
    """
    from scipy import stats

    a, b = np.asarray(list(a), dtype=np.float64), np.asarray(list(b), dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"paired difference needs two equal 1-D series of >= 2 values, got {a.shape}, {b.shape}")
    d = a - b
    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2.0, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": int(d.size)}
