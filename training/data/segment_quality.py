"""Is one stretch of a lead usable ECG? Judged segment by segment at import.

A whole-record measure misses a record whose second half is lead-off, or one saturated
minute in an hour: the bad part is a small share of the record. Each segment is judged on
the source samples it comes from (before resampling, which would smooth a clip plateau):

* lead off: the lead stays within 5 uV for 2 s or more (an electrode off, or a recorder
  that writes zeros);
* clipped: 2 % or more of the segment's samples sit exactly at its highest or lowest
  value (an amplifier or ADC at its rail; a healthy segment touches its extremes at a
  few samples).

A rejected segment is not written; the dataset manifest lists it with its reason and
``afkd data info`` counts them.
"""

from __future__ import annotations

import numpy as np

FLAT_PTP_MV = 0.005  # a lead whose range stays below 5 uV carries no ECG
FLAT_RUN_SECONDS = 2.0  # this long flat: the lead is off
FLAT_BLOCK_SECONDS = 0.25  # flatness is judged in blocks of this length
CLIPPED_FRACTION = 0.02  # this share of samples pinned at an extreme: saturated


def _longest_flat_run(x: np.ndarray, fs: float) -> tuple[float, float]:
    """(seconds, start seconds) of the longest run of flat blocks."""
    block = max(1, int(round(FLAT_BLOCK_SECONDS * fs)))
    n = x.size // block
    if n == 0:
        return 0.0, 0.0
    blocks = x[: n * block].reshape(n, block)
    flat = np.ptp(blocks, axis=1) < FLAT_PTP_MV
    best, best_start, run = 0, 0, 0
    for i, is_flat in enumerate(flat):
        run = run + 1 if is_flat else 0
        if run > best:
            best, best_start = run, i - run + 1
    return best * block / fs, best_start * block / fs


def segment_problem(x: np.ndarray, fs: float) -> str | None:
    """Why the source samples ``x`` (mV, at ``fs``) are not usable ECG, or None when they are."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return "empty"
    flat_seconds, flat_start = _longest_flat_run(x, fs)
    if flat_seconds >= FLAT_RUN_SECONDS:
        return f"lead off (flat for {flat_seconds:.1f} s from {flat_start:.1f} s)"
    for side, value in (("top", x.max()), ("bottom", x.min())):
        pinned = float(np.mean(np.abs(x - value) <= 1e-9 * max(1.0, abs(value))))
        if pinned >= CLIPPED_FRACTION:
            return f"clipped ({pinned:.0%} of samples at the {side} value {value:.3f} mV)"
    return None


def reason_kind(reason: str) -> str:
    """The counted category of a rejection reason: "lead off", "clipped", ..."""
    return reason.split(" (", 1)[0]
