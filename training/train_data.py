"""Training and validation sets from dataset directories: the split, the random crops.

Only segments with ground truth (aa, va) train or validate. Without ``--val`` a fraction
of the *records* (not segments) is held out, so overlapping segments of one record never
sit on both sides; a dataset of a single record falls back to holding out segments, and a
single segment validates on itself (said in the run log, ``val_source``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from afkd.errors import AfkdError


class TrainingData:
    """Training crops and whole validation segments.

    ``sample(rng, batch, length)`` -> dict of float32 (batch, length) ``ecg, aa, va``.
    ``val_segments`` is a list of segment dicts (``ecg, aa, va`` arrays + metadata).
    """

    def __init__(self, train_dir: str | os.PathLike, val_dir: str | os.PathLike | None = None,
                 val_fraction: float = 0.1, seed: int = 0, val_limit: int | None = None):
        from afkd.training.data.dataset import Dataset
        from afkd.training.data.heldout import refuse_heldout

        self.train = Dataset(train_dir)
        refuse_heldout(self.train.segments, str(train_dir))
        self.fs = self.train.fs
        truth = [i for i, s in enumerate(self.train.segments) if s.get("has_ground_truth")]
        if not truth:
            raise AfkdError(f"{train_dir}: no segment has ground truth (aa, va); training needs it")
        if val_dir is not None:
            val = Dataset(val_dir)
            refuse_heldout(val.segments, str(val_dir))
            if abs(val.fs - self.fs) > 1e-6:
                raise AfkdError(f"{val_dir}: rate {val.fs} Hz differs from the training set's {self.fs} Hz")
            val_ids = [i for i, s in enumerate(val.segments) if s.get("has_ground_truth")]
            if not val_ids:
                raise AfkdError(f"{val_dir}: no segment has ground truth for validation")
            self.train_ids, val_source, self.val_source = truth, val, f"{val_dir}"
        else:
            if not 0.0 < val_fraction < 1.0:
                raise AfkdError(f"--val-fraction {val_fraction}: must be between 0 and 1 (or give --val)")
            self.train_ids, val_ids, self.val_source = split(self.train.segments, truth, val_fraction, seed)
            val_source = self.train
        if val_limit is not None:
            val_ids = val_ids[: max(1, val_limit)]
        self.val_segments = [val_source.segment(i) for i in val_ids]
        # Training segments stay memory-mapped (a dataset may exceed memory); a crop reads one.
        self._train_lengths = np.array([self.train.segments[i]["length"] for i in self.train_ids])
        if self._train_lengths.size == 0:
            raise AfkdError(f"{train_dir}: no training segment left after holding out validation records")

    @property
    def min_train_length(self) -> int:
        return int(self._train_lengths.min())

    def crop_length(self, crop_seconds: float | None, hop: int) -> int:
        """Crop length in samples: whole hops, at most the shortest training segment."""
        longest = self.min_train_length // hop * hop
        if crop_seconds is None:
            length = longest
        else:
            if crop_seconds <= 0:
                raise AfkdError(f"--crop-seconds {crop_seconds}: must be positive")
            length = int(crop_seconds * self.fs) // hop * hop
            if length > longest:
                raise AfkdError(f"--crop-seconds {crop_seconds}: longer than the shortest training "
                                f"segment ({self.min_train_length / self.fs:.1f} s)")
        if length < hop:
            raise AfkdError(f"crop of {length} samples is shorter than one hop ({hop})")
        return length

    def sample(self, rng: np.random.Generator, batch: int, length: int) -> dict[str, np.ndarray]:
        """``batch`` crops: a segment drawn uniformly, then a start uniformly inside it."""
        out = {name: np.empty((batch, length), dtype=np.float32) for name in ("ecg", "aa", "va")}
        for row, k in enumerate(rng.integers(0, len(self.train_ids), size=batch)):
            seg = self.train.segment(self.train_ids[k])
            start = int(rng.integers(0, seg["length"] - length + 1))
            for name in out:
                out[name][row] = seg[name][start : start + length]
        return out


def split(segments: list[dict], truth: list[int], fraction: float, seed: int) -> tuple[list[int], list[int], str]:
    """(train ids, val ids, description): hold out ~``fraction`` of the records, seeded."""
    records = sorted({segments[i]["record"] for i in truth})
    rng = np.random.default_rng([seed, 7919])  # a split independent of the crop streams
    if len(records) >= 2:
        held = set(rng.permutation(records)[: max(1, math.floor(fraction * len(records) + 0.5))].tolist())
        train = [i for i in truth if segments[i]["record"] not in held]
        val = [i for i in truth if segments[i]["record"] in held]
        return train, val, f"{len(held)} of {len(records)} records held out"
    if len(truth) >= 2:
        order = rng.permutation(truth).tolist()
        k = max(1, math.floor(fraction * len(truth) + 0.5))
        return sorted(order[k:]), sorted(order[:k]), f"{k} of {len(truth)} segments of one record held out"
    return truth, truth, "one segment: validated on the training segment itself"
