"""Recording noise: baseline wander, EMG-like muscle noise, power line, electrode motion, tremor.

Tremor is noise inside the atrial band (3-12 Hz): the one noise an f-wave extractor can mistake
for f-waves, and the one that teaches it not to where the rhythm shows P waves. It is drawn only
when its level is above 0, so records made without it are the same as before it existed.

Each level in :class:`NoiseLevels` is an upper bound: per record the actual level is
drawn uniformly between 0 and it, so a dataset spans clean to noisy records. A level
of 0 turns that noise off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class NoiseLevels:
    baseline_mv: float = 0.2  # peak amplitude of respiration/movement baseline wander
    emg_mv: float = 0.02  # RMS of muscle noise (20 Hz up to Nyquist)
    powerline_mv: float = 0.02  # amplitude of the 50/60 Hz sinusoid
    motion_per_minute: float = 0.0  # expected electrode-motion bursts per minute (0: none)
    motion_mv: float = 0.5  # peak amplitude of a motion burst
    tremor_mv: float = 0.0  # RMS of 3-12 Hz tremor-like noise (0: none)


@dataclass(frozen=True)
class NoiseParams:
    baseline_mv: float
    emg_mv: float
    powerline_mv: float
    powerline_hz: float
    motion_bursts: int
    motion_mv: float
    tremor_mv: float = 0.0
    tremor_hz: float = 0.0  # centre of its 4 Hz wide band

    def to_dict(self) -> dict:
        return asdict(self)


def draw_noise_params(rng: np.random.Generator, levels: NoiseLevels, seconds: float) -> NoiseParams:
    return NoiseParams(
        baseline_mv=float(rng.uniform(0, levels.baseline_mv)),
        emg_mv=float(rng.uniform(0, levels.emg_mv)),
        powerline_mv=float(rng.uniform(0, levels.powerline_mv)),
        powerline_hz=50.0 if rng.random() < 0.5 else 60.0,
        motion_bursts=int(rng.poisson(levels.motion_per_minute * seconds / 60.0)),
        motion_mv=float(levels.motion_mv),
        # drawn after everything else and only when asked for: records without tremor keep their draws
        **({"tremor_mv": float(rng.uniform(0, levels.tremor_mv)), "tremor_hz": float(rng.uniform(5.0, 10.0))}
           if levels.tremor_mv > 0 else {}),
    )


def noise(params: NoiseParams, n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """The sum of all noise sources in mV, shape (n,), float64."""
    t = np.arange(n) / fs
    out = np.zeros(n)
    if params.baseline_mv > 0:
        # A few slow sinusoids (respiration 0.15-0.5 Hz, slower drift below).
        freqs = rng.uniform([0.05, 0.15, 0.3], [0.15, 0.3, 0.5])
        weights = rng.dirichlet(np.ones(3))
        for f, w in zip(freqs, weights):
            out += params.baseline_mv * w * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    if params.emg_mv > 0 and fs / 2 > 25:
        sos = signal.butter(2, 20.0, btype="highpass", fs=fs, output="sos")
        emg = signal.sosfilt(sos, rng.standard_normal(n))
        # Muscle noise comes and goes with contraction: a slow random envelope.
        envelope = 0.5 + np.abs(_slow_noise(n, fs, 0.5, rng))
        emg *= envelope
        out += emg * (params.emg_mv / max(float(np.sqrt(np.mean(emg**2))), 1e-12))
    if params.powerline_mv > 0:
        out += params.powerline_mv * np.sin(2 * np.pi * params.powerline_hz * t + rng.uniform(0, 2 * np.pi))
    for _ in range(params.motion_bursts):
        out += _motion_burst(n, fs, params.motion_mv, rng)
    if params.tremor_mv > 0:
        sos = signal.butter(2, [params.tremor_hz - 2.0, min(params.tremor_hz + 2.0, 0.45 * fs)], btype="bandpass",
                            fs=fs, output="sos")
        tremor = signal.sosfiltfilt(sos, rng.standard_normal(n)) * (0.3 + np.abs(_slow_noise(n, fs, 0.3, rng)))
        out += tremor * (params.tremor_mv / max(float(np.sqrt(np.mean(tremor**2))), 1e-12))
    return out


def _slow_noise(n: int, fs: float, cutoff_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise below ``cutoff_hz``."""
    sos = signal.butter(2, cutoff_hz, btype="lowpass", fs=fs, output="sos")
    x = signal.sosfiltfilt(sos, rng.standard_normal(n))
    return x / max(float(np.sqrt(np.mean(x**2))), 1e-12)


def _motion_burst(n: int, fs: float, peak_mv: float, rng: np.random.Generator) -> np.ndarray:
    """One 0.5-2 s burst of 1-10 Hz noise under a Hann window, at a random place."""
    length = min(n, int(rng.uniform(0.5, 2.0) * fs))
    start = int(rng.integers(0, n - length + 1))
    sos = signal.butter(2, [1.0, min(10.0, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    burst = signal.sosfiltfilt(sos, rng.standard_normal(length + 2 * int(fs)))[int(fs):int(fs) + length]
    burst *= np.hanning(length)
    burst *= rng.uniform(0.3, 1.0) * peak_mv / max(float(np.max(np.abs(burst))), 1e-12)
    out = np.zeros(n)
    out[start:start + length] = burst
    return out
