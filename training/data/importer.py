"""``afkd data import``: WFDB records -> dataset directory.

Per record: read and check one lead (:mod:`wfdb_io`), resample to the model rate and
high-pass at 0.01 Hz (:mod:`preprocess`, whole record at once so that only the record's
first samples see the filter start), cut into segments, label them (CinC
``REFERENCE.csv``, ``.atr`` rhythm annotations, or A for synthetic AF).
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
from afkd.training.data.annotations import af_episodes, majority_label, read_reference, read_rhythm
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
                  reference: dict[str, str] | None = None, rejected: list[dict] | None = None) -> list[dict]:
    """Segments of one record (dicts for :func:`write_dataset`); AfkdError if unusable.

    ``reference`` maps record names to CinC labels; None reads REFERENCE.csv beside it.
    Segments that are lead-off or clipped (:mod:`segment_quality`) are left out and, when
    ``rejected`` is a list, appended to it as {record, start, seconds, reason}.
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

    segments, dropped = [], []
    for a, b in spans:
        for s0, s1 in segment_bounds(b - a, seg_len, hop, min_len):
            start, stop = a + s0, a + s1
            problem = segment_problem(lead.signal[int(start * lead.fs / fs):int(stop * lead.fs / fs)], lead.fs)
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
    segments, skipped, imported, rejected = [], [], 0, []
    references: dict[Path, dict[str, str]] = {}
    for base, in_directory in expand_sources(sources):
        if base.parent not in references:
            references[base.parent] = read_reference(base.parent)
        try:
            segments.extend(import_record(base, options, references[base.parent], rejected))
            imported += 1
        except AfkdError as err:
            if strict or not in_directory:
                raise
            warn(f"skipped: {err}")
            skipped.append(str(err))
    if not segments:
        raise AfkdError(f"{out}: no segments imported ({len(skipped)} records skipped)")
    write_dataset(out, segments, options.fs, options.segment_seconds, extra={
        "created_by": {"command": "import", "sources": [str(s) for s in sources], "lead": options.lead,
                       "episodes": options.episodes, "overlap_seconds": options.overlap_seconds,
                       "min_seconds": options.min_seconds, "highpass": "1st-order Butterworth 0.01 Hz, causal"},
        # What was left out and why; `afkd data info` counts them.
        "skipped_records": skipped, "rejected_segments": rejected,
    })
    return {"records": imported, "skipped": skipped, "segments": len(segments), "rejected": rejected}
