"""What an extracted atrial signal says about the rhythm, where there is no ground truth.

SC alone cannot show that an extractor tells the truth: a network that draws f-wave-like
signals whatever the atria do gets a high SC in sinus rhythm too. So each extracted signal
``aa_hat`` of a labelled segment gets several statistics, and each is scored by how well it
separates AF segments from normal (sinus) ones:

- ``rms_in_qrs_uv``:  RMS inside the QRS windows (R +- 60 ms): ventricular residue;
- ``rms_out_qrs_uv``: RMS outside them: the atrial activity proper (P waves, f-waves);
- ``sc``:             spectral concentration in 3-12 Hz (:func:`metrics.spectral_concentration`);
- ``df_hz``:          dominant frequency: the Welch peak in 3-12 Hz (AF: 4-9 Hz);
- ``oi``:             organization index (after Everett et al. 2001): the power within 0.5 Hz of
                      the DF and of its 2nd-4th harmonics over all power above 0.5 Hz.

R peaks come from the ECG by XQRS (:func:`abs_baseline.detect_r_peaks`), so any labelled
record works (CinC 2017 has no beat annotations). ``auc`` is the probability that an AF
segment's statistic exceeds a normal one's (ties count one half): 1 separates perfectly with
AF higher, 0 perfectly with AF lower, 0.5 not at all.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from afkd.training.abs_baseline import QRS_HALF_S, detect_r_peaks
from afkd.training.metrics import SC_BAND_HZ, SC_OVERLAP, SC_WINDOW_SECONDS, spectral_concentration

FEATURES = ("rms_in_qrs_uv", "rms_out_qrs_uv", "sc", "df_hz", "oi")
OI_HALF_WIDTH_HZ = 0.5
OI_HARMONICS = 4  # the DF and its 2nd-4th harmonics
OI_LOW_HZ = 0.5  # baseline below this is left out of the total


def qrs_mask(n: int, r_peaks: np.ndarray, fs: float, half_s: float = QRS_HALF_S) -> np.ndarray:
    """(n,) bool: True within ``half_s`` of an R peak."""
    mask = np.zeros(n, dtype=bool)
    half = int(round(half_s * fs))
    for r in np.asarray(r_peaks, dtype=np.int64):
        mask[max(0, r - half):min(n, r + half + 1)] = True
    return mask


def df_and_oi(x: np.ndarray, fs: float) -> tuple[float, float]:
    """(dominant frequency in 3-12 Hz, organization index); NaN, NaN for silence."""
    x = np.asarray(x, dtype=np.float64)
    nperseg = min(x.size, int(round(SC_WINDOW_SECONDS * fs)))
    f, p = signal.welch(x, fs=fs, window="hann", nperseg=nperseg, noverlap=int(nperseg * SC_OVERLAP),
                        detrend="constant")
    total = float(np.sum(p[f >= OI_LOW_HZ]))
    band = np.flatnonzero((f >= SC_BAND_HZ[0]) & (f <= SC_BAND_HZ[1]))
    if total <= 0.0 or band.size == 0:
        return float("nan"), float("nan")
    df = float(f[band[np.argmax(p[band])]])
    near = np.zeros(f.size, dtype=bool)
    for k in range(1, OI_HARMONICS + 1):
        near |= np.abs(f - k * df) <= OI_HALF_WIDTH_HZ
    return df, float(np.sum(p[near & (f >= OI_LOW_HZ)]) / total)


def atrial_features(aa_hat: np.ndarray, fs: float, r_peaks: np.ndarray) -> dict[str, float]:
    """The statistics of :data:`FEATURES` for one extracted signal (mV in, uV out for RMS)."""
    x = np.asarray(aa_hat, dtype=np.float64)
    mask = qrs_mask(x.size, r_peaks, fs)
    rms = lambda v: float(np.sqrt(np.mean(v**2))) * 1e3 if v.size else float("nan")  # noqa: E731
    df, oi = df_and_oi(x, fs)
    return {"rms_in_qrs_uv": rms(x[mask]), "rms_out_qrs_uv": rms(x[~mask]),
            "sc": spectral_concentration(x, fs), "df_hz": df, "oi": oi}


def auc(positive, negative) -> float | None:
    """P(a positive value > a negative one) + P(equal) / 2 (Mann-Whitney); None if a side is empty."""
    pos = np.asarray([v for v in positive if np.isfinite(v)], dtype=np.float64)
    neg = np.asarray([v for v in negative if np.isfinite(v)], dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        return None
    greater = (pos[:, None] > neg[None, :]).sum()
    equal = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * equal) / (pos.size * neg.size))


def r_peaks_of(segments: list[dict], fs: float) -> list[np.ndarray]:
    """XQRS R peaks of each segment's ECG (computed once, shared by every model evaluated)."""
    return [detect_r_peaks(s["ecg"], fs) for s in segments]


def label_report(segments: list[dict], estimates, fs: float, r_peaks: list[np.ndarray],
                 positive: str = "A", negative: str = "N") -> dict:
    """Per-label means of the statistics and each statistic's AUC for ``positive`` vs ``negative``.

    Returns ``{"labels": {label: {feature: mean, "segments": n}}, "auc": {feature: auc or None},
    "segment_features": [{...features, "label": label}]}`` over the segments with a label.
    """
    rows = []
    for seg, (aa_hat, _), peaks in zip(segments, estimates, r_peaks):
        if seg.get("label") is None:
            continue
        rows.append({**atrial_features(aa_hat, fs, peaks), "label": seg["label"]})
    labels: dict[str, dict] = {}
    for label in sorted({r["label"] for r in rows}, key=lambda lab: "ANO~".find(lab) % 9):
        mine = [r for r in rows if r["label"] == label]
        labels[label] = {"segments": len(mine)}
        for key in FEATURES:
            values = [r[key] for r in mine if np.isfinite(r[key])]
            labels[label][key] = float(np.mean(values)) if values else None
    aucs = {key: auc([r[key] for r in rows if r["label"] == positive],
                     [r[key] for r in rows if r["label"] == negative]) for key in FEATURES}
    return {"labels": labels, "auc": aucs, "positive": positive, "negative": negative,
            "segment_features": rows}
