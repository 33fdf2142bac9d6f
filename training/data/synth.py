"""Synthetic ECG with ground truth, ``ecg = va + aa + noise``: AF alone or a mixture of rhythms.

``synthesize_records`` returns the signals in memory; ``synth_dataset`` writes them as a
dataset directory directly (for training and the demo); ``write_synth_wfdb`` writes WFDB
records plus a JSON sidecar each (``afkd data synth``), which ``afkd data import`` reads
like any other WFDB record.

Record ``i`` depends only on ``(seed, i)`` (and the config): asking for more records keeps the
first ones. Its rhythm is drawn from ``config.mixture`` (:mod:`synth_rhythms`; AF alone by
default) on a stream of its own, and an AF record is drawn exactly as the AF-only generator
draws it, so AF-only data sets (the shipped models' validation set) do not change.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from afkd.atomic import atomic_dir
from afkd.errors import AfkdError
from afkd.training.data.dataset import write_dataset
from afkd.training.data.preprocess import highpass
from afkd.training.data.synth_fwaves import FwaveRanges
from afkd.training.data.synth_noise import NoiseLevels
from afkd.training.data.synth_qrst import RhythmRanges
from afkd.training.data.synth_rhythms import RHYTHM_LABELS, RhythmConfig, choose_rhythm, rhythm_record

GENERATOR = "afkd-synth"
GENERATOR_VERSION = 2  # 2: rhythms other than AF; the sidecar names the rhythm and its events
SIGNALS = ("ecg", "aa", "va", "noise")


@dataclass(frozen=True)
class SynthConfig:
    """What to synthesize; every field has a sensible default."""

    fwaves: FwaveRanges = field(default_factory=FwaveRanges)
    rhythm: RhythmRanges = field(default_factory=RhythmRanges)
    noise: NoiseLevels = field(default_factory=NoiseLevels)
    # rhythm -> probability (synth_rhythms.parse_mixture); a tuple of pairs keeps the config hashable
    mixture: tuple[tuple[str, float], ...] = (("af", 1.0),)
    rhythms: RhythmConfig = field(default_factory=RhythmConfig)
    # Share of records recorded with the lead reversed (every signal negated): a handheld or
    # patch ECG is often upside down (37 % of the normal CinC 2017 records here have negative R).
    inverted_share: float = 0.0


def synthesize_record(index: int, seconds: float, fs: float, seed: int,
                      config: SynthConfig = SynthConfig()) -> dict:
    """One record: dict with float32 (n,) arrays ``ecg, aa, va, noise`` (mV), ``params``,
    ``rhythm`` and ``label``.

    ``ecg`` is computed as ``aa + va + noise`` in float32, so the identity holds exactly
    for the arrays returned. ``params`` is a JSON-ready dict of everything drawn (for the
    organised rhythms with their ``events``: P, R and F-wave times in s).
    """
    if seconds <= 0 or fs < 100:
        raise AfkdError(f"synthesis: need seconds > 0 and fs >= 100 Hz (got {seconds} s, {fs} Hz)")
    n = int(round(seconds * fs))
    rhythm = choose_rhythm(dict(config.mixture), seed, index)
    rng = np.random.default_rng([seed, index])
    aa64, va64, nz64, drawn = rhythm_record(rhythm, rng, n, fs, config.fwaves, config.rhythm, config.noise,
                                            config.rhythms)
    inverted = is_inverted(config.inverted_share, seed, index)
    sign = -1.0 if inverted else 1.0
    aa, va, nz = (sign * x.astype(np.float32) for x in (aa64, va64, nz64))
    ecg = aa + va + nz
    label = RHYTHM_LABELS[rhythm]
    params = {
        "generator": GENERATOR, "generator_version": GENERATOR_VERSION,
        "seed": int(seed), "index": int(index), "fs": float(fs), "seconds": float(seconds),
        "rhythm": rhythm, "label": label, "inverted": inverted, **drawn,
    }
    return {"ecg": ecg, "aa": aa, "va": va, "noise": nz, "params": params, "rhythm": rhythm, "label": label}


def is_inverted(share: float, seed: int, index: int) -> bool:
    """Whether record ``index`` has its lead reversed: drawn on a stream of its own, so that a
    share of 0 leaves every record as it was."""
    return share > 0 and bool(np.random.default_rng([seed, index, 11]).random() < share)


def synthesize_records(n: int, seconds: float = 30.0, fs: float = 250.0, seed: int = 0,
                       config: SynthConfig = SynthConfig()) -> list[dict]:
    """``n`` records, see :func:`synthesize_record`."""
    return [synthesize_record(i, seconds, fs, seed, config) for i in range(n)]


def record_name(index: int) -> str:
    return f"synth_{index:05d}"


def synth_dataset(out: str | os.PathLike, n: int, seconds: float = 30.0, fs: float = 250.0,
                  seed: int = 0, config: SynthConfig = SynthConfig()) -> Path:
    """Synthesize ``n`` records and write them as a dataset directory (one segment each).

    The 0.01 Hz high-pass of the importer is applied to aa, va and noise, so this equals
    ``afkd data synth`` followed by ``afkd data import`` up to WFDB quantization.
    """
    segments = []
    for i in range(n):
        rec = synthesize_record(i, seconds, fs, seed, config)
        aa, va, nz = highpass(np.stack([rec["aa"], rec["va"], rec["noise"]]), fs)
        segments.append({"source": "synthetic", "record": record_name(i), "lead": "ecg", "start": 0,
                         "label": rec["label"], "rhythm": rec["rhythm"], "ecg": aa + va + nz, "aa": aa, "va": va})
    return write_dataset(out, segments, fs, seconds,
                         extra={"created_by": {"command": "synth_dataset", "seed": seed, "records": n}})


def adc_gain_for(x: np.ndarray) -> float:
    """Largest power-of-two ADC gain (units/mV) that fits ``x`` into int16 with headroom.

    A power of two keeps ``digital / gain`` exact in binary floating point and prints
    exactly in the header. For a 15 uV f-wave this gives a step well below 0.01 uV.
    """
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    gain = 2.0 ** 20  # cap: 1 nV steps are plenty
    while gain > 1 and peak * gain > 30000:
        gain /= 2
    return gain


def write_synth_wfdb(out: str | os.PathLike, n: int, seconds: float = 30.0, fs: float = 250.0,
                     seed: int = 0, config: SynthConfig = SynthConfig()) -> Path:
    """Write ``n`` synthetic records into the directory ``out`` (atomically).

    Each record ``synth_NNNNN`` is a WFDB format-16 record with signals ecg, aa, va,
    noise in mV (per-signal power-of-two gain, see :func:`adc_gain_for`) and a
    ``synth_NNNNN.json`` sidecar with the parameters drawn.
    """
    import wfdb  # imported here: `afkd data info` does not need it

    with atomic_dir(out) as tmp:
        for i in range(n):
            rec = synthesize_record(i, seconds, fs, seed, config)
            gains = [adc_gain_for(rec[s]) for s in SIGNALS]
            digital = np.stack([np.round(rec[s].astype(np.float64) * g) for s, g in zip(SIGNALS, gains)],
                               axis=1).astype(np.int64)
            name = record_name(i)
            wfdb.wrsamp(name, fs=fs, units=["mV"] * 4, sig_name=list(SIGNALS), d_signal=digital,
                        fmt=["16"] * 4, adc_gain=gains, baseline=[0] * 4, write_dir=str(tmp),
                        comments=[f"{GENERATOR} v{GENERATOR_VERSION} seed {seed} index {i}",
                                  f"rhythm {rec['rhythm']} label {rec['label']}"])
            (tmp / f"{name}.json").write_text(json.dumps(rec["params"], indent=1) + "\n")
        # Marks the folder as afkd's, so that a later synth may replace it (afkd.outdir).
        marker = {"format": "afkd-synth-wfdb", "version": 1, "records": n, "seconds": seconds, "fs": fs, "seed": seed}
        (tmp / "synth.json").write_text(json.dumps(marker, indent=1) + "\n")
    return Path(out)
