"""Statistics of an extracted atrial signal, their AUC, and afkd eval per rhythm and per label.

The statistics are checked on signals whose answer is known by construction; the evaluation
on a synthetic mixture where the "extractor" returns the ground truth (its SC must separate AF
from sinus rhythm, which is the premise of the real-data AUC) or a constant f-wave whatever the
rhythm (an extractor that invents f-waves: SC cannot tell AF from sinus, the per-rhythm SNR can).
"""

import json

import numpy as np
import pytest

from afkd import cli
from afkd.host_tools.label_report import firmware_label_report
from afkd.training.atrial_stats import atrial_features, auc, df_and_oi, label_report, qrs_mask, r_peaks_of
from afkd.training.data.synth import SynthConfig, synth_dataset
from afkd.training.evaluate import load_segments, score, wants_label_report

FS = 250.0


def sawtooth(f0, seconds, rms_mv, fs=FS):
    t = np.arange(int(seconds * fs)) / fs
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    return x * rms_mv / np.sqrt(np.mean(x**2))


def p_train(rate_hz, seconds, fs=FS, amp=0.15, sigma=0.025):
    t = np.arange(int(seconds * fs)) / fs
    centres = np.arange(0.3, seconds, 1.0 / rate_hz)
    return sum(amp * np.exp(-0.5 * ((t - c) / sigma) ** 2) for c in centres), centres


def test_dominant_frequency_and_organization_of_known_signals():
    df, oi = df_and_oi(sawtooth(6.0, 30, 0.05), FS)
    assert abs(df - 6.0) <= 0.25 and oi > 0.9  # all the power sits at the DF and its harmonics
    rng = np.random.default_rng(0)
    df_noise, oi_noise = df_and_oi(rng.standard_normal(7500) * 0.05, FS)
    assert 3.0 <= df_noise <= 12.0 and oi_noise < 0.3  # white noise: no organisation
    assert np.isnan(df_and_oi(np.zeros(7500), FS)[0])


def test_rms_inside_and_outside_the_qrs_windows():
    x = np.zeros(7500)
    peaks = np.arange(100, 7400, 200)
    mask = qrs_mask(x.size, peaks, FS)
    assert mask.sum() == peaks.size * (2 * 15 + 1)  # R +- 60 ms at 250 Hz
    x[mask] = 0.1  # residue only inside the QRS windows
    f = atrial_features(x, FS, peaks)
    assert f["rms_in_qrs_uv"] == pytest.approx(100.0) and f["rms_out_qrs_uv"] == 0.0
    p, _ = p_train(1.2, 30)
    saw = atrial_features(sawtooth(6.0, 30, 0.05), FS, peaks)
    assert atrial_features(p, FS, peaks)["sc"] < 0.7 < saw["sc"]  # P waves are slower than f-waves


def test_auc_is_the_probability_that_af_exceeds_normal():
    assert auc([3, 4, 5], [0, 1, 2]) == 1.0
    assert auc([0, 1], [2, 3]) == 0.0
    assert auc([1, 1], [1, 1]) == 0.5
    assert auc([2, 0], [1]) == 0.5
    assert auc([1.0, np.nan], [0.0]) == 1.0 and auc([], [1.0]) is None


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    config = SynthConfig(mixture=(("sinus", 0.4), ("af", 0.4), ("flutter", 0.2)))
    return synth_dataset(tmp_path_factory.mktemp("mix") / "data", 12, seconds=20.0, seed=5, config=config)  # 5 + 5 + 2


def test_truthful_and_inventing_extractors_are_told_apart(mixture):
    segs, fs = load_segments(mixture)
    assert wants_label_report(segs) and {s["rhythm"] for s in segs} == {"sinus", "af", "flutter"}
    peaks = r_peaks_of(segs, fs)
    truth = score(segs, [(s["aa"], s["va"]) for s in segs], fs, peaks)
    assert set(truth["by_rhythm"]) == {"sinus", "af", "flutter"}
    assert all(m["snr_aa_db"] > 100 for m in truth["by_rhythm"].values())
    # The truth's SC separates AF (f-waves) from sinus (P waves) perfectly on these records.
    assert truth["by_label"]["auc"]["sc"] == 1.0
    assert truth["by_label"]["labels"]["A"]["df_hz"] > truth["by_label"]["labels"]["N"]["df_hz"]
    # An extractor that draws the same f-waves whatever the rhythm: SC cannot tell, the sinus SNR can.
    fake = [(sawtooth(6.0, s["ecg"].size / fs, 0.04), s["va"]) for s in segs]
    invented = score(segs, fake, fs, peaks)
    assert invented["by_label"]["auc"]["sc"] == 0.5
    assert invented["by_rhythm"]["sinus"]["snr_aa_db"] < 0.0


def test_firmware_report_realigns_the_lagging_output(mixture):
    segs, fs = load_segments(mixture)
    lag = 80
    # A firmware whose AA output is the truth delayed by the lag, as a lookahead model's is.
    outputs = [{"aa": np.concatenate([np.zeros(lag), s["aa"][:-lag]]), "va": s["va"]} for s in segs]
    fw = firmware_label_report(segs, outputs, fs, lag)
    trimmed = [{**s, "ecg": s["ecg"][:-lag]} for s in segs]
    direct = label_report(trimmed, [(s["aa"][:-lag], s["va"][:-lag]) for s in segs], fs, r_peaks_of(trimmed, fs))
    for key, value in direct["auc"].items():
        assert fw["auc"][key] == pytest.approx(value)
    for label, stats in direct["labels"].items():
        assert fw["labels"][label]["rms_out_qrs_uv"] == pytest.approx(stats["rms_out_qrs_uv"])
    assert firmware_label_report([{**s, "label": "A"} for s in segs], outputs, fs, lag) is None  # one label


def test_eval_cli_prints_the_rhythm_and_label_tables(mixture, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert cli.main(["eval", "--method", "abs", "--data", str(mixture), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Per rhythm" in text and "flutter" in text and "AUC A vs N" in text
    result = json.loads(out.read_text())["results"]["abs"]
    assert set(result["by_rhythm"]) == {"sinus", "af", "flutter"}
    assert set(result["by_label"]["labels"]) == {"A", "N", "O"}
