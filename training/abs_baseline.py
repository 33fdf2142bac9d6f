"""Average beat subtraction (ABS): the classical f-wave extractor, as the comparator in every table.

Under AF the atrial activity is not synchronised with the ventricular beats, so averaging
many beats aligned on their R peaks keeps the QRST and cancels the f-waves. Subtracting
that average beat (the template) from each beat leaves the f-waves::

    R peaks  r_1 .. r_n               wfdb.processing XQRS, then snapped to the local extremum
    window_i = [r_i - pre_i, min(r_{i+1} - pre_{i+1}, r_i + POST_S))       a beat, no overlap
    pre_i    = min(PRE_S, 0.4 * (r_i - r_{i-1}))                           keeps short RRs apart
    template_i(k) = mean_{j in similar_i} beat_j(k)                       k = offset from the R peak
    similar_i = the NEIGHBOURS beats j != i nearest in time (at most POOL away) whose QRS
                (R +- QRS_HALF_S) is alike: mean squared difference to beat i's QRS at most
                OUTLIER x the median difference over those POOL beats, or at most
                (DIFFERENT_RMS x the RMS of beat i's QRS)^2
    va_hat   = template_i on window_i, 0 outside every window
    aa_hat   = ecg - va_hat

The template of beat i is a local average of its neighbours (beat i itself left out, so
its own f-waves are not subtracted), which follows slow morphology drift. Leaving out
beats whose QRS differs keeps ectopic beats (PVCs) out of normal beats' templates and
averages PVCs with PVCs, as beat-classifying clinical ABS does. Similarity only rejects;
the choice among alike beats is by time, so beats whose f-waves happen to be in phase
with beat i's are not preferred (they would be subtracted with the QRST). Each neighbour
contributes only the samples inside its own window: a short RR interval never drags the
next QRS into the template. Where no neighbour covers an offset the template is 0.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

PRE_S = 0.20  # QRS onset to R is < 100 ms; 200 ms also takes the PR segment's baseline
POST_S = 0.60  # T wave end at RR = 1 s is ~ 450 ms after R
NEIGHBOURS = 10  # beats averaged into a template
POOL = 30  # neighbours are chosen among this many beats on each side
QRS_HALF_S = 0.06  # the QRS is within 60 ms of the R peak
OUTLIER = 2.0  # a QRS further than this x the median squared distance is another morphology ...
DIFFERENT_RMS = 0.3  # ... unless it differs by less than 30 % of beat i's QRS RMS (f-waves do that)
SNAP_S = 0.05  # R peaks are moved to the largest |deflection| within this radius


def detect_r_peaks(ecg: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of R peaks (int64, sorted, unique). Empty when XQRS finds none."""
    from wfdb import processing  # imported here: training does not need wfdb

    x = np.asarray(ecg, dtype=np.float64)
    if x.size < int(2 * fs) or not np.all(np.isfinite(x)):
        return np.zeros(0, dtype=np.int64)
    try:
        # XQRS prints progress on stdout even with verbose=False in some versions.
        with contextlib.redirect_stdout(io.StringIO()):
            peaks = processing.xqrs_detect(x, fs=fs, verbose=False)
    except Exception:  # XQRS raises on signals it cannot learn from (flat, too short)
        return np.zeros(0, dtype=np.int64)
    if len(peaks) == 0:
        return np.zeros(0, dtype=np.int64)
    radius = max(1, int(round(SNAP_S * fs)))
    snapped = processing.correct_peaks(x, np.asarray(peaks), search_radius=radius,
                                       smooth_window_size=max(2, int(round(0.02 * fs))), peak_dir="compare")
    snapped = np.asarray(snapped, dtype=np.int64)
    snapped = snapped[(snapped >= 0) & (snapped < x.size)]
    return np.unique(snapped)


def beat_windows(peaks: np.ndarray, n: int, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(starts, stops) of each beat's window in samples, see the module docstring."""
    peaks = np.asarray(peaks, dtype=np.int64)
    rr_before = np.diff(peaks, prepend=peaks[0] - int(round(PRE_S / 0.4 * fs)))
    pre = np.minimum(int(round(PRE_S * fs)), (0.4 * rr_before).astype(np.int64))
    starts = np.maximum(peaks - pre, 0)
    stops = np.minimum(peaks + int(round(POST_S * fs)), n)
    stops[:-1] = np.minimum(stops[:-1], starts[1:])
    return starts, stops


def average_beat_subtraction(ecg: np.ndarray, fs: float, peaks: np.ndarray | None = None,
                             neighbours: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """ecg (T,) mV -> (aa_hat, va_hat), each (T,) float32 mV.

    ``peaks`` (R peak sample indices) are detected with XQRS when not given. With fewer
    than two beats there is nothing to average and the ECG is returned as the AA.
    """
    x = np.asarray(ecg, dtype=np.float64)
    if peaks is None:
        peaks = detect_r_peaks(x, fs)
    peaks = np.unique(np.asarray(peaks, dtype=np.int64))
    peaks = peaks[(peaks >= 0) & (peaks < x.size)]
    va_hat = np.zeros_like(x)
    if peaks.size >= 2:
        starts, stops = beat_windows(peaks, x.size, fs)
        before = int(np.max(peaks - starts))  # offsets -before .. after-1 around each R
        after = int(np.max(stops - peaks))
        beats = np.full((peaks.size, before + after), np.nan)  # (beats, offsets), NaN outside a window
        for i, (r, a, b) in enumerate(zip(peaks, starts, stops)):
            beats[i, a - r + before : b - r + before] = x[a:b]
        qrs = slice(max(0, before - int(QRS_HALF_S * fs)), before + int(QRS_HALF_S * fs))
        for i, (r, a, b) in enumerate(zip(peaks, starts, stops)):
            lo, hi = max(0, i - POOL), min(peaks.size, i + POOL + 1)
            pool = np.delete(beats[lo:hi], i - lo, axis=0)  # (candidates, offsets)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no overlap with beat i
                distance = np.nanmean((pool[:, qrs] - beats[i, qrs]) ** 2, axis=1)
            distance = np.where(np.isfinite(distance), distance, np.inf)
            # Nearest in time among the beats whose QRS is alike (within OUTLIER x the median
            # distance): ranking by similarity alone would pick beats whose f-waves happen to
            # be in phase with beat i's and subtract them too.
            finite = distance[np.isfinite(distance)]
            typical = OUTLIER * np.median(finite) if finite.size else np.inf
            own_power = np.nanmean(beats[i, qrs] ** 2)
            alike = (distance <= typical) | (distance <= (DIFFERENT_RMS**2) * own_power)
            by_time = np.argsort(np.abs(np.delete(np.arange(lo, hi), i - lo) - i), kind="stable")
            chosen = [j for j in by_time if alike[j]][:neighbours]
            others = pool[chosen, a - r + before : b - r + before]
            counts = np.sum(np.isfinite(others), axis=0)
            sums = np.nansum(others, axis=0)
            va_hat[a:b] = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    aa_hat = x - va_hat
    return aa_hat.astype(np.float32), va_hat.astype(np.float32)
