"""``afkd data import``: WFDB records -> dataset directory.

Per record: read and check one lead (:mod:`wfdb_io`), resample to the model rate and
high-pass at 0.01 Hz (:mod:`preprocess`, whole record at once so that only the record's
first samples see the filter start), cut into segments, label them (CinC
``REFERENCE.csv`` or ``--labels``, ``.atr`` rhythm annotations, or A for synthetic AF).

``kind`` says what a dataset row is: ``segments`` (fixed-length pieces, the f-wave data; a
record's trailing piece shorter than a segment is dropped and said so; lead-off and clipped
segments are rejected), ``records`` (each record whole, one variable-length row: the rhythm
classifiers) or ``beats`` (each record whole plus its annotated beats in AAMI classes,
:mod:`afkd.training.data.beats`). Whole records are not judged for lead-off or clipping: a
classifier answers every record, and a noisy record is what the CinC label ``~`` says it is.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from afkd.errors import AfkdError
from afkd.training.data.annotations import (af_episodes, majority_label, read_labels_csv, read_reference,
                                            read_rhythm)
from afkd.training.data.beats import AAMI_CLASSES, beat_arrays, read_beats
from afkd.training.data.heldout import is_heldout
from afkd.training.data.dataset import write_dataset
from afkd.training.data.preprocess import preprocess, segment_bounds
from afkd.training.data.segment_quality import segment_problem
from afkd.training.data.wfdb_io import Lead, read_lead, record_base


MAX_FS = 20000.0  # Hz; above any ECG recorder, and keeps a resampled record in memory


@dataclass(frozen=True)
class ImportOptions:
    fs: float = 250.0  # model rate, Hz
    lead: str | None = None  # name or index; None: the first lead (ecg for synthetic records)
    segment_seconds: float = 30.0
    overlap_seconds: float = 0.0
    min_seconds: float = 5.0  # shorter records (or AF episodes) are rejected
    episodes: str = "all"  # "all": the whole record; "af": only (AFIB episodes of the .atr
    kind: str = "segments"  # segments | records (whole, variable length) | beats (whole + beat table)
    labels: str | None = None  # a CinC labels CSV for every record (default: REFERENCE.csv beside it)
    skip_heldout: bool = False  # leave out the CinC 2017 held-out records (afkd.training.data.heldout)

    def check(self) -> None:
        for flag, value in (("--fs", self.fs), ("--segment-seconds", self.segment_seconds),
                            ("--overlap", self.overlap_seconds), ("--min-seconds", self.min_seconds)):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise AfkdError(f"{flag} {value!r}: not a finite number")
        if not 100 <= self.fs <= MAX_FS:
            raise AfkdError(f"--fs {self.fs:g}: the model rate must be in [100, {MAX_FS:g}] Hz")
        if self.segment_seconds < 1:
            raise AfkdError(f"--segment-seconds {self.segment_seconds:g}: segments must be at least 1 s long")
        if self.segment_seconds <= 0 or not 0 <= self.overlap_seconds < self.segment_seconds:
            raise AfkdError("--overlap must be >= 0 and shorter than --segment-seconds")
        if self.min_seconds <= 0:
            raise AfkdError("--min-seconds must be positive")
        if self.episodes not in ("all", "af"):
            raise AfkdError(f"--episodes {self.episodes}: expected 'all' or 'af'")
        if self.kind not in KINDS:
            raise AfkdError(f"--kind {self.kind}: expected one of {', '.join(KINDS)}")
        if self.kind != "segments" and self.episodes != "all":
            raise AfkdError(f"--kind {self.kind} keeps whole records: --episodes af does not apply")


KINDS = ("segments", "records", "beats")


def detect_source(lead: Lead, base: Path, has_reference: bool) -> str:
    if lead.synthetic:
        return "synthetic"
    folder = base.parent.name.lower()
    for name in ("afdb", "mitdb", "cinc2017"):
        if name in folder:
            return name
    if has_reference or base.with_suffix(".mat").is_file():
        return "cinc2017"
    return "wfdb"


def import_record(path: str | os.PathLike, options: ImportOptions = ImportOptions(),
                  reference: dict[str, str] | None = None, rejected: list[dict] | None = None,
                  notes: list[str] | None = None) -> list[dict]:
    """Segments of one record (dicts for :func:`write_dataset`); AfkdError if unusable.

    ``reference`` maps record names to CinC labels; None reads REFERENCE.csv beside it.
    Segments that are lead-off or clipped (:mod:`segment_quality`) are left out and, when
    ``rejected`` is a list, appended to it as {record, start, seconds, reason}.
    ``notes`` receives one line for a trailing piece shorter than a segment (dropped).
    """
    base = record_base(path)
    lead = read_lead(base, options.lead)
    n_in = lead.signal.size
    if n_in / lead.fs < options.min_seconds:
        raise AfkdError(f"{base}: record is {n_in / lead.fs:.1f} s long, shorter than "
                        f"--min-seconds {options.min_seconds:g}")
    if reference is None:
        reference = read_reference(base.parent)
    source = detect_source(lead, base, bool(reference))
    rhythm = None if lead.synthetic else read_rhythm(base, n_in)

    fs = options.fs
    if lead.synthetic:
        aa, va, nz = preprocess(np.stack([lead.parts["aa"], lead.parts["va"], lead.parts["noise"]]),
                                lead.fs, fs)
        ecg = aa + va + nz
    else:
        ecg, aa, va = preprocess(lead.signal, lead.fs, fs), None, None

    seg_len = int(round(options.segment_seconds * fs))
    if options.kind != "segments":
        seg_len = max(ecg.size, 1)  # one row: the whole record
    hop = seg_len - int(round(options.overlap_seconds * fs))
    min_len = int(np.ceil(options.min_seconds * fs))
    if options.episodes == "af" and not lead.synthetic:
        if rhythm is None:
            raise AfkdError(f"{base}: --episodes af needs rhythm annotations ({base.name}.atr is missing)")
        spans = [(int(round(a * fs / lead.fs)), int(round(b * fs / lead.fs))) for a, b in af_episodes(rhythm)]
        spans = [(a, min(b, ecg.size)) for a, b in spans if min(b, ecg.size) - a >= min_len]
        if not spans:
            raise AfkdError(f"{base}: no (AFIB episode of at least {options.min_seconds:g} s")
    else:
        spans = [(0, ecg.size)]

    beats = None
    if options.kind == "beats":
        beats = read_beats(base, lead.fs, fs, ecg.size)
    segments, dropped = [], []
    for a, b in spans:
        bounds = segment_bounds(b - a, seg_len, hop, min_len)
        tail = (b - a) - bounds[-1][1] if bounds else 0
        if tail > 0 and notes is not None:
            notes.append(f"{base}: last {tail / fs:.1f} s shorter than a {options.segment_seconds:g} s "
                         f"segment, not imported (--kind records keeps whole records)")
        for s0, s1 in bounds:
            start, stop = a + s0, a + s1
            problem = None if options.kind != "segments" else \
                segment_problem(lead.signal[int(start * lead.fs / fs):int(stop * lead.fs / fs)], lead.fs)
            if problem:
                dropped.append({"record": base.name, "start": start, "seconds": (stop - start) / fs,
                                "reason": problem})
                continue
            if lead.synthetic:
                label = "A"
            elif rhythm is not None:
                label = majority_label(rhythm, int(start * lead.fs / fs), int(stop * lead.fs / fs))
            else:
                label = reference.get(base.name)
            segments.append({
                "source": source, "record": base.name, "lead": lead.lead, "start": start,
                "label": label, "ecg": ecg[start:stop],
                "aa": None if aa is None else aa[start:stop],
                "va": None if va is None else va[start:stop],
            })
            if beats is not None:
                segments[-1]["beats"] = beats
    if rejected is not None:
        rejected.extend(dropped)
    if not segments and dropped:
        raise AfkdError(f"{base}: every segment rejected ({dropped[0]['reason']}"
                        f"{f', and {len(dropped) - 1} more' if len(dropped) > 1 else ''})")
    return segments


def expand_sources(sources: list[str | os.PathLike]) -> list[tuple[Path, bool]]:
    """(record base, came from a directory) for every source; a directory gives all its .hea."""
    out = []
    for src in sources:
        src = Path(src)
        if src.is_dir():
            heads = sorted(src.glob("*.hea"))
            if not heads:
                raise AfkdError(f"{src}: directory holds no WFDB records (.hea files)")
            out.extend((record_base(h), True) for h in heads)
        else:
            out.append((record_base(src), False))
    return out


def import_dataset(out: str | os.PathLike, sources: list[str | os.PathLike],
                   options: ImportOptions = ImportOptions(), strict: bool = False,
                   warn: Callable[[str], None] | None = None) -> dict:
    """Import records and directories into the dataset directory ``out`` (atomically).

    A bad record named directly is an error. Inside a directory a bad record is reported
    through ``warn`` (default: one line on stderr) and skipped, unless ``strict``.
    Returns a summary: records imported, skipped (with reasons) and segments written.
    """
    options.check()
    warn = warn or (lambda line: print(line, file=sys.stderr))
    segments, skipped, imported, rejected, notes, left_out = [], [], 0, [], [], []
    references: dict[Path, dict[str, str]] = {}
    given = read_labels_csv(Path(options.labels)) if options.labels else None
    for base, in_directory in expand_sources(sources):
        if options.skip_heldout and is_heldout("cinc2017", base.name):
            left_out.append(base.name)
            continue
        if base.parent not in references:
            references[base.parent] = given if given is not None else read_reference(base.parent)
        try:
            segments.extend(import_record(base, options, references[base.parent], rejected, notes))
            imported += 1
        except AfkdError as err:
            if strict or not in_directory:
                raise
            warn(f"skipped: {err}")
            skipped.append(str(err))
    for line in notes:
        warn(line)
    if not segments:
        raise AfkdError(f"{out}: no segments imported ({len(skipped)} records skipped)")
    extra = {
        "kind": options.kind,
        "created_by": {"command": "import", "sources": [str(s) for s in sources], "lead": options.lead,
                       "episodes": options.episodes, "overlap_seconds": options.overlap_seconds,
                       "min_seconds": options.min_seconds, "highpass": "1st-order Butterworth 0.01 Hz, causal",
                       "labels": options.labels, "heldout_left_out": len(left_out)},
        # What was left out and why; `afkd data info` counts them.
        "skipped_records": skipped, "rejected_segments": rejected,
    }
    arrays = None
    if options.kind == "beats":
        extra["beat_classes"] = list(AAMI_CLASSES)
        arrays = beat_arrays(segments)
    write_dataset(out, segments, options.fs, options.segment_seconds, extra=extra, arrays=arrays)
    return {"records": imported, "skipped": skipped, "segments": len(segments), "rejected": rejected,
            "tails_dropped": len(notes), "heldout_left_out": len(left_out),
            "beats": 0 if arrays is None else int(arrays["beat_label"].size)}
