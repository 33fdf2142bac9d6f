"""Rhythm annotations (MIT-BIH / AFDB ``.atr``) and CinC 2017 labels.

In a WFDB annotation file a rhythm change is an annotation whose ``aux_note`` starts with
``(`` (``(AFIB``, ``(N``, ``(AFL``, ...); the rhythm holds until the next change. MIT-BIH
puts them on ``+`` annotations among the beat labels; AFDB's ``.atr`` holds only them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from afkd.errors import AfkdError

AF_RHYTHM = "(AFIB"
NORMAL_RHYTHM = "(N"


def rhythm_label(rhythm: str) -> str:
    """Dataset label of a rhythm: A for AF, N for normal sinus, O for anything else."""
    if rhythm == AF_RHYTHM:
        return "A"
    return "N" if rhythm == NORMAL_RHYTHM else "O"


def rhythm_intervals(samples, aux_notes, sig_len: int) -> list[tuple[int, int, str]]:
    """[(start, stop, rhythm)] covering the annotated part of a record, in samples.

    ``samples``/``aux_notes`` are the annotation positions and aux strings (any order);
    entries whose aux does not start with ``(`` are ignored. Samples before the first
    rhythm annotation are not covered.
    """
    changes = sorted((int(s), a.strip("\x00 ").split()[0]) for s, a in zip(samples, aux_notes)
                     if a and a.strip("\x00 ").startswith("("))
    out = []
    for k, (start, rhythm) in enumerate(changes):
        stop = changes[k + 1][0] if k + 1 < len(changes) else sig_len
        start, stop = max(0, start), min(stop, sig_len)
        if stop <= start:
            continue
        if out and out[-1][2] == rhythm and out[-1][1] == start:
            out[-1] = (out[-1][0], stop, rhythm)  # a repeated label continues the episode
        else:
            out.append((start, stop, rhythm))
    return out


def af_episodes(intervals: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """[(start, stop)] of the ``(AFIB`` episodes."""
    return [(a, b) for a, b, r in intervals if r == AF_RHYTHM]


def majority_label(intervals: list[tuple[int, int, str]], start: int, stop: int) -> str | None:
    """Label of the rhythm covering most of [start, stop); None when nothing covers it."""
    cover: dict[str, int] = {}
    for a, b, rhythm in intervals:
        overlap = min(b, stop) - max(a, start)
        if overlap > 0:
            label = rhythm_label(rhythm)
            cover[label] = cover.get(label, 0) + overlap
    return max(cover, key=cover.get) if cover else None


def read_rhythm(base: Path, sig_len: int, extension: str = "atr") -> list[tuple[int, int, str]] | None:
    """Rhythm intervals of ``base.atr``, or None when the record has no annotation file."""
    import wfdb

    path = base.with_name(f"{base.name}.{extension}")
    if not path.is_file():
        return None
    try:
        ann = wfdb.rdann(str(base), extension)
    except Exception as err:
        raise AfkdError(f"{base}: unreadable annotations {path.name} ({' '.join(str(err).split())[:120]})") from None
    return rhythm_intervals(ann.sample, ann.aux_note or [""] * len(ann.sample), sig_len)


def _rows(reader, path: Path):
    try:
        yield from reader
    except csv.Error as err:  # a NUL byte, an unclosed quote at the end
        raise AfkdError(f"{path}: not CSV ({err})") from None


def read_reference(directory: Path) -> dict[str, str]:
    """CinC 2017 ``REFERENCE.csv`` (record,label) of a directory; {} when absent."""
    path = directory / "REFERENCE.csv"
    if not path.is_file():
        return {}
    labels = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise AfkdError(f"{path}: not UTF-8 text (byte {err.start}); expected 'record,label' lines") from None
    with io.StringIO(text, newline="") as f:
        for line, row in enumerate(_rows(csv.reader(f), path), 1):
            if not row or not row[0].strip():
                continue
            if len(row) < 2 or row[1].strip() not in ("A", "N", "O", "~"):
                raise AfkdError(f"{path}: line {line} is not 'record,label' with label A, N, O or ~")
            labels[row[0].strip()] = row[1].strip()
    return labels


def read_labels_csv(path: Path) -> dict[str, str]:
    """A CinC labels file given by the user (``--labels``): rows ``record,label[,...]``.

    The official v3 file names records with their folder (``A00/A00001,N,0``): the folder is
    dropped, so the names match the records' file names.
    """
    path = Path(path)
    if not path.is_file():
        raise AfkdError(f"{path}: no such labels file")
    labels = {}
    with path.open(newline="") as f:
        for line, row in enumerate(csv.reader(f), 1):
            if not row or not row[0].strip():
                continue
            if len(row) < 2 or row[1].strip() not in ("A", "N", "O", "~"):
                raise AfkdError(f"{path}: line {line} is not 'record,label' with label A, N, O or ~")
            labels[Path(row[0].strip()).name] = row[1].strip()
    if not labels:
        raise AfkdError(f"{path}: no labels")
    return labels
