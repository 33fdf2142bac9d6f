"""Evaluate classifier checkpoints on a dataset directory: F1 per class, challenge score, confusion.

Rhythm models (compact detector, dense reference) answer once per labelled row of the dataset
(``--kind records`` gives one row per record); beat models once per annotated beat of a
``--kind beats`` dataset whose window fits in its record. ``records`` restricts the rows to
named records (a validation split: models/cinc2017_val_records.txt). A result holds the
:func:`~afkd.training.metrics_classify.classification_summary` plus the model's cost:
``params``, ``macs_per_second`` (rhythm: per second of ECG; beats: per beat in
``macs_per_beat``), ``checkpoint_bytes`` and the wall time of the evaluation.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from afkd.errors import AfkdError
from afkd.training.checkpoint import load_checkpoint
from afkd.training.classify import beat_logits, record_logits
from afkd.training.families import family_of
from afkd.training.metrics_classify import classification_summary, format_confusion, format_scores


def read_record_list(path: str | os.PathLike) -> list[str]:
    """Record names, one a line (blank lines and # comments ignored)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise AfkdError(f"{path}: cannot read the record list ({err.strerror or err})") from None
    names = [line.split("#")[0].strip() for line in text.splitlines()]
    names = [n for n in names if n]
    if not names:
        raise AfkdError(f"{path}: the record list is empty")
    return names


def model_cost(model: torch.nn.Module) -> dict:
    from afkd.training.model_beat import BeatCNN, beat_macs
    from afkd.training.model_detector import RhythmTCN, detector_macs_per_frame
    from afkd.training.model_resnet import resnet_macs_per_second

    cfg = model.cfg
    params = sum(p.numel() for p in model.parameters())
    if isinstance(model, BeatCNN):
        return {"params": params, "macs_per_beat": beat_macs(cfg), "macs_per_second": None}
    if isinstance(model, RhythmTCN):
        return {"params": params, "macs_per_second": detector_macs_per_frame(cfg) * cfg.fs / cfg.hop}
    return {"params": params, "macs_per_second": resnet_macs_per_second(cfg)}


def rhythm_rows(data_dir, classes: Sequence[str], fs: float, records: Sequence[str] | None):
    """(names, ecgs, label indices) of the dataset rows labelled with one of ``classes``."""
    from afkd.training.data.dataset import Dataset

    ds = Dataset(data_dir)
    if abs(ds.fs - fs) > 1e-6:
        raise AfkdError(f"{data_dir}: rate {ds.fs:g} Hz differs from the model rate {fs:g} Hz")
    wanted = None if records is None else set(records)
    rows = [i for i, s in enumerate(ds.segments)
            if s.get("label") in classes and (wanted is None or s["record"] in wanted)]
    if wanted is not None:
        missing = wanted - {ds.segments[i]["record"] for i in rows}
        if missing:
            raise AfkdError(f"{data_dir}: {len(missing)} listed records are not labelled rows of the dataset "
                            f"(first: {sorted(missing)[0]})")
    if not rows:
        raise AfkdError(f"{data_dir}: no row is labelled with one of {', '.join(classes)}")
    names = [ds.segments[i]["record"] for i in rows]
    return names, [ds.segment(i)["ecg"] for i in rows], np.array([classes.index(ds.segments[i]["label"]) for i in rows])


def evaluate_classifier(path: str | os.PathLike, data_dir: str | os.PathLike,
                        records: Sequence[str] | None = None, device: torch.device | str = "cpu",
                        batch_size: int = 16) -> dict:
    model, meta = load_checkpoint(path)
    family = family_of(model)
    if family.task not in ("rhythm", "beats"):
        raise AfkdError(f"{path}: a {family.name} is not a classifier")
    model.to(device).eval()
    classes = list(model.cfg.classes)
    started = time.perf_counter()
    if family.task == "rhythm":
        names, ecgs, true = rhythm_rows(data_dir, classes, model.cfg.fs, records)
        predicted = record_logits(model, ecgs, device, batch_size).argmax(axis=1)
        unit = {"rows": "records"}
    else:
        from afkd.training.tasks.beats import BeatWindows

        if records is not None:
            raise AfkdError("--records applies to rhythm models; a beats dataset is chosen by its records")
        beats = BeatWindows(data_dir, tuple(classes), model.cfg.fs, model.cfg.before, model.cfg.after)
        windows = beats.windows(np.arange(len(beats.labels)))
        predicted = beat_logits(model, windows, device).argmax(axis=1)
        true = beats.labels
        unit = {"rows": "beats", "beats_without_whole_window": beats.dropped_at_edges}
    seconds = time.perf_counter() - started
    result = classification_summary(true, predicted, classes)
    result.update(kind="classifier", task=family.task, family=family.name, path=str(path), role=meta.get("role"),
                  data=str(data_dir), checkpoint_bytes=Path(path).stat().st_size, seconds=seconds,
                  config=model.cfg.to_dict(), **unit, **model_cost(model))
    return result


def format_report(name: str, result: dict) -> str:
    """F1 per class, the challenge score (rhythm), the confusion matrix, the cost."""
    cost = f"{result['params']:,} parameters"
    if result.get("macs_per_second"):
        cost += f", {result['macs_per_second'] / 1e6:.2f} M MACs per second of ECG"
    if result.get("macs_per_beat"):
        cost += f", {result['macs_per_beat'] / 1e6:.2f} M MACs per beat"
    lines = [f"{name} ({result['family']}, {result['count']} {result['rows']}): {cost}",
             "  " + format_scores(result), *("  " + line for line in format_confusion(result))]
    return "\n".join(lines)
