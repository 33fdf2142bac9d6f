"""Ventricular activity (QRST): a sum-of-Gaussians beat model, and the AF rhythm's beat times.

Each beat is the sum of four Gaussian waves (Q, R, S, T) placed relative to the R peak,
in the spirit of McSharry's ECGSYN but in the time domain. P waves are atrial activity and
live in :mod:`synth_atria`; :func:`beat_times` is the AF rhythm (no P waves), the organised
rhythms time their beats in :mod:`synth_sinus` and :mod:`synth_flutter`. Per record the amplitudes and widths are
drawn (morphology variety); per beat they jitter by a few percent and a respiration-like
modulation scales the amplitudes (beat-to-beat variability). The T wave moves with the
preceding RR interval (a Bazett-like QT ~ sqrt(RR)). Premature ventricular beats (PVCs)
have their own wide morphology, come early and are followed by a compensatory pause.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

WAVES = ("Q", "R", "S", "T")


@dataclass(frozen=True)
class BeatShape:
    """One beat morphology: amplitude (mV), centre offset from R (s) and width sigma (s) per wave."""

    amplitude: tuple[float, float, float, float]
    offset: tuple[float, float, float, float]  # T offset is at RR = 1 s; it scales with sqrt(RR)
    width: tuple[float, float, float, float]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RhythmRanges:
    hr_bpm: tuple[float, float] = (60.0, 150.0)  # mean rate of the record
    rr_cv: tuple[float, float] = (0.12, 0.30)  # AF RR irregularity (coefficient of variation)
    hr_limits_bpm: tuple[float, float] = (50.0, 180.0)  # every single RR stays inside
    pvc_probability: tuple[float, float] = (0.0, 0.06)  # per beat; 0 in many records
    pvc_free_fraction: float = 0.4  # share of records with no PVC at all


@dataclass(frozen=True)
class QrstParams:
    hr_bpm: float
    rr_cv: float
    pvc_probability: float
    jitter: float  # per-beat relative amplitude/width jitter
    resp_hz: float
    resp_depth: float
    normal: BeatShape
    pvc: BeatShape

    def to_dict(self) -> dict:
        return asdict(self)


def draw_qrst_params(rng: np.random.Generator, ranges: RhythmRanges = RhythmRanges()) -> QrstParams:
    r_amp = rng.uniform(0.5, 2.0)
    t_sign = -1.0 if rng.random() < 0.15 else 1.0  # inverted T waves exist
    normal = BeatShape(
        amplitude=(
            -r_amp * rng.uniform(0.02, 0.15),
            r_amp,
            -r_amp * rng.uniform(0.05, 0.4),
            t_sign * r_amp * rng.uniform(0.1, 0.35),
        ),
        offset=(-rng.uniform(0.020, 0.035), 0.0, rng.uniform(0.020, 0.040), rng.uniform(0.22, 0.30)),
        width=(
            rng.uniform(0.006, 0.012),
            rng.uniform(0.008, 0.014),
            rng.uniform(0.008, 0.016),
            rng.uniform(0.040, 0.070),
        ),
    )
    # A PVC: no Q, a broad R of either polarity, a deep broad S, T opposite to the QRS.
    pvc_sign = 1.0 if rng.random() < 0.5 else -1.0
    pvc_amp = r_amp * rng.uniform(1.0, 2.0)
    pvc = BeatShape(
        amplitude=(0.0, pvc_sign * pvc_amp, -pvc_sign * pvc_amp * rng.uniform(0.2, 0.6),
                   -pvc_sign * pvc_amp * rng.uniform(0.2, 0.4)),
        offset=(0.0, 0.0, rng.uniform(0.05, 0.08), rng.uniform(0.28, 0.36)),
        width=(0.01, rng.uniform(0.025, 0.040), rng.uniform(0.025, 0.040), rng.uniform(0.06, 0.09)),
    )
    has_pvc = rng.random() >= ranges.pvc_free_fraction
    return QrstParams(
        hr_bpm=float(rng.uniform(*ranges.hr_bpm)),
        rr_cv=float(rng.uniform(*ranges.rr_cv)),
        pvc_probability=float(rng.uniform(*ranges.pvc_probability)) if has_pvc else 0.0,
        jitter=float(rng.uniform(0.02, 0.05)),
        resp_hz=float(rng.uniform(0.15, 0.4)),
        resp_depth=float(rng.uniform(0.03, 0.12)),
        normal=normal,
        pvc=pvc,
    )


def beat_times(params: QrstParams, seconds: float, rng: np.random.Generator,
               ranges: RhythmRanges = RhythmRanges()) -> tuple[np.ndarray, np.ndarray]:
    """R-peak times (s) covering [-1, seconds + 1] and a boolean PVC flag per beat.

    AF RR intervals are close to uncorrelated, so they are drawn independently
    (gamma-distributed around the mean, clipped to the rate limits).
    """
    mean_rr = 60.0 / params.hr_bpm
    rr_min, rr_max = 60.0 / ranges.hr_limits_bpm[1], 60.0 / ranges.hr_limits_bpm[0]
    shape = 1.0 / params.rr_cv**2
    times, pvc = [], []
    t = -rng.uniform(0.0, mean_rr)
    while t < seconds + 1.0:
        times.append(t)
        is_pvc = bool(rng.random() < params.pvc_probability) and not (pvc and pvc[-1])
        pvc.append(is_pvc)
        if is_pvc:
            # Early beat: the interval before it is short; the one after is long (pause).
            times[-1] = times[-2] + max(rr_min, 0.6 * (t - times[-2])) if len(times) > 1 else t
            t = times[-1] + min(rr_max, 1.6 * mean_rr)
        else:
            t += float(np.clip(rng.gamma(shape, mean_rr / shape), rr_min, rr_max))
    return np.asarray(times), np.asarray(pvc, dtype=bool)


def qrst(params: QrstParams, n: int, fs: float, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Ventricular activity of an AF rhythm in mV, shape (n,), float64, and a summary of the beats."""
    times, is_pvc = beat_times(params, n / fs, rng)
    va = render_beats(params, times, is_pvc, n, fs, rng)
    inside = (times >= 0) & (times < n / fs)
    summary = {"beats": int(inside.sum()), "pvc_beats": int((is_pvc & inside).sum())}
    return va, summary


