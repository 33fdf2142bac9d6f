"""Atrial activity (f-waves) of atrial fibrillation: the extended sawtooth model.

The model follows Stridh and Sornmo (2001): a sawtooth-like wave written as a sum of
harmonics whose phase carries a slow sinusoidal frequency modulation and whose
amplitude carries a slow amplitude modulation,

    aa(t) = sum_i  a_i(t) sin(i * theta(t) + phi_i)
    theta(t) = 2 pi f0 t + (df / fm) sin(2 pi fm t)       (instantaneous f = f0 + df cos(2 pi fm t))
    a_i(t)   = (2 / (i pi)) * (1 + da sin(2 pi fa t + psi_i))

A sawtooth's harmonics fall as 1/i; the per-harmonic phase phi_i and modulation phase
psi_i vary the shape between records. Band-limited noise around f0 makes the spectrum
less line-like, as real f-waves are. The sum is scaled to a drawn RMS so that fine
(15 uV) and coarse (150 uV) AF are both present.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class FwaveRanges:
    """Ranges the per-record f-wave parameters are drawn from (uniform unless said)."""

    f0_hz: tuple[float, float] = (3.0, 9.0)  # dominant atrial frequency
    fm_dev_hz: tuple[float, float] = (0.1, 0.4)  # frequency deviation of the FM
    fm_rate_hz: tuple[float, float] = (0.1, 0.5)  # how fast f0 wanders
    harmonics: tuple[int, int] = (3, 5)  # inclusive
    am_depth: tuple[float, float] = (0.1, 0.5)  # relative amplitude modulation depth
    am_rate_hz: tuple[float, float] = (0.05, 0.3)
    noise_fraction: tuple[float, float] = (0.1, 0.3)  # band noise RMS / sawtooth RMS
    rms_uv: tuple[float, float] = (15.0, 150.0)  # drawn log-uniform: fine AF is common


@dataclass(frozen=True)
class FwaveParams:
    f0_hz: float
    fm_dev_hz: float
    fm_rate_hz: float
    harmonics: int
    am_depth: float
    am_rate_hz: float
    noise_fraction: float
    rms_uv: float

    def to_dict(self) -> dict:
        return asdict(self)


def draw_fwave_params(rng: np.random.Generator, ranges: FwaveRanges = FwaveRanges()) -> FwaveParams:
    lo, hi = ranges.rms_uv
    return FwaveParams(
        f0_hz=float(rng.uniform(*ranges.f0_hz)),
        fm_dev_hz=float(rng.uniform(*ranges.fm_dev_hz)),
        fm_rate_hz=float(rng.uniform(*ranges.fm_rate_hz)),
        harmonics=int(rng.integers(ranges.harmonics[0], ranges.harmonics[1] + 1)),
        am_depth=float(rng.uniform(*ranges.am_depth)),
        am_rate_hz=float(rng.uniform(*ranges.am_rate_hz)),
        noise_fraction=float(rng.uniform(*ranges.noise_fraction)),
        rms_uv=float(np.exp(rng.uniform(np.log(lo), np.log(hi)))),
    )


def fwaves(params: FwaveParams, n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """f-wave signal in mV, shape (n,), float64, with RMS exactly ``params.rms_uv``."""
    t = np.arange(n) / fs
    fm_phase = rng.uniform(0, 2 * np.pi)
    theta = (
        2 * np.pi * params.f0_hz * t
        + (params.fm_dev_hz / params.fm_rate_hz) * np.sin(2 * np.pi * params.fm_rate_hz * t + fm_phase)
        + rng.uniform(0, 2 * np.pi)
    )
    saw = np.zeros(n)
    for i in range(1, params.harmonics + 1):
        # Harmonics above Nyquist would alias into the band; drop them.
        if i * (params.f0_hz + params.fm_dev_hz) >= fs / 2:
            break
        envelope = 1.0 + params.am_depth * np.sin(
            2 * np.pi * params.am_rate_hz * t + rng.uniform(0, 2 * np.pi)
        )
        saw += (2.0 / (i * np.pi)) * envelope * np.sin(i * theta + rng.uniform(-0.3, 0.3))
    saw /= _rms(saw)
    band = _band_noise(n, fs, params.f0_hz, rng)
    aa = saw + params.noise_fraction * band
    return aa * (params.rms_uv * 1e-3 / _rms(aa))


def _band_noise(n: int, fs: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise in f0 +- 1 Hz, shape (n,)."""
    lo, hi = max(f0 - 1.0, 0.5), min(f0 + 1.0, 0.45 * fs)
    sos = signal.butter(2, [lo, hi], btype="bandpass", fs=fs, output="sos")
    band = signal.sosfiltfilt(sos, rng.standard_normal(n))
    return band / max(_rms(band), 1e-12)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))
