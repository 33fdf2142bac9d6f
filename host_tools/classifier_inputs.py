"""What a classifier is validated (or run) on: whole records for a rhythm detector, beat
windows for the beat CNN, from a dataset directory or a folder of WFDB records.

A WFDB folder is read as ``afkd data import --kind records`` reads it (``afkd classify``'s
``read_preprocessed``: one lead, resampled to the model rate, the 0.01 Hz high-pass), whole: a
detector answers per record. Its labels come from a CinC 2017 ``REFERENCE.csv`` beside the
records. Beat windows sit at the beats a record's ``.atr`` annotates (R peak at sample
``before`` of the window, ``training.data.beats``), labelled with the beat's AAMI class, and so do
those of a beats dataset (``afkd data import --kind beats``); another dataset directory gives
consecutive windows of its segments instead (unlabelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from afkd.errors import AfkdError


@dataclass
class Item:
    """One thing the classifier answers for: a record or a beat window (float32 mV)."""

    id: str
    ecg: np.ndarray
    label: str | None


def _wfdb_records(folder: Path) -> list[Path]:
    return sorted(p.with_suffix("") for p in folder.glob("*.hea"))


def _read_record(base: Path, fs: int) -> np.ndarray:
    from afkd.host_tools.cli_classify import read_preprocessed

    return read_preprocessed(base, fs, None)


def records(data: str | Path, fs: int, limit: int = 0) -> list[Item]:
    """Whole records (WFDB folder) or segments (dataset directory) at ``fs``; ``limit`` 0 = all."""
    data = Path(data)
    if (data / "dataset.json").is_file():
        from afkd.training.data.dataset import Dataset

        dataset = Dataset(data)
        if int(round(dataset.fs)) != fs:
            raise AfkdError(f"{data}: dataset at {dataset.fs:g} Hz, the model runs at {fs} Hz (re-import with --fs {fs})")
        count = len(dataset) if limit <= 0 else min(limit, len(dataset))
        out = []
        for i in range(count):
            seg = dataset.segment(i)
            meta = dataset.segments[i]
            out.append(Item(str(meta.get("id", i)), np.asarray(seg["ecg"], np.float32), meta.get("label")))
        return out
    bases = _wfdb_records(data) if data.is_dir() else []
    if not bases:
        raise AfkdError(f"{data}: neither a dataset directory (dataset.json) nor a folder of WFDB records (.hea)")
    from afkd.training.data.annotations import read_reference

    labels = read_reference(data)
    bases = bases if limit <= 0 else bases[:limit]
    return [Item(base.name, _read_record(base, fs), labels.get(base.name)) for base in bases]


def beat_windows(data: str | Path, fs: int, before: int, after: int, limit: int = 0,
                 per_record: int = 0) -> list[Item]:
    """Beat windows of ``before + after`` samples: at the annotated beats of WFDB records (AAMI
    labels) or consecutive windows of a dataset's segments. ``limit`` caps the records,
    ``per_record`` the windows of each (0: all)."""
    data = Path(data)
    window = before + after
    out: list[Item] = []
    if (data / "dataset.json").is_file():
        from afkd.training.data.dataset import Dataset

        dataset = Dataset(data)
        if dataset.manifest.get("kind") == "beats":  # afkd data import --kind beats: annotated R peaks
            from afkd.training.data.beats import load_beats

            beats = load_beats(dataset)
            items = records(data, fs, limit)
            for index, item in enumerate(items):
                taken = 0
                for peak, label in zip(beats["sample"][beats["segment"] == index], beats["label"][beats["segment"] == index]):
                    start = int(peak) - before
                    if start < 0 or start + window > item.ecg.size:
                        continue
                    out.append(Item(f"{item.id}@{int(peak)}", item.ecg[start:start + window],
                                    beats["classes"][int(label)]))
                    taken += 1
                    if per_record and taken >= per_record:
                        break
            return out
        for item in records(data, fs, limit):
            starts = range(0, item.ecg.size - window + 1, window)
            for start in list(starts)[:per_record or None]:
                out.append(Item(f"{item.id}@{start}", item.ecg[start:start + window], None))
        return out
    bases = _wfdb_records(data) if data.is_dir() else []
    if not bases:
        raise AfkdError(f"{data}: neither a dataset directory (dataset.json) nor a folder of WFDB records (.hea)")
    from afkd.training.data.beats import AAMI_CLASSES, read_beats
    from afkd.training.data.wfdb_io import read_lead

    for base in bases if limit <= 0 else bases[:limit]:
        ecg = _read_record(base, fs)
        peaks, labels = read_beats(base, read_lead(base).fs, fs, ecg.size)
        taken = 0
        for peak, label in zip(peaks, labels):
            start = int(peak) - before
            if start < 0 or start + window > ecg.size:
                continue  # no whole window: left out, never padded
            out.append(Item(f"{base.name}@{int(peak)}", ecg[start:start + window], AAMI_CLASSES[int(label)]))
            taken += 1
            if per_record and taken >= per_record:
                break
    return out
