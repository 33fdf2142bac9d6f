"""Heartbeats of MIT-BIH-style records: beat annotations mapped to the five AAMI classes.

A beats dataset (``afkd data import --kind beats``) keeps each record whole as one segment and
adds three arrays beside ``ecg.npy``, one entry per annotated beat::

    beat_segment.npy  int32   index of the segment (record) the beat is in
    beat_sample.npy   int64   R-peak position in that segment, at the dataset rate
    beat_label.npy    int8    index into the manifest's "beat_classes" (N, S, V, F, Q)

The window a model sees is cut around ``beat_sample`` at training time, so the window size is
the model's choice, not the dataset's. AAMI EC57 classes from the MIT-BIH symbols:
N = N L R e j, S = A a J S, V = V E, F = F, Q = / f Q. Other annotations (rhythm changes,
noise, artefacts) are not beats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from afkd.errors import AfkdError

AAMI_CLASSES = ("N", "S", "V", "F", "Q")
AAMI_OF_SYMBOL = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("AaJS", "S"), **dict.fromkeys("VE", "V"),
                  "F": "F", **dict.fromkeys("/fQ", "Q")}
BEAT_ARRAYS = ("beat_segment", "beat_sample", "beat_label")

# de Chazal, O'Dwyer, Reilly (2004): the inter-patient split; the four paced records are excluded.
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201", "203",
       "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213", "214",
       "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")


def read_beats(base: Path, fs_in: float, fs_out: float, n_out: int,
               extension: str = "atr") -> tuple[np.ndarray, np.ndarray]:
    """(R-peak samples at ``fs_out``, AAMI class indices) of ``base.atr``; AfkdError when absent.

    Positions are rescaled, not re-detected: resampling is zero-phase, so the peak stays put.
    Beats whose position falls outside the resampled record are dropped.
    """
    import wfdb

    path = base.with_name(f"{base.name}.{extension}")
    if not path.is_file():
        raise AfkdError(f"{base}: --kind beats needs beat annotations ({path.name} is missing)")
    try:
        ann = wfdb.rdann(str(base), extension)
    except Exception as err:
        raise AfkdError(f"{base}: unreadable annotations {path.name} ({' '.join(str(err).split())[:120]})") from None
    keep = [(int(s), AAMI_OF_SYMBOL[sym]) for s, sym in zip(ann.sample, ann.symbol) if sym in AAMI_OF_SYMBOL]
    samples = np.array([round(s * fs_out / fs_in) for s, _ in keep], dtype=np.int64)
    labels = np.array([AAMI_CLASSES.index(c) for _, c in keep], dtype=np.int8)
    inside = (samples >= 0) & (samples < n_out)
    return samples[inside], labels[inside]


def load_beats(dataset) -> dict[str, np.ndarray]:
    """The beat table of a :class:`Dataset` opened on a beats dataset; AfkdError otherwise."""
    if dataset.manifest.get("kind") != "beats":
        raise AfkdError(f"{dataset.path}: not a beats dataset (import it with --kind beats)")
    out = {}
    for name in BEAT_ARRAYS:
        try:
            out[name] = np.load(dataset.path / f"{name}.npy")
        except (OSError, ValueError) as err:
            raise AfkdError(f"{dataset.path / (name + '.npy')}: unreadable ({err})") from None
    n = out["beat_segment"].shape
    if out["beat_sample"].shape != n or out["beat_label"].shape != n or len(n) != 1:
        raise AfkdError(f"{dataset.path}: beat arrays differ in length")
    classes = dataset.manifest.get("beat_classes")
    if not n[0] or not isinstance(classes, list):
        raise AfkdError(f"{dataset.path}: no beats or no beat_classes in the manifest")
    seg, at, lab = out["beat_segment"], out["beat_sample"], out["beat_label"]
    lengths = np.array([s["length"] for s in dataset.segments])
    if seg.min() < 0 or seg.max() >= len(lengths) or at.min() < 0 or (at >= lengths[seg]).any():
        raise AfkdError(f"{dataset.path}: a beat lies outside its segment")
    if lab.min() < 0 or lab.max() >= len(classes):
        raise AfkdError(f"{dataset.path}: a beat label is outside beat_classes")
    return {"segment": seg.astype(np.int64), "sample": at.astype(np.int64), "label": lab.astype(np.int64),
            "classes": tuple(classes)}


def beat_arrays(segments: list[dict]) -> dict[str, np.ndarray]:
    """The three beat arrays of imported segments that carry ``beats`` = (samples, labels)."""
    seg, at, lab = [], [], []
    for i, s in enumerate(segments):
        samples, labels = s["beats"]
        seg.append(np.full(samples.size, i, dtype=np.int32))
        at.append(samples.astype(np.int64))
        lab.append(labels.astype(np.int8))
    return {"beat_segment": np.concatenate(seg), "beat_sample": np.concatenate(at),
            "beat_label": np.concatenate(lab)}
