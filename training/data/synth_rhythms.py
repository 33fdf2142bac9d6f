"""The rhythms a wearable meets, each with its atrial (aa) and ventricular (va) truth.

=================  =====  ==================================================================
rhythm             label  atrial truth (aa)
=================  =====  ==================================================================
sinus              N      P-wave train, steady rate
sinus_arrhythmia   N      P-wave train, rate following respiration (RR varies 6-20 %)
ectopy             O      sinus P waves plus premature atrial P waves; PVCs have none
flutter            O      regular F waves at 4-6 Hz, fixed or variable conduction
af                 A      f-waves (extended sawtooth model), coarse to fine
af_fine            A      f-waves under 20 uV
noise              ~      a sinus or AF rhythm under heavy noise, with lead-off stretches
=================  =====  ==================================================================

``label`` keeps the dataset's meaning (A/N/O/~, as CinC 2017); ``rhythm`` is the finer name.
In a lead-off stretch the electrode sees no heart at all: aa = va = 0 there and the ECG is the
noise alone (a rail or a flat line with a little hum), so what an extractor should output there
is nothing. Every rhythm keeps ``ecg = aa + va + noise``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from afkd.errors import AfkdError
from afkd.training.data.synth_flutter import FlutterRanges, conducted_beats, draw_flutter_params, flutter_waves
from afkd.training.data.synth_fwaves import FwaveRanges, draw_fwave_params, fwaves
from afkd.training.data.synth_noise import NoiseLevels, NoiseParams, draw_noise_params, noise
from afkd.training.data.synth_qrst import RhythmRanges, draw_qrst_params, qrst, render_beats
from afkd.training.data.synth_sinus import (ECTOPY, SINUS, SINUS_ARRHYTHMIA, R_PVC, SinusRanges,
                                            draw_sinus_params, p_waves, sinus_events)

RHYTHM_LABELS = {"sinus": "N", "sinus_arrhythmia": "N", "ectopy": "O", "flutter": "O",
                 "af": "A", "af_fine": "A", "noise": "~"}
RHYTHMS = tuple(RHYTHM_LABELS)
# Named mixtures for --rhythms. "mix" is what the shipped students were fine-tuned on: AF keeps
# 57 % (the AF figure must not drop; at 45 % it fell 0.7 dB), the other rhythms share the rest.
MIXTURES = {
    "af": {"af": 1.0},
    "mix": {"sinus": 0.14, "sinus_arrhythmia": 0.06, "ectopy": 0.09, "flutter": 0.07, "af": 0.45,
            "af_fine": 0.12, "noise": 0.07},
}
_MIX_STREAM = 7  # the rhythm of record i comes from its own stream: (seed, i, 7)


@dataclass(frozen=True)
class NoisyRecord:
    """The ``noise`` rhythm: per record each level is drawn in [lo, 1] x its maximum."""

    levels: NoiseLevels = NoiseLevels(baseline_mv=1.0, emg_mv=0.15, powerline_mv=0.05,
                                      motion_per_minute=10.0, motion_mv=2.0)
    lowest_share: float = 0.3
    leadoff_stretches: tuple[int, int] = (1, 3)  # inclusive
    leadoff_seconds: tuple[float, float] = (1.0, 4.0)
    af_share: float = 0.4  # the underlying rhythm: AF, else sinus


@dataclass(frozen=True)
class RhythmConfig:
    """Amplitudes and shapes of the non-AF rhythms (the AF ones are SynthConfig's)."""

    p_wave_mv: tuple[float, float] = (0.05, 0.25)
    flutter: FlutterRanges = field(default_factory=FlutterRanges)
    fine_af_rms_uv: tuple[float, float] = (5.0, 20.0)
    noisy: NoisyRecord = field(default_factory=NoisyRecord)


def parse_mixture(spec: str) -> dict[str, float]:
    """``af``, ``mix`` or ``name=weight,...`` -> {rhythm: probability} (weights normalised)."""
    if spec in MIXTURES:
        weights = dict(MIXTURES[spec])
    else:
        weights = {}
        for part in spec.split(","):
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in RHYTHM_LABELS:
                raise AfkdError(f"--rhythms {spec}: unknown rhythm {name!r} (known: {', '.join(RHYTHMS)}; "
                                f"or a mixture: {', '.join(MIXTURES)})")
            try:
                weights[name] = float(value) if value else 1.0
            except ValueError:
                raise AfkdError(f"--rhythms {spec}: weight {value!r} of {name} is not a number") from None
    total = sum(weights.values())
    if any(w < 0 for w in weights.values()) or not total > 0:
        raise AfkdError(f"--rhythms {spec}: weights must be >= 0 and not all 0")
    return {name: w / total for name, w in weights.items() if w > 0}


def choose_rhythm(mixture: dict[str, float], seed: int, index: int) -> str:
    """The rhythm of record ``index``: depends on (seed, index) and the mixture only."""
    names = list(mixture)
    if len(names) == 1:
        return names[0]
    rng = np.random.default_rng([seed, index, _MIX_STREAM])
    return str(rng.choice(names, p=np.asarray([mixture[n] for n in names])))


def _events_json(events: dict) -> dict:
    return {k: np.asarray(v).tolist() for k, v in events.items()}


def af_record(rng, n, fs, fw_ranges: FwaveRanges, qrst_ranges: RhythmRanges, noise_levels: NoiseLevels):
    """AF exactly as the AF-only generator draws it (so ``--rhythms af`` keeps its records)."""
    fw = draw_fwave_params(rng, fw_ranges)
    qp = draw_qrst_params(rng, qrst_ranges)
    npar = draw_noise_params(rng, noise_levels, n / fs)
    aa = fwaves(fw, n, fs, rng)
    va, beats = qrst(qp, n, fs, rng)
    nz = noise(npar, n, fs, rng)
    return aa, va, nz, {"fwaves": fw.to_dict(), "qrst": {**qp.to_dict(), **beats}, "noise": npar.to_dict()}


def sinus_record(rng, n, fs, ranges: SinusRanges, p_wave_mv, qrst_ranges: RhythmRanges, noise_levels: NoiseLevels):
    ranges = SinusRanges(**{**asdict(ranges), "p_amplitude_mv": tuple(p_wave_mv)})
    qp = draw_qrst_params(rng, qrst_ranges)  # morphologies (its AF rate and PVC rate are unused)
    sp = draw_sinus_params(rng, ranges)
    npar = draw_noise_params(rng, noise_levels, n / fs)
    events = sinus_events(sp, n / fs, rng)
    aa = p_waves(sp, events["p_times"], events["p_kinds"], n, fs, rng)
    va = render_beats(qp, events["r_times"], events["r_kinds"] == R_PVC, n, fs, rng)
    nz = noise(npar, n, fs, rng)
    return aa, va, nz, {"sinus": sp.to_dict(), "qrst": qp.to_dict(), "noise": npar.to_dict(),
                        "events": _events_json(events)}


def flutter_record(rng, n, fs, ranges: FlutterRanges, qrst_ranges: RhythmRanges, noise_levels: NoiseLevels):
    qp = draw_qrst_params(rng, qrst_ranges)
    fp = draw_flutter_params(rng, ranges)
    npar = draw_noise_params(rng, noise_levels, n / fs)
    aa, f_times = flutter_waves(fp, n, fs, rng)
    r_times, conducted = conducted_beats(fp, f_times, rng, ranges)
    va = render_beats(qp, r_times, np.zeros(r_times.size, dtype=bool), n, fs, rng)
    nz = noise(npar, n, fs, rng)
    events = {"f_times": f_times, "r_times": r_times, "conducted_f": conducted}
    return aa, va, nz, {"flutter": fp.to_dict(), "qrst": qp.to_dict(), "noise": npar.to_dict(),
                        "events": _events_json(events)}


def noisy_record(rng, n, fs, config: RhythmConfig, fw_ranges: FwaveRanges, qrst_ranges: RhythmRanges):
    """A sinus or AF record under heavy noise, with lead-off stretches (aa = va = 0 there)."""
    nr = config.noisy
    under = "af" if rng.random() < nr.af_share else "sinus"
    if under == "af":
        aa, va, nz, params = af_record(rng, n, fs, fw_ranges, qrst_ranges, NoiseLevels(0, 0, 0, 0, 0))
    else:
        aa, va, nz, params = sinus_record(rng, n, fs, SINUS, config.p_wave_mv, qrst_ranges, NoiseLevels(0, 0, 0, 0, 0))
    npar = _at_least(draw_noise_params(rng, nr.levels, n / fs), nr.levels, nr.lowest_share)
    nz = noise(npar, n, fs, rng)
    stretches = []
    count = int(rng.integers(nr.leadoff_stretches[0], nr.leadoff_stretches[1] + 1))
    part = n // count  # one stretch in each of `count` equal parts: they never overlap
    for k in range(count):
        length = min(part, int(rng.uniform(*nr.leadoff_seconds) * fs))
        start = k * part + int(rng.integers(0, part - length + 1))
        rail = 0.0 if rng.random() < 0.5 else float(rng.uniform(-3.0, 3.0))  # flat line or a rail
        hum = 0.01 * np.sin(2 * np.pi * npar.powerline_hz * np.arange(length) / fs + rng.uniform(0, 2 * np.pi))
        aa[start:start + length] = 0.0
        va[start:start + length] = 0.0
        nz[start:start + length] = rail + hum
        stretches.append([start / fs, (start + length) / fs])
    params.update(underlying=under, noise=npar.to_dict(), leadoff_s=stretches)
    return aa, va, nz, params


def _at_least(p: NoiseParams, levels: NoiseLevels, share: float) -> NoiseParams:
    """Noise params drawn in [0, max] moved into [share, 1] x max: a noisy record is noisy."""
    lift = lambda value, top: share * top + (1 - share) * value  # noqa: E731
    return NoiseParams(baseline_mv=lift(p.baseline_mv, levels.baseline_mv), emg_mv=lift(p.emg_mv, levels.emg_mv),
                       powerline_mv=lift(p.powerline_mv, levels.powerline_mv), powerline_hz=p.powerline_hz,
                       motion_bursts=max(1, p.motion_bursts), motion_mv=p.motion_mv,
                       tremor_mv=lift(p.tremor_mv, levels.tremor_mv), tremor_hz=p.tremor_hz)


def rhythm_record(rhythm: str, rng: np.random.Generator, n: int, fs: float, fw_ranges: FwaveRanges,
                  qrst_ranges: RhythmRanges, noise_levels: NoiseLevels, config: RhythmConfig):
    """(aa, va, noise) float64 (n,) mV and the params dict of one record of ``rhythm``."""
    if rhythm == "af":
        return af_record(rng, n, fs, fw_ranges, qrst_ranges, noise_levels)
    if rhythm == "af_fine":
        fine = FwaveRanges(**{**asdict(fw_ranges), "rms_uv": tuple(config.fine_af_rms_uv)})
        return af_record(rng, n, fs, fine, qrst_ranges, noise_levels)
    if rhythm in ("sinus", "sinus_arrhythmia", "ectopy"):
        ranges = {"sinus": SINUS, "sinus_arrhythmia": SINUS_ARRHYTHMIA, "ectopy": ECTOPY}[rhythm]
        return sinus_record(rng, n, fs, ranges, config.p_wave_mv, qrst_ranges, noise_levels)
    if rhythm == "flutter":
        return flutter_record(rng, n, fs, config.flutter, qrst_ranges, noise_levels)
    if rhythm == "noise":
        return noisy_record(rng, n, fs, config, fw_ranges, qrst_ranges)
    raise AfkdError(f"unknown rhythm {rhythm!r} (known: {', '.join(RHYTHMS)})")
