"""The dataset directory: a JSON manifest and concatenated float32 signal arrays.

Layout (docs/design.md, "Dataset directory")::

    DIR/dataset.json   {"format": "afkd-dataset", "version": 1, "fs": 250, "segment_seconds": 30,
                        "signals": ["ecg", "aa", "va"], "segments": [ {...}, ... ]}
    DIR/ecg.npy        float32 (total_samples,), every segment back to back
    DIR/aa.npy, va.npy same layout; only when some segment has ground truth (NaN elsewhere)

Arrays are opened memory-mapped, so a dataset larger than memory still trains.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from afkd.atomic import atomic_dir
from afkd.errors import AfkdError
from afkd.training.data.dataset_check import check_finite, check_manifest, check_spans
from afkd.training.data.spool import NpyAppender

FORMAT = "afkd-dataset"
VERSION = 1
SOURCES = ("synthetic", "cinc2017", "mitdb", "afdb", "wfdb")
LABELS = ("A", "N", "O", "~", None)  # rhythm labels of a segment (a beats dataset labels its beats)
# The finer rhythm of a segment, when known (synthetic data: training/data/synth_rhythms.py);
# ``label`` keeps its A/N/O/~ meaning beside it.
RHYTHMS = ("sinus", "sinus_arrhythmia", "ectopy", "flutter", "af", "af_fine", "noise", None)
# Metadata every segment carries besides its arrays; "offset" is filled in when written.
SEGMENT_FIELDS = ("id", "source", "record", "lead", "start", "offset", "length", "fs", "label",
                  "has_ground_truth")  # and "rhythm" where the writer knew it


def write_dataset(out: str | os.PathLike, segments: Iterable[dict], fs: float,
                  segment_seconds: float, extra: dict | None = None,
                  arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write segments as a dataset directory, atomically; returns the path.

    Each segment is a dict with ``ecg`` (float array, mV, shape (length,)), optionally
    ``aa`` and ``va`` (same shape; both or neither), and the metadata fields ``source``,
    ``record``, ``lead``, ``start`` and ``label`` (``id`` defaults to record:lead:start).
    ``extra`` adds top-level manifest keys (for example the command that made it);
    ``arrays`` adds ``NAME.npy`` files beside the signals (a beats dataset's beat table).
    """
    rows: list[dict] = []
    # Each segment goes to disk as it comes (a long record's segments are read from its spool
    # one at a time), so writing needs memory for one segment, not the dataset.
    with atomic_dir(out) as tmp:
        ecg = NpyAppender(tmp / "ecg.npy", np.float32)
        truth_files: list[NpyAppender] = []  # aa, va: opened at the first segment with ground truth
        offset = 0
        try:
            for seg in segments:
                row, x, a, v = _segment_row(seg, offset, fs)
                if row["has_ground_truth"] and not truth_files:
                    truth_files = [NpyAppender(tmp / "aa.npy", np.float32), NpyAppender(tmp / "va.npy", np.float32)]
                    for f in truth_files:
                        f.fill(np.nan, row["offset"])  # segments before this one have none
                ecg.append(x)
                for f, arr in zip(truth_files, (a, v)):
                    if row["has_ground_truth"]:
                        f.append(arr)
                    else:
                        f.fill(np.nan, x.size)
                rows.append(row)
                offset += x.size
        finally:
            for f in (ecg, *truth_files):
                f.close()
        if not rows:
            raise AfkdError(f"{out}: no segments to write")
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "fs": float(fs),
            "segment_seconds": float(segment_seconds),
            "signals": ["ecg", "aa", "va"] if truth_files else ["ecg"],
            **(extra or {}),
            "segments": rows,
        }
        for name, values in (arrays or {}).items():
            np.save(tmp / f"{name}.npy", values)
        (tmp / "dataset.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return Path(out)


def _segment_row(seg: dict, offset: int, fs: float) -> tuple[dict, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The manifest row of one segment and its float32 arrays (aa/va None without ground truth)."""
    x = np.asarray(seg["ecg"], dtype=np.float32)
    if x.ndim != 1 or x.size == 0:
        raise AfkdError(f"segment {seg.get('record')}: ecg must be a non-empty 1-D array")
    truth = seg.get("aa") is not None and seg.get("va") is not None
    a = np.asarray(seg["aa"], dtype=np.float32) if truth else None
    v = np.asarray(seg["va"], dtype=np.float32) if truth else None
    if truth and (a.shape != x.shape or v.shape != x.shape):
        raise AfkdError(f"segment {seg.get('record')}: aa/va shape differs from ecg")
    for name, arr in (("ecg", x), ("aa", a), ("va", v)):
        if arr is not None and not np.isfinite(arr).all():
            raise AfkdError(f"segment {seg.get('record')}: {name} holds NaN/infinite samples")
    label = seg.get("label")
    if label not in LABELS:
        raise AfkdError(f"segment {seg.get('record')}: label {label!r} is not one of A, N, O, ~ or null")
    rhythm = seg.get("rhythm")
    if rhythm not in RHYTHMS:
        raise AfkdError(f"segment {seg.get('record')}: rhythm {rhythm!r} is not one of "
                        f"{', '.join(r for r in RHYTHMS if r)} or null")
    row = {
        "id": seg.get("id") or f"{seg['record']}:{seg['lead']}:{int(seg['start'])}",
        "source": seg["source"],
        "record": str(seg["record"]),
        "lead": str(seg["lead"]),
        "start": int(seg["start"]),
        "offset": offset,
        "length": int(x.size),
        "fs": float(fs),
        "label": label,
        "has_ground_truth": bool(truth),
    }
    if rhythm is not None:
        row["rhythm"] = rhythm
    return row, x, a, v


class Dataset:
    """A dataset directory opened read-only (arrays memory-mapped).

    ``len(ds)`` segments; ``ds.segment(i)`` gives the arrays and metadata of one;
    ``ds.crops(...)`` / ``ds.batches(...)`` give fixed-length training crops.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        manifest_path = self.path / "dataset.json"
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise AfkdError(f"{self.path}: not a dataset (no dataset.json)") from None
        except (OSError, ValueError) as err:
            raise AfkdError(f"{manifest_path}: unreadable manifest ({err})") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT \
                or self.manifest.get("version") != VERSION:
            raise AfkdError(f"{manifest_path}: not an {FORMAT} version {VERSION} manifest")
        check_manifest(self.manifest, manifest_path)
        self.segments: list[dict] = self.manifest["segments"]
        self.fs = float(self.manifest["fs"])
        total = sum(s["length"] for s in self.segments)
        self._arrays = {}
        for name in self.manifest["signals"]:
            try:
                arr = np.load(self.path / f"{name}.npy", mmap_mode="r")
            except (OSError, ValueError) as err:
                raise AfkdError(f"{self.path / (name + '.npy')}: unreadable ({err})") from None
            if arr.dtype != np.float32 or arr.shape != (total,):
                raise AfkdError(f"{self.path / (name + '.npy')}: expected float32 ({total},), "
                                f"found {arr.dtype} {arr.shape}")
            self._arrays[name] = arr
        check_spans(self.segments, total, manifest_path)
        check_finite(self._arrays, self.segments, self.path)

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def has_ground_truth(self) -> bool:
        return "aa" in self._arrays

    def segment(self, i: int) -> dict:
        """Metadata of segment ``i`` plus ``ecg``, ``aa``, ``va`` float32 arrays (length,), mV.

        ``aa``/``va`` are NaN where the segment has no ground truth.
        """
        meta = self.segments[i]
        sl = slice(meta["offset"], meta["offset"] + meta["length"])
        out = dict(meta)
        for name in ("ecg", "aa", "va"):
            arr = self._arrays.get(name)
            out[name] = (np.array(arr[sl]) if arr is not None
                         else np.full(meta["length"], np.nan, dtype=np.float32))
        return out

    def indices(self, min_length: int = 0, ground_truth: bool = False) -> np.ndarray:
        """Segment indices at least ``min_length`` long (and with ground truth if asked)."""
        return np.array([i for i, s in enumerate(self.segments)
                         if s["length"] >= min_length and (s["has_ground_truth"] or not ground_truth)],
                        dtype=np.int64)

    def crops(self, batch: int, length: int, rng: np.random.Generator,
              ground_truth: bool = True, multiple: int = 8) -> dict[str, np.ndarray]:
        """``batch`` random crops of ``length`` samples: dict of float32 (batch, length) arrays.

        Keys ``ecg``, ``aa``, ``va`` (NaN rows where no ground truth) and ``index`` (batch,)
        holding the segment each crop came from. Segments are drawn uniformly, then a
        start uniformly inside the segment. ``length`` must be a multiple of ``multiple``
        (the model's hop).
        """
        if length <= 0 or length % multiple:
            raise AfkdError(f"crop length {length}: must be a positive multiple of {multiple}")
        pool = self.indices(length, ground_truth)
        if pool.size == 0:
            need = " with ground truth" if ground_truth else ""
            raise AfkdError(f"{self.path}: no segment{need} is at least {length} samples long")
        chosen = rng.choice(pool, size=batch)
        out = {name: np.empty((batch, length), dtype=np.float32) for name in ("ecg", "aa", "va")}
        for row, i in enumerate(chosen):
            meta = self.segments[i]
            start = meta["offset"] + int(rng.integers(0, meta["length"] - length + 1))
            for name in out:
                arr = self._arrays.get(name)
                out[name][row] = arr[start:start + length] if arr is not None else np.nan
        out["index"] = chosen
        return out

    def batches(self, batch: int, length: int, rng: np.random.Generator, steps: int | None = None,
                ground_truth: bool = True, multiple: int = 8) -> Iterator[dict[str, np.ndarray]]:
        """``steps`` successive :meth:`crops` (forever when ``steps`` is None)."""
        step = 0
        while steps is None or step < steps:
            yield self.crops(batch, length, rng, ground_truth, multiple)
            step += 1
