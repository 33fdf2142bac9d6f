"""The classifiers' decision rule, shared by export (TFLite), host tools (firmware) and training.

A rhythm detector's answer after frame t is the argmax of the running mean of its frame
logits over frames 0..t; with one scale and zero point for every class, that is the argmax
of the running SUM of the quantized logits (the firmware keeps it in int32), and for float
logits the argmax of the running sum too. Ties go to the first class (numpy's argmax and the
firmware's strict ``>`` scan agree on that). A beat CNN's answer is the argmax of its logits.
"""

from __future__ import annotations

import numpy as np


def running_decisions(frame_logits: np.ndarray) -> np.ndarray:
    """(frames, classes) logits (integer codes or floats) -> (frames,) class index after each frame."""
    logits = np.asarray(frame_logits)
    sums = np.cumsum(logits.astype(np.int64 if logits.dtype.kind in "iu" else np.float64), axis=0)
    return np.argmax(sums, axis=1)


def record_decision(frame_logits: np.ndarray, frames: int | None = None) -> int:
    """The answer over the first ``frames`` frames (all when None; at least one)."""
    logits = np.asarray(frame_logits)
    n = logits.shape[0] if frames is None else max(1, min(int(frames), logits.shape[0]))
    wide = logits[:n].astype(np.int64 if logits.dtype.kind in "iu" else np.float64)
    return int(np.argmax(wide.sum(axis=0)))


def valid_frames(samples: int, hop: int) -> int:
    """Frames of a record of ``samples`` samples whose every sample is signal (floor; >= 1)."""
    return max(1, int(samples) // int(hop))
