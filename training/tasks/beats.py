"""The beats task: one AAMI label per annotated beat, a window cut around its R peak.

Training batches are beats drawn uniformly from the training beats (the rare classes weigh
more through ``--class-weighting``); the window is cut from the record at the model's
``before``/``after``; beats too near a record's ends for a whole window are left out (counted
in the run log). Macro F1 over the classes picks best.pt.

Without ``--val`` the beats of ``--data`` are split at random (stratified by class, seeded):
an intra-patient split, fine for choosing a checkpoint. The honest, inter-patient figure is
``afkd eval`` of the chosen checkpoint on records no training beat came from (DS2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from afkd.errors import AfkdError
from afkd.training.classify import beat_logits
from afkd.training.data.heldout import refuse_heldout
from afkd.training.tasks.classifier import ClassifierTask, stratified_split

AUGMENT_SCALE = (0.7, 1.4)  # --augment: amplitude factor per window, log-uniform


class BeatWindows:
    """The beats of a beats dataset whose window fits and whose class the model has."""

    def __init__(self, path, classes: tuple[str, ...], fs: float, before: int, after: int):
        from afkd.training.data.beats import load_beats
        from afkd.training.data.dataset import Dataset

        self.ds = Dataset(path)
        refuse_heldout(self.ds.segments, str(path))
        if abs(self.ds.fs - fs) > 1e-6:
            raise AfkdError(f"{path}: rate {self.ds.fs:g} Hz differs from the model rate {fs:g} Hz")
        beats = load_beats(self.ds)
        lengths = np.array([s["length"] for s in self.ds.segments])
        label_names = np.array(beats["classes"])[beats["label"]]
        known = np.isin(label_names, classes)
        fits = (beats["sample"] - before >= 0) & (beats["sample"] + after <= lengths[beats["segment"]])
        keep = known & fits
        if not keep.any():
            raise AfkdError(f"{path}: no beat of the classes {', '.join(classes)} has a whole window")
        self.dropped_at_edges = int((known & ~fits).sum())
        self.segment, self.sample = beats["segment"][keep], beats["sample"][keep]
        self.labels = np.array([classes.index(c) for c in label_names[keep]], dtype=np.int64)
        self.before, self.after = before, after
        self.ecg = self.ds._arrays["ecg"]  # memory-mapped; windows are read where they lie
        self.offsets = np.array([s["offset"] for s in self.ds.segments], dtype=np.int64)

    def windows(self, index: np.ndarray) -> np.ndarray:
        """(len(index), before + after) float32 windows of the beats ``index``."""
        starts = self.offsets[self.segment[index]] + self.sample[index] - self.before
        return np.asarray(self.ecg[starts[:, None] + np.arange(self.before + self.after)[None, :]], dtype=np.float32)


class BeatsTask(ClassifierTask):
    name = "beats"
    score_name = "macro_f1"

    def load_data(self, data_dir, val_dir) -> None:
        s, cfg = self.settings, self.model.cfg
        train = BeatWindows(data_dir, self.classes, cfg.fs, cfg.before, cfg.after)
        if val_dir is not None:
            val = BeatWindows(val_dir, self.classes, cfg.fs, cfg.before, cfg.after)
            self.train_set, self.train_index = train, np.arange(len(train.labels))
            self.val_set, self.val_index = val, np.arange(len(val.labels))
            self.split = {"val": str(val_dir)}
        else:
            tr, va = stratified_split(train.labels, s.val_fraction, s.seed)
            self.train_set, self.train_index, self.val_set, self.val_index = train, tr, train, va
            self.split = {"val_fraction": s.val_fraction, "seed": s.seed, "stratified_by": "beat class",
                          "kind": "intra-patient (beats of the same records)"}
        self.val_source = (str(val_dir) if val_dir is not None else
                           f"{len(self.val_index)} of {len(train.labels)} beats held out (stratified by class)")
        self.train_labels = train.labels[self.train_index]
        self.val_labels = self.val_set.labels[self.val_index]
        self.set_weights(self.train_labels)
        self._val_windows = None

    def sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        picks = self.train_index[rng.integers(0, len(self.train_index), size=self.settings.batch_size)]
        x = self.train_set.windows(picks)
        if self.settings.augment:
            x = x * np.exp(rng.uniform(*np.log(AUGMENT_SCALE), size=(len(x), 1))).astype(np.float32)
        if self.settings.invert_share > 0:  # drawn only when asked: runs without it keep their batches
            flip = rng.random(len(x)) < self.settings.invert_share
            x = np.where(flip[:, None], -x, x).astype(np.float32)
        return {"ecg": x, "label": self.train_set.labels[picks]}

    def loss(self, net, batch, device):
        logits = net(torch.from_numpy(batch["ecg"]).to(device))  # (batch, classes)
        return self.cross_entropy(logits, torch.from_numpy(batch["label"]).to(device)), {}

    def val_logits(self, indices: np.ndarray, device) -> np.ndarray:
        if self._val_windows is None:
            self._val_windows = self.val_set.windows(self.val_index)
        return beat_logits(self.model, self._val_windows[indices], device)

    def run_info(self) -> dict[str, Any]:
        return {"title": "{role} (beats)", "val": self.val_source, "crop_samples": None, **super().run_info(),
                "beats_without_whole_window": self.train_set.dropped_at_edges, "split": self.split}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"task": self.name, "split": self.split}