def render_beats(params: QrstParams, times: np.ndarray, is_pvc: np.ndarray, n: int, fs: float,
                 rng: np.random.Generator) -> np.ndarray:
    """QRST complexes at the R times ``times`` (s; PVC morphology where ``is_pvc``), mV, (n,) float64.

    Any rhythm's ventricular activity: the timing comes from the rhythm, the shapes from ``params``.
    """
    va = np.zeros(n)
    half = int(0.7 * fs)  # a beat's waves fit in R +- 0.7 s even for a slow T
    window = np.arange(-half, half + 1)
    for k, (t_r, pvc) in enumerate(zip(times, is_pvc)):
        shape = params.pvc if pvc else params.normal
        rr = float(np.clip(t_r - times[k - 1], 0.3, 1.2)) if k > 0 else 60.0 / params.hr_bpm
        resp = 1.0 + params.resp_depth * np.sin(2 * np.pi * params.resp_hz * t_r)
        centre = int(round(t_r * fs))
        idx = centre + window
        keep = (idx >= 0) & (idx < n)
        if not keep.any():
            continue
        dt = (idx[keep] - t_r * fs) / fs  # seconds from the exact R time
        beat = np.zeros(dt.shape)
        for w in range(4):
            amp = shape.amplitude[w] * resp * (1 + params.jitter * rng.standard_normal())
            width = shape.width[w] * (1 + 0.5 * params.jitter * rng.standard_normal())
            offset = shape.offset[w] * (np.sqrt(rr) if WAVES[w] == "T" else 1.0)
            beat += amp * np.exp(-0.5 * ((dt - offset) / width) ** 2)
        va[idx[keep]] += beat
    return va
