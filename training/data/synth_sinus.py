"""Sinus rhythms with their P waves: sinus, sinus arrhythmia, and sinus with premature beats.

Here the atria contract in order, and the atrial activity the extractor must recover is the
train of P waves. The sinus node fires at times ``p`` (the P-wave centre); each sinus P that
is conducted is followed by a QRS at ``p + pr`` (``pr``: P centre to R peak, per record, a few
ms of jitter per beat). The node's cycle length follows respiration (sinus arrhythmia when
the modulation is deep) plus a little noise.

Premature beats (the "ectopy" rhythm):
- a premature atrial contraction (PAC) is an early P of another morphology (another focus),
  at ``coupling * RR`` after the sinus P before it; it conducts (a QRS ``pr`` later, a little
  longer) and resets the sinus node, so the next sinus P comes one cycle after the PAC;
- a premature ventricular contraction (PVC) is an early wide QRS with no P of its own, at
  ``coupling * RR`` after the R before it. The sinus node does not notice: the next sinus P
  comes on time (it is part of the atrial truth even where the PVC hides it) but finds the
  ventricles refractory and is not conducted; the P after it conducts (a compensatory pause).

Times are in seconds and cover [-1, seconds + 1] so that waves straddling the ends are whole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

P_SINUS, P_PAC = "sinus", "pac"
R_NORMAL, R_PVC = "normal", "pvc"


@dataclass(frozen=True)
class SinusRanges:
    """Ranges the per-record parameters are drawn from (uniform)."""

    hr_bpm: tuple[float, float] = (55.0, 100.0)
    resp_depth: tuple[float, float] = (0.0, 0.03)  # relative RR modulation by respiration
    rr_noise: tuple[float, float] = (0.005, 0.02)  # relative RR noise per cycle
    p_amplitude_mv: tuple[float, float] = (0.05, 0.25)  # peak of the P wave
    pac_probability: tuple[float, float] = (0.0, 0.0)  # per sinus cycle
    pvc_probability: tuple[float, float] = (0.0, 0.0)


SINUS = SinusRanges()
SINUS_ARRHYTHMIA = SinusRanges(hr_bpm=(50.0, 90.0), resp_depth=(0.06, 0.2))
ECTOPY = SinusRanges(pac_probability=(0.04, 0.15), pvc_probability=(0.04, 0.15))


@dataclass(frozen=True)
class PShape:
    """A P wave: a Gaussian (amplitude mV, sigma s) and an optional second lobe after it
    (relative amplitude, negative for a biphasic P; offset from the first lobe in s)."""

    amplitude_mv: float
    width_s: float
    lobe2: float
    lobe2_offset_s: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SinusParams:
    hr_bpm: float
    resp_depth: float
    resp_hz: float
    rr_noise: float
    pr_s: float  # P centre to R peak
    pac_probability: float
    pvc_probability: float
    pac_coupling: tuple[float, float]  # range of the PAC's early fraction of the cycle
    pvc_coupling: tuple[float, float]
    sinus_p: PShape
    pac_p: PShape

    def to_dict(self) -> dict:
        return asdict(self)


def _p_shape(rng: np.random.Generator, amplitude: float) -> PShape:
    two_lobes = rng.random() < 0.3  # notched (same sign) or biphasic (opposite) P waves
    return PShape(amplitude_mv=amplitude, width_s=float(rng.uniform(0.018, 0.03)),
                  lobe2=float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.5)) if two_lobes else 0.0,
                  lobe2_offset_s=float(rng.uniform(0.03, 0.05)))


def draw_sinus_params(rng: np.random.Generator, ranges: SinusRanges = SINUS) -> SinusParams:
    amplitude = float(rng.uniform(*ranges.p_amplitude_mv))
    sinus_p = _p_shape(rng, amplitude)
    # An ectopic focus: another amplitude and width, sometimes inverted (a low atrial focus).
    pac_amp = amplitude * float(rng.uniform(0.5, 1.1)) * (-1.0 if rng.random() < 0.3 else 1.0)
    return SinusParams(
        hr_bpm=float(rng.uniform(*ranges.hr_bpm)),
        resp_depth=float(rng.uniform(*ranges.resp_depth)),
        resp_hz=float(rng.uniform(0.15, 0.35)),
        rr_noise=float(rng.uniform(*ranges.rr_noise)),
        pr_s=float(rng.uniform(0.13, 0.22)),
        pac_probability=float(rng.uniform(*ranges.pac_probability)),
        pvc_probability=float(rng.uniform(*ranges.pvc_probability)),
        pac_coupling=(0.55, 0.8),
        pvc_coupling=(0.45, 0.7),
        sinus_p=sinus_p,
        pac_p=_p_shape(rng, pac_amp),
    )


def sinus_events(params: SinusParams, seconds: float, rng: np.random.Generator) -> dict:
    """The rhythm's events: P times and kinds, R times and kinds (see the module docstring).

    Returns ``p_times`` (s), ``p_kinds`` (sinus/pac), ``p_conducted`` (bool), ``r_times`` (s),
    ``r_kinds`` (normal/pvc) as NumPy arrays, each list in time order.
    """
    mean_rr = 60.0 / params.hr_bpm
    phase = rng.uniform(0, 2 * np.pi)

    def cycle(t: float) -> float:  # the sinus node's cycle length starting at t
        resp = 1.0 + params.resp_depth * np.sin(2 * np.pi * params.resp_hz * t + phase)
        return float(mean_rr * resp * (1.0 + params.rr_noise * rng.standard_normal()))

    p_times, p_kinds, p_conducted, r_times, r_kinds = [], [], [], [], []
    blocked = False  # the next sinus P meets ventricles still refractory from a PVC
    ectopic_before = False  # no two premature beats in a row
    t = -float(rng.uniform(0.0, mean_rr)) - 0.5
    while t < seconds + 1.0:
        rr = cycle(t)
        p_times.append(t)
        p_kinds.append(P_SINUS)
        p_conducted.append(not blocked)
        if not blocked:
            r_times.append(t + params.pr_s + 0.004 * rng.standard_normal())
            r_kinds.append(R_NORMAL)
        blocked = False
        next_p = t + rr
        u = rng.random()
        if not ectopic_before and u < params.pac_probability:
            tp = t + rr * float(rng.uniform(*params.pac_coupling))
            p_times.append(tp)
            p_kinds.append(P_PAC)
            p_conducted.append(True)
            r_times.append(tp + params.pr_s * float(rng.uniform(1.0, 1.2)))
            r_kinds.append(R_NORMAL)
            next_p = tp + cycle(tp)  # the PAC resets the sinus node
            ectopic_before = True
        elif not ectopic_before and u < params.pac_probability + params.pvc_probability:
            r_times.append(r_times[-1] + rr * float(rng.uniform(*params.pvc_coupling)) if r_times
                           else t + params.pr_s + 0.5 * rr)
            r_kinds.append(R_PVC)
            blocked = True  # the next sinus P falls in the PVC's refractory period
            ectopic_before = True
        else:
            ectopic_before = False
        t = next_p
    order = np.argsort(p_times, kind="stable")
    return {
        "p_times": np.asarray(p_times)[order], "p_kinds": np.asarray(p_kinds)[order],
        "p_conducted": np.asarray(p_conducted, dtype=bool)[order],
        "r_times": np.asarray(r_times), "r_kinds": np.asarray(r_kinds),
    }


def p_waves(params: SinusParams, p_times: np.ndarray, p_kinds: np.ndarray, n: int, fs: float,
            rng: np.random.Generator) -> np.ndarray:
    """The P-wave train in mV, shape (n,), float64: one P of its kind's shape at each time,
    amplitude and width jittered by a few percent per beat."""
    aa = np.zeros(n)
    half = int(0.25 * fs)
    window = np.arange(-half, half + 1)
    for t_p, kind in zip(p_times, p_kinds):
        shape = params.pac_p if kind == P_PAC else params.sinus_p
        amp = shape.amplitude_mv * (1.0 + 0.04 * rng.standard_normal())
        width = shape.width_s * (1.0 + 0.03 * rng.standard_normal())
        idx = int(round(t_p * fs)) + window
        keep = (idx >= 0) & (idx < n)
        if not keep.any():
            continue
        dt = (idx[keep] - t_p * fs) / fs
        wave = np.exp(-0.5 * (dt / width) ** 2)
        if shape.lobe2:
            wave += shape.lobe2 * np.exp(-0.5 * ((dt - shape.lobe2_offset_s) / (0.8 * width)) ** 2)
        aa[idx[keep]] += amp * wave
    return aa
