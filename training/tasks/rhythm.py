"""The rhythm task: one label per record (CinC 2017: N, A, O, ~), the record's mean logits.

Training batches are whole records of similar length (drawn from a window of neighbours in
length order around a uniformly drawn record, so that a 60 s record does not make 15 records
of 30 s pay for its padding; a record longer than ``--crop-seconds`` gives a random crop of
that length), zero-padded to the longest in the batch; the loss is the weighted
cross-entropy of each record's mean frame (window) logits over its valid frames, exactly
the statistic the deployed detector answers with. Validation runs every validation record
whole; the challenge score (mean F1 of N, A, O) picks best.pt.

Without ``--val`` the records of ``--data`` are split by label (stratified, seeded,
``--val-fraction``); the validation record names go into log.json (``split``) and the
checkpoint meta, so the split can be re-made and checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from afkd.errors import AfkdError
from afkd.training.classify import input_multiple, pad_batch, record_logits
from afkd.training.data.heldout import refuse_heldout
from afkd.training.model_detector import masked_mean_logits
from afkd.training.tasks.classifier import ClassifierTask, stratified_split

AUGMENT_SCALE = (0.6, 1.6)  # --augment: amplitude factor drawn log-uniform (electrode contact, gain)


class LabelledRecords:
    """The rows of a dataset whose label is one of ``classes``: (dataset, row indices, label indices)."""

    def __init__(self, path, classes: tuple[str, ...], fs: float):
        from afkd.training.data.dataset import Dataset

        self.ds = Dataset(path)
        refuse_heldout(self.ds.segments, str(path))
        if abs(self.ds.fs - fs) > 1e-6:
            raise AfkdError(f"{path}: rate {self.ds.fs:g} Hz differs from the model rate {fs:g} Hz")
        rows = [(i, classes.index(s["label"])) for i, s in enumerate(self.ds.segments) if s.get("label") in classes]
        if not rows:
            raise AfkdError(f"{path}: no record is labelled with one of {', '.join(classes)}")
        self.rows = np.array([r for r, _ in rows], dtype=np.int64)
        self.labels = np.array([c for _, c in rows], dtype=np.int64)
        self.unlabelled = len(self.ds.segments) - len(rows)

    def ecg(self, k: int) -> np.ndarray:
        return self.ds.segment(int(self.rows[k]))["ecg"]

    def name(self, k: int) -> str:
        return self.ds.segments[int(self.rows[k])]["record"]


class RhythmTask(ClassifierTask):
    name = "rhythm"
    score_name = "challenge_score"

    def load_data(self, data_dir, val_dir) -> None:
        s, classes, fs = self.settings, self.classes, self.model.cfg.fs
        train = LabelledRecords(data_dir, classes, fs)
        if val_dir is not None:
            val = LabelledRecords(val_dir, classes, fs)
            self.train_set, self.train_index = train, np.arange(len(train.labels))
            self.val_set, self.val_index = val, np.arange(len(val.labels))
            self.split = {"val": str(val_dir)}
        else:
            tr, va = stratified_split(train.labels, s.val_fraction, s.seed)
            self.train_set, self.train_index, self.val_set, self.val_index = train, tr, train, va
            self.split = {"val_fraction": s.val_fraction, "seed": s.seed, "stratified_by": "label",
                          "val_records": sorted(train.name(k) for k in va)}
        self.val_source = (str(val_dir) if val_dir is not None else
                           f"{len(self.val_index)} of {len(train.labels)} records held out (stratified by label)")
        self.train_labels = self.train_set.labels[self.train_index]
        self.val_labels = self.val_set.labels[self.val_index]
        self.set_weights(self.train_labels)
        self.multiple = input_multiple(self.model)
        self.crop = None
        if s.crop_seconds is not None:
            if s.crop_seconds <= 0:
                raise AfkdError(f"--crop-seconds {s.crop_seconds}: must be positive")
            self.crop = max(self.multiple, int(s.crop_seconds * fs) // self.multiple * self.multiple)
        self._val_ecgs = None
        lengths = np.array([train.ds.segments[int(train.rows[k])]["length"] for k in self.train_index])
        self.by_length = np.argsort(lengths, kind="stable")  # positions in train_index, shortest first

    def sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        batch, n = self.settings.batch_size, len(self.train_index)
        centre = int(rng.integers(0, n))
        neighbours = self.by_length[max(0, centre - 2 * batch) : centre + 2 * batch]
        picks = rng.choice(neighbours, size=batch, replace=len(neighbours) < batch)
        ecgs, labels = [], []
        for k in picks:
            x = self.train_set.ecg(int(self.train_index[k]))
            if self.crop is not None and len(x) > self.crop:
                start = int(rng.integers(0, len(x) - self.crop + 1))
                x = x[start : start + self.crop]
            if self.settings.augment:
                x = x * float(np.exp(rng.uniform(*np.log(AUGMENT_SCALE))))
            if self.settings.invert_share > 0 and rng.random() < self.settings.invert_share:
                x = -x  # drawn only when asked: runs without it keep their crops
            ecgs.append(x)
            labels.append(self.train_labels[k])
        x, lengths = pad_batch(ecgs, self.multiple)
        return {"ecg": x, "lengths": lengths, "label": np.array(labels, dtype=np.int64)}

    def loss(self, net, batch, device):
        x = torch.from_numpy(batch["ecg"]).to(device)  # (batch, T)
        lengths = torch.from_numpy(batch["lengths"]).to(device)
        logits = record_level(net, x, lengths)  # (batch, classes)
        return self.cross_entropy(logits, torch.from_numpy(batch["label"]).to(device)), {}

    def val_logits(self, indices: np.ndarray, device) -> np.ndarray:
        if self._val_ecgs is None:
            self._val_ecgs = [self.val_set.ecg(int(k)) for k in self.val_index]
        return record_logits(self.model, [self._val_ecgs[i] for i in indices], device)

    def run_info(self) -> dict[str, Any]:
        return {"title": "{role} (rhythm)", "val": self.val_source, "crop_samples": self.crop,
                **super().run_info(), "unlabelled_rows_ignored": self.train_set.unlabelled, "split": self.split}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"task": self.name, "split": self.split}


def record_level(net, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean logits over each record's valid frames (batch, classes), computed through ``net``'s
    forward (DDP synchronises gradients only through it)."""
    model = getattr(net, "module", net)
    valid = torch.div(lengths, input_multiple(model), rounding_mode="floor")
    return masked_mean_logits(net(x), valid)
