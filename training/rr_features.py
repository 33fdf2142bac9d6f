"""The classical rhythm baseline: R peaks, RR-interval and morphology features, boosted trees.

The kind of detector that scored about 0.83 in the CinC 2017 challenge (issue 15's anchor):
hand-made features of the RR series (irregularity is AF's mark), of the average beat (P
waves vanish in AF; ectopic beats differ from the template) and of the spectrum (noise,
f-wave band power between beats), fed to gradient-boosted trees (:mod:`afkd.training.gbm`).

R peaks (Pan-Tompkins style, zero-phase, so no delay to undo): band-pass 5-15 Hz, squared
derivative, 120 ms moving average, peaks at least 250 ms apart above a threshold set from
the record's own peak heights, then the largest absolute band-passed sample within 60 ms.
Working on the absolute value makes an inverted lead (frequent in the handheld CinC device)
no different from an upright one.
"""

from __future__ import annotations

import numpy as np
from scipy import signal, stats

FEATURE_NAMES = (
    "heart_rate", "rr_mean", "rr_median", "rr_std", "rr_cv", "rr_iqr", "rr_min_ratio", "rr_max_ratio",
    "rmssd", "pnn50", "pnn20", "irregular_fraction", "sd1", "sd2", "sd1_sd2", "turning_points",
    "rr_entropy", "premature_fraction", "dd_rr_median", "beats",
    "r_amplitude", "qrs_width", "p_energy", "p_consistency", "t_amplitude", "beat_corr_mean", "beat_corr_min",
    "beat_corr_std", "band_0_1", "band_1_5", "band_5_15", "band_15_40", "band_40_up", "spectral_entropy",
    "tq_fwave_fraction", "kurtosis", "amplitude_range",
)


def r_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices of one lead (mV)."""
    if len(x) < int(fs):
        return np.zeros(0, dtype=np.int64)
    b, a = signal.butter(2, [5.0, 15.0], btype="bandpass", fs=fs)
    band = signal.filtfilt(b, a, x)
    energy = np.gradient(band) ** 2
    window = max(1, int(0.12 * fs))
    integrated = np.convolve(energy, np.ones(window) / window, mode="same")
    candidates, props = signal.find_peaks(integrated, distance=int(0.25 * fs))
    if candidates.size == 0:
        return candidates
    heights = integrated[candidates]
    threshold = 0.3 * np.percentile(heights, 90)
    peaks = candidates[heights >= threshold]
    half = int(0.06 * fs)
    refined = [p - half + int(np.argmax(np.abs(band[max(0, p - half) : p + half + 1])))
               if p >= half else int(np.argmax(np.abs(band[: p + half + 1]))) for p in peaks]
    return np.unique(np.clip(refined, 0, len(x) - 1)).astype(np.int64)


def _rr_features(rr: np.ndarray, duration: float) -> list[float]:
    if rr.size < 3:
        return [float(rr.size + 1) / duration * 60.0] + [np.nan] * 18 + [float(rr.size + 1)]
    d = np.diff(rr)
    sd1 = np.std(d) / np.sqrt(2)
    sd2 = np.sqrt(max(2 * np.var(rr) - sd1**2, 0.0))
    hist, _ = np.histogram(rr, bins=np.arange(0.2, 2.05, 0.05))
    pk = hist[hist > 0] / hist.sum() if hist.sum() else np.ones(1)
    local = signal.medfilt(rr, 5) if rr.size >= 5 else np.full(rr.size, np.median(rr))
    turning = np.mean((d[:-1] * d[1:]) < 0) if d.size >= 2 else np.nan
    return [
        60.0 / np.mean(rr), np.mean(rr), np.median(rr), np.std(rr), np.std(rr) / np.mean(rr),
        stats.iqr(rr), np.min(rr) / np.median(rr), np.max(rr) / np.median(rr),
        np.sqrt(np.mean(d**2)), np.mean(np.abs(d) > 0.05), np.mean(np.abs(d) > 0.02),
        np.mean(np.abs(d) / rr[1:] > 0.12), sd1, sd2, sd1 / max(sd2, 1e-6), turning,
        -np.sum(pk * np.log(pk)), np.mean(rr < 0.85 * local), np.median(np.abs(d)) / np.median(rr),
        float(rr.size + 1),
    ]


def _morphology(x: np.ndarray, peaks: np.ndarray, fs: float) -> list[float]:
    before, after = int(0.25 * fs), int(0.45 * fs)
    inside = peaks[(peaks >= before) & (peaks + after < len(x))]
    if inside.size < 3:
        return [np.nan] * 8
    beats = np.stack([x[p - before : p + after] for p in inside])
    beats = beats - np.median(beats[:, : int(0.05 * fs)], axis=1, keepdims=True)  # per-beat baseline
    template = np.median(beats, axis=0)
    r = template[before]
    scale = abs(r) if abs(r) > 1e-6 else 1.0
    above = np.abs(template[before - int(0.1 * fs) : before + int(0.1 * fs)]) > 0.3 * scale
    p_slice = slice(before - int(0.22 * fs), before - int(0.08 * fs))
    t_slice = slice(before + int(0.15 * fs), before + int(0.42 * fs))
    p_template = template[p_slice] - template[p_slice].mean()
    p_beats = beats[:, p_slice] - beats[:, p_slice].mean(axis=1, keepdims=True)
    p_corr = [np.corrcoef(pb, p_template)[0, 1] for pb in p_beats if pb.std() > 1e-9 and p_template.std() > 1e-9]
    corr = np.array([np.corrcoef(bt, template)[0, 1] for bt in beats if bt.std() > 1e-9])
    return [
        r, above.sum() / fs, np.sum(p_template**2) / scale**2, float(np.mean(p_corr)) if p_corr else np.nan,
        np.ptp(template[t_slice]) / scale, float(corr.mean()) if corr.size else np.nan,
        float(corr.min()) if corr.size else np.nan, float(corr.std()) if corr.size else np.nan,
    ]


def _spectrum(x: np.ndarray, peaks: np.ndarray, fs: float) -> list[float]:
    f, p = signal.welch(x - x.mean(), fs=fs, nperseg=min(len(x), int(4 * fs)))
    total = p.sum() + 1e-18
    bands = [p[(f >= lo) & (f < hi)].sum() / total for lo, hi in ((0, 1), (1, 5), (5, 15), (15, 40), (40, fs))]
    q = p / total
    entropy = -np.sum(q[q > 0] * np.log(q[q > 0]))
    # f-wave band power of the T-Q stretches (from 450 ms after a beat to 100 ms before the next).
    gaps = [x[a + int(0.45 * fs) : b - int(0.1 * fs)] for a, b in zip(peaks[:-1], peaks[1:])]
    gaps = [g - g.mean() for g in gaps if len(g) >= int(0.2 * fs)]
    if gaps:
        joined = np.concatenate(gaps)
        fg, pg = signal.welch(joined, fs=fs, nperseg=min(len(joined), int(fs)))
        tq = pg[(fg >= 4) & (fg <= 9)].sum() / (pg.sum() + 1e-18)
    else:
        tq = np.nan
    return [*bands, entropy, tq, stats.kurtosis(x), np.ptp(x)]


def record_features(x: np.ndarray, fs: float) -> np.ndarray:
    """The :data:`FEATURE_NAMES` features of one record (NaN where undefined)."""
    x = np.asarray(x, dtype=np.float64)
    peaks = r_peaks(x, fs)
    rr = np.diff(peaks) / fs
    row = _rr_features(rr, len(x) / fs) + _morphology(x, peaks, fs) + _spectrum(x, peaks, fs)
    return np.array(row, dtype=np.float64)
