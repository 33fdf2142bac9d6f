"""Average beat subtraction: exact on a constructed ECG, better than doing nothing on synthetic AF,
and usable on a real AF record."""

import csv

import numpy as np
import pytest

from afkd.training.abs_baseline import average_beat_subtraction, detect_r_peaks
from afkd.training.data.synth import SynthConfig, synthesize_record
from afkd.training.data.synth_noise import NoiseLevels
from afkd.training.metrics import snr_db, spectral_concentration
from conftest import require_shared_data

FS = 250.0


def gaussian_beat(fs: float) -> np.ndarray:
    """A QRST-like beat: R at sample 50 (0.2 s), T wave 0.3 s later; 0.7 s long."""
    t = np.arange(int(0.7 * fs)) / fs - 0.2
    return 1.2 * np.exp(-(t / 0.012) ** 2) - 0.2 * np.exp(-((t + 0.03) / 0.01) ** 2) + 0.3 * np.exp(-((t - 0.3) / 0.05) ** 2)


def test_identical_beats_are_removed_and_the_fwave_kept():
    rng = np.random.default_rng(0)
    n = int(40 * FS)
    peaks = np.cumsum(rng.integers(int(0.75 * FS), int(1.0 * FS), size=60)) + 100
    peaks = peaks[peaks < n - 200]
    beat = gaussian_beat(FS)
    va = np.zeros(n)
    for r in peaks:
        va[r - 50 : r - 50 + beat.size] += beat
    t = np.arange(n) / FS
    aa = 0.05 * np.sin(2 * np.pi * 5.7 * t)
    aa_hat, va_hat = average_beat_subtraction(aa + va, FS, peaks=peaks)
    inner = slice(int(peaks[0]), int(peaks[-1]))  # the first beat window starts before its template reach
    assert snr_db(aa[inner], aa_hat[inner]) > 10.0
    assert snr_db(va[inner], va_hat[inner]) > 20.0
    assert np.allclose(aa_hat + va_hat, aa + va, atol=1e-5)  # the two estimates split the ECG


@pytest.mark.parametrize("noisy", [False, True])
def test_abs_beats_the_trivial_estimate_on_synthetic_af(noisy):
    config = SynthConfig() if noisy else SynthConfig(noise=NoiseLevels(0, 0, 0, 0, 0))
    for index in range(3):
        rec = synthesize_record(index, 30.0, FS, seed=3, config=config)
        aa_hat, va_hat = average_beat_subtraction(rec["ecg"], FS)
        trivial = snr_db(rec["aa"], rec["ecg"])  # "the ECG is the f-wave"
        assert snr_db(rec["aa"], aa_hat) > trivial + 3.0, index


def test_xqrs_finds_about_the_synthetic_beat_count():
    rec = synthesize_record(1, 30.0, FS, seed=3, config=SynthConfig(noise=NoiseLevels(0, 0, 0, 0, 0)))
    beats = rec["params"]["qrst"]["beats"]
    assert abs(len(detect_r_peaks(rec["ecg"], FS)) - beats) <= 2


def test_without_beats_the_ecg_is_returned():
    x = np.random.default_rng(1).standard_normal(1000).astype(np.float32) * 0.01
    aa_hat, va_hat = average_beat_subtraction(x, FS, peaks=np.array([500]))
    assert np.array_equal(aa_hat, x) and not va_hat.any()
    assert detect_r_peaks(np.zeros(100), FS).size == 0  # too short to learn from


def test_real_cinc_af_record_gives_a_finite_sc():
    from afkd.training.data.preprocess import preprocess
    from afkd.training.data.wfdb_io import read_lead

    folder = require_shared_data("cinc2017")
    with open(folder / "REFERENCE.csv") as f:
        af = [row[0] for row in csv.reader(f) if row[1] == "A"]
    assert af, "REFERENCE.csv lists no AF record"
    lead = read_lead(folder / af[0])
    ecg = preprocess(lead.signal, lead.fs, FS)  # 300 Hz -> 250 Hz, 0.01 Hz high-pass
    peaks = detect_r_peaks(ecg, FS)
    assert peaks.size > 5
    aa_hat, va_hat = average_beat_subtraction(ecg, FS, peaks=peaks)
    sc = spectral_concentration(aa_hat, FS)
    assert np.isfinite(sc) and 0.0 < sc < 1.0
    assert np.sum(aa_hat**2) < 0.5 * np.sum(ecg**2)  # most of the energy (the QRST) went out
