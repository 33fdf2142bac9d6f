"""Reading one WFDB record safely: header, file-size check, lead choice, sample checks.

``wfdb`` reads MIT format 212 (MIT-BIH, AFDB), the CinC 2017 ``.mat`` files (format 16
with a 24-byte offset) and the afkd synthetic records alike. What it does not do is
complain clearly: a short ``.dat`` or a garbled header surfaces as a numpy error deep
inside it. Everything here turns such problems into one :class:`AfkdError` line that
names the record.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from afkd.errors import AfkdError
from afkd.training.data.long_records import LONG_RECORD, read_lead_chunked

MIN_FS = 100.0
SYNTH_SIGNALS = ("ecg", "aa", "va", "noise")
# Bytes per sample of the WFDB formats (212 packs two 12-bit samples in 3 bytes).
BYTES_PER_SAMPLE = {"8": 1, "16": 2, "61": 2, "80": 1, "160": 2, "24": 3, "32": 4,
                    "212": 1.5, "310": 4 / 3, "311": 4 / 3}
FLAT_PTP_MV = 0.005  # a lead whose whole range is below 5 uV carries no ECG


@dataclass
class Lead:
    """One lead of one record, as read (source rate, physical units, float64)."""

    record: str  # display name (path without extension)
    name: str  # record name without directory
    lead: str
    fs: float
    signal: np.ndarray  # (n,) mV
    synthetic: bool = False
    parts: dict | None = None  # synthetic ground truth: {"aa", "va", "noise"} (n,) mV


def record_base(path: str | os.PathLike) -> Path:
    """The record path without extension (``x/A00001.hea`` -> ``x/A00001``)."""
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".hea", ".dat", ".mat", ".atr") else path


@contextlib.contextmanager
def open_record(base: Path) -> Iterator[tuple[object, Path]]:
    """Yield (checked header, record path for ``wfdb.rdrecord``).

    The CinC 2017 headers put the date before the time on the record line
    (``A00001 1 300 9000 2014-05-08 05:05:15``), the reverse of the WFDB spec, and
    ``wfdb`` rejects them. When a header fails only because of the fields after the
    sample count (base time and date, which afkd does not use), it is read again from a
    copy without them, beside links to the signal files in a temporary directory.
    """
    import wfdb

    hea = base.with_name(base.name + ".hea")
    if not hea.is_file():
        raise AfkdError(f"{base}: no header ({hea.name} is missing)")
    lines = hea.read_text(errors="replace").splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None)
    if first is None:
        raise AfkdError(f"{base}: malformed header {hea.name} (no record line)")
    if not base.name.isascii():
        # wfdb's header parser drops non-ASCII letters from names (ré.dat -> r.dat).
        with _ascii_alias(base, lines, first) as alias:
            with open_record(alias) as opened:
                yield opened
        return
    try:
        header = wfdb.rdheader(str(base))
    except Exception as err:  # wfdb raises bare ValueError/IndexError/... on bad text
        problem = f"{base}: malformed header {hea.name} ({_short(err)})"
    else:
        yield _checked(base, header), base
        return
    if len(lines[first].split()) <= 4:
        raise AfkdError(problem)
    lines[first] = " ".join(lines[first].split()[:4])
    with tempfile.TemporaryDirectory(prefix="afkd-hea-") as tmp:
        copy = Path(tmp) / base.name
        copy.with_name(hea.name).write_text("\n".join(lines) + "\n")
        try:
            header = wfdb.rdheader(str(copy))
        except Exception:
            header = None
        if header is None:
            raise AfkdError(problem)
        for name in set(header.file_name or []):
            if (base.parent / name).exists() and "/" not in name:
                os.symlink((base.parent / name).resolve(), Path(tmp) / name)
        yield _checked(base, header), copy


def _checked(base: Path, header):
    hea = base.name + ".hea"
    if getattr(header, "seg_name", None):
        raise AfkdError(f"{base}: multi-segment records are not supported")
    if not header.n_sig or not header.file_name:
        raise AfkdError(f"{base}: header {hea} lists no signals")
    if header.sig_len is None or header.sig_len <= 0:
        raise AfkdError(f"{base}: header {hea} gives no signal length")
    if header.fs is None or header.fs < MIN_FS:
        raise AfkdError(f"{base}: sampling rate {header.fs} Hz is below {MIN_FS:g} Hz")
    return header


def check_data_files(base: Path, header, folder: Path | None = None) -> None:
    """Each signal file (in ``folder``, default the record's) must hold the samples the header promises."""
    files: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        files.setdefault(name, []).append(i)
    for name, signals in files.items():
        path = (folder or base.parent) / name
        if not path.is_file():
            raise AfkdError(f"{base}: signal file {name} is missing")
        fmt = str(header.fmt[signals[0]])
        if fmt not in BYTES_PER_SAMPLE:
            raise AfkdError(f"{base}: WFDB format {fmt} is not supported")
        offset = int((header.byte_offset or [0] * header.n_sig)[signals[0]] or 0)
        per_frame = header.samps_per_frame or [1] * header.n_sig
        frame = sum(int(per_frame[i] or 1) for i in signals) * BYTES_PER_SAMPLE[fmt]
        held = int((path.stat().st_size - offset) // frame) if frame else 0
        if held < header.sig_len:
            raise AfkdError(f"{base}: {name} holds {max(held, 0)} samples but the header says {header.sig_len}")


def resolve_lead(base: Path, sig_names: list[str], lead: str | int | None) -> int:
    """Index of the requested lead: by name (case-insensitive) or by index; default 0."""
    if lead is None:
        return 0
    text = str(lead)
    lowered = [s.lower() for s in sig_names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(sig_names):
        return int(text)
    raise AfkdError(f"{base}: no lead {text!r} (leads: {', '.join(sig_names)})")


def check_samples(base: Path, lead: str, x: np.ndarray) -> None:
    """Reject NaN/inf and a lead flat from end to end."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.argmax(bad))
        kind = "NaN" if np.isnan(x[first]) else "infinite"
        raise AfkdError(f"{base}: lead {lead} has {int(bad.sum())} NaN/infinite samples "
                        f"(first {kind} at sample {first})")
    span = float(np.ptp(x))
    if span < FLAT_PTP_MV:
        raise AfkdError(f"{base}: lead {lead} is flat (peak-to-peak {span * 1e3:.2f} uV)")
    # Clipping and lead-off stretches are judged segment by segment (segment_quality).


def read_lead(path: str | os.PathLike, lead: str | int | None = None) -> Lead:
    """Read and check one lead of a WFDB record.

    Synthetic afkd records (signals ecg, aa, va, noise) return their ground truth in
    ``parts`` and rebuild ``signal`` as ``aa + va + noise`` from the values read back, so
    the identity survives the file's quantization.
    """
    import wfdb

    base = record_base(path)
    with open_record(base) as (header, readable):
        check_data_files(base, header, readable.parent)
        names = [str(s) for s in header.sig_name]
        synthetic = [s.lower() for s in names[:4]] == list(SYNTH_SIGNALS) and lead in (None, "ecg", "0", 0)
        index = 0 if synthetic else resolve_lead(base, names, lead)
        channels = [1, 2, 3] if synthetic else [index]
        gains = header_gains(base)
        for channel in channels:
            check_gain(base, names[channel], gains[channel] if channel < len(gains) else None)
        if not synthetic and header.sig_len >= LONG_RECORD:  # read a chunk at a time, spooled to disk
            signal = read_lead_chunked(base, header, readable, index)
            return Lead(str(base), base.name, names[index], float(header.fs), signal)
        try:
            rec = wfdb.rdrecord(str(readable), channels=channels, physical=True, return_res=64)
        except Exception as err:
            raise AfkdError(f"{base}: unreadable signal data ({_short(err)})") from None
    data = np.asarray(rec.p_signal, dtype=np.float64)
    if data.shape[0] < header.sig_len:
        raise AfkdError(f"{base}: read {data.shape[0]} samples but the header says {header.sig_len}")
    name = names[index]
    if synthetic:
        parts = {k: data[:, j] for j, k in enumerate(("aa", "va", "noise"))}
        for k, v in parts.items():
            check_samples(base, k, v) if k == "aa" else _check_finite(base, k, v)
        signal = parts["aa"] + parts["va"] + parts["noise"]
        check_samples(base, name, signal)
        return Lead(str(base), base.name, name, float(header.fs), signal, True, parts)
    signal = data[:, 0]
    check_samples(base, name, signal)
    return Lead(str(base), base.name, name, float(header.fs), signal)


@contextlib.contextmanager
def _ascii_alias(base: Path, lines: list[str], first: int) -> Iterator[Path]:
    """The record under ASCII names in a temporary folder: the header rewritten, links to its files."""
    with tempfile.TemporaryDirectory(prefix="afkd-hea-") as tmp:
        alias = Path(tmp) / "record"
        rewritten, names = list(lines), {}
        rewritten[first] = " ".join(["record", *lines[first].split()[1:]])
        for i in range(first + 1, len(lines)):
            fields = lines[i].split()
            if not fields or lines[i].lstrip().startswith("#"):
                continue
            if fields[0] not in names:
                names[fields[0]] = f"signal{len(names)}{Path(fields[0]).suffix}"
                if not (base.parent / fields[0]).is_file() or "/" in fields[0]:
                    raise AfkdError(f"{base}: signal file {fields[0]} is missing")
                os.symlink((base.parent / fields[0]).resolve(), Path(tmp) / names[fields[0]])
            rewritten[i] = " ".join([names[fields[0]], *fields[1:]])
        alias.with_name("record.hea").write_text("\n".join(rewritten) + "\n")
        yield alias


def header_gains(base: Path) -> list[str | None]:
    """The ADC gain field of each signal line as written (None when absent).

    wfdb turns a gain of 0 ("uncalibrated") or a missing one into 200 units/mV without a
    word; afkd would then read a record in a unit nobody chose.
    """
    hea = base.with_name(base.name + ".hea")
    lines = [line.split() for line in hea.read_text(errors="replace").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    gains = []
    for fields in lines[1:]:
        gains.append(fields[2].split("(")[0].split("/")[0] if len(fields) > 2 else None)
    return gains


def check_gain(base: Path, lead: str, gain: str | None) -> None:
    try:
        value = float(gain) if gain is not None else None
    except ValueError:
        raise AfkdError(f"{base}: lead {lead} has gain {gain!r}, not a number") from None
    if value is None or value == 0 or not np.isfinite(value):
        said = "gives no gain" if value is None else f"gives gain {gain}"
        raise AfkdError(f"{base}: lead {lead} {said} (uncalibrated): its units per mV are unknown")


def _check_finite(base: Path, lead: str, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise AfkdError(f"{base}: signal {lead} has NaN/infinite samples")


def _short(err: Exception) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:120]
