"""SNR, NMSE and spectral concentration against signals whose answers are known in closed form."""

import math

import numpy as np
import pytest

from afkd.training.metrics import (nmse, paired_difference, segment_metrics, snr_db, spectral_concentration,
                                   summarize)

FS = 250.0


def sine(freq_hz: float, seconds: float = 30.0, amplitude: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


def test_sc_of_a_6_hz_sine_is_near_one_and_of_a_30_hz_sine_near_zero():
    assert spectral_concentration(sine(6.0), FS) > 0.98
    assert spectral_concentration(sine(30.0), FS) < 0.01
    assert spectral_concentration(sine(1.0), FS) < 0.01  # baseline wander is outside the band too


def test_sc_of_white_noise_is_the_band_share_of_the_spectrum():
    x = np.random.default_rng(0).standard_normal(int(300 * FS))
    # Flat spectrum: 3-12 Hz is 9 of the 125 Hz up to Nyquist.
    assert spectral_concentration(x, FS) == pytest.approx(9 / 125, abs=0.01)


def test_sc_works_for_a_segment_shorter_than_the_welch_window():
    assert spectral_concentration(sine(6.0, seconds=2.0), FS) > 0.9


def test_snr_of_a_known_error_equals_the_closed_form():
    s = sine(5.0, amplitude=2.0)  # power 2^2/2 = 2 per sample (whole periods)
    s_hat = s + 0.5  # error power 0.25 per sample
    assert snr_db(s, s_hat) == pytest.approx(10 * math.log10(2.0 / 0.25), abs=1e-6)
    assert nmse(s, s_hat) == pytest.approx(0.25 / 2.0, rel=1e-6)
    assert nmse(s, np.zeros_like(s)) == pytest.approx(1.0)
    assert snr_db(s, np.zeros_like(s)) == pytest.approx(0.0, abs=1e-9)
    assert snr_db(s, s) > 100  # perfect estimate: very large, finite
    with pytest.raises(ValueError):
        snr_db(s, s[:-1])


def test_summary_averages_db_for_snr_and_ratios_for_nmse():
    s = np.ones(100)
    rows = [segment_metrics(s, s + offset, s, FS, aa=s, va=s) for offset in (0.1, math.sqrt(0.1))]
    # Segment SNRs: 20 dB and 10 dB; NMSEs: 0.01 and 0.1.
    out = summarize(rows)
    assert out["snr_aa_db"] == pytest.approx(15.0, abs=1e-6)
    assert out["nmse_aa"] == pytest.approx(0.055, rel=1e-6)
    assert out["segments"] == 2 and out["segments_with_ground_truth"] == 2


def test_segments_without_ground_truth_give_sc_only():
    x = sine(6.0)
    row = segment_metrics(x, x, np.zeros_like(x), FS, aa=np.full_like(x, np.nan), va=np.full_like(x, np.nan))
    assert set(row) == {"sc"}
    out = summarize([row])
    assert out["snr_aa_db"] is None and out["nmse_aa"] is None and out["sc"] > 0.98
    assert out["segments_with_ground_truth"] == 0


def test_paired_difference_against_a_hand_computed_interval():
    # d = 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), t(0.975, 3 dof) = 3.182446
    out = paired_difference([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0])
    half = 3.182446 * math.sqrt(5.0 / 3.0) / 2.0
    assert out["mean"] == pytest.approx(2.5)
    assert (out["low"], out["high"]) == pytest.approx((2.5 - half, 2.5 + half), rel=1e-5)
    assert out["n"] == 4


def test_pairing_separates_a_small_steady_gain_from_large_segment_spread():
    rng = np.random.default_rng(0)
    base = rng.normal(6.0, 3.0, size=200)          # segments differ by several dB
    better = base + 0.2 + rng.normal(0.0, 0.1, size=200)
    out = paired_difference(better, base)
    assert 0.15 < out["low"] < out["mean"] < out["high"] < 0.25
    swapped = paired_difference(base, better)
    assert swapped["high"] < 0
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])
