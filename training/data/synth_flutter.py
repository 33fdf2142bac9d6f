"""Atrial flutter: regular F waves (4-6 Hz) and their conduction to the ventricles.

One macro-reentrant circuit drives the atria at a steady rate, so the F waves are a
periodic sawtooth, far more regular than AF's f-waves: the same harmonic model as
:mod:`synth_fwaves` with a small, slow frequency wobble, a little band noise and no
amplitude modulation to speak of. Cycle k of the wave starts where its phase passes
``2 pi k`` (the F-wave times).

The AV node passes every m-th F wave: fixed conduction (2:1, 3:1 or 4:1 for the whole record)
or variable conduction (m drawn per beat from 2, 3, 4). A conducted F wave at ``f`` gives a QRS
at ``f + av_delay`` (per record, a few ms of jitter per beat).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from afkd.training.data.synth_fwaves import _band_noise, _rms

RATIOS = (2, 3, 4)


@dataclass(frozen=True)
class FlutterRanges:
    rate_hz: tuple[float, float] = (4.0, 6.0)  # F-wave rate (240-360 per minute)
    rms_uv: tuple[float, float] = (40.0, 200.0)  # drawn log-uniform
    ratio_weights: tuple[float, float, float] = (0.6, 0.25, 0.15)  # of 2:1, 3:1, 4:1
    variable_share: float = 0.4  # share of records with variable conduction


@dataclass(frozen=True)
class FlutterParams:
    rate_hz: float
    wobble_hz: float  # frequency deviation of the slow wobble
    wobble_rate_hz: float
    harmonics: int
    noise_fraction: float
    rms_uv: float
    variable: bool
    ratio: int  # the fixed ratio (variable records draw per beat around it)
    av_delay_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def draw_flutter_params(rng: np.random.Generator, ranges: FlutterRanges = FlutterRanges()) -> FlutterParams:
    lo, hi = ranges.rms_uv
    weights = np.asarray(ranges.ratio_weights, dtype=float)
    return FlutterParams(
        rate_hz=float(rng.uniform(*ranges.rate_hz)),
        wobble_hz=float(rng.uniform(0.01, 0.06)),
        wobble_rate_hz=float(rng.uniform(0.05, 0.2)),
        harmonics=int(rng.integers(3, 7)),
        noise_fraction=float(rng.uniform(0.03, 0.1)),
        rms_uv=float(np.exp(rng.uniform(np.log(lo), np.log(hi)))),
        variable=bool(rng.random() < ranges.variable_share),
        ratio=int(rng.choice(RATIOS, p=weights / weights.sum())),
        av_delay_s=float(rng.uniform(0.16, 0.28)),
    )


def flutter_waves(params: FlutterParams, n: int, fs: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(F waves in mV (n,) float64 with RMS exactly ``rms_uv``, F-wave times in s).

    The times cover [-1, n/fs + 1] s: the phase is extended a second on each side.
    """
    pad = int(fs)
    t = (np.arange(n + 2 * pad) - pad) / fs
    theta = (2 * np.pi * params.rate_hz * t
             + (params.wobble_hz / params.wobble_rate_hz) * np.sin(2 * np.pi * params.wobble_rate_hz * t
                                                                    + rng.uniform(0, 2 * np.pi))
             + rng.uniform(0, 2 * np.pi))
    saw = np.zeros(t.size)
    for i in range(1, params.harmonics + 1):
        if i * (params.rate_hz + params.wobble_hz) >= fs / 2:
            break
        # Phases near 0 keep every harmonic aligned: a sharp sawtooth, as flutter's F waves are.
        saw += (2.0 / (i * np.pi)) * np.sin(i * theta + rng.uniform(-0.15, 0.15))
    saw = saw[pad:pad + n]
    saw /= _rms(saw)
    wave = saw + params.noise_fraction * _band_noise(n, fs, params.rate_hz, rng)
    wave *= params.rms_uv * 1e-3 / _rms(wave)
    # F-wave times: where theta passes a multiple of 2 pi (theta rises monotonically).
    cycles = theta / (2 * np.pi)
    ks = np.arange(np.ceil(cycles[0]), np.floor(cycles[-1]) + 1)
    times = np.interp(ks, cycles, t)
    return wave, times


def conducted_beats(params: FlutterParams, f_times: np.ndarray, rng: np.random.Generator,
                    ranges: FlutterRanges = FlutterRanges()) -> tuple[np.ndarray, np.ndarray]:
    """(R times in s, index into ``f_times`` of the F wave each QRS follows)."""
    weights = np.asarray(ranges.ratio_weights, dtype=float)
    weights = weights / weights.sum()
    k = int(rng.integers(0, params.ratio))
    r_times, conducted = [], []
    while k < f_times.size:
        r_times.append(f_times[k] + params.av_delay_s + 0.004 * rng.standard_normal())
        conducted.append(k)
        k += int(rng.choice(RATIOS, p=weights)) if params.variable else params.ratio
    return np.asarray(r_times), np.asarray(conducted, dtype=np.int64)
