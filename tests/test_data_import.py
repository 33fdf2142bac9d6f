"""``afkd data import``: CinC 2017, MIT-BIH format 212, rhythm episodes, segmentation, filtering."""

import csv

import numpy as np
import pytest
import wfdb
from scipy import signal

from afkd import cli
from afkd.training.data.annotations import af_episodes, majority_label, rhythm_intervals
from afkd.training.data.dataset import Dataset
from afkd.training.data.preprocess import highpass, preprocess, segment_bounds
from afkd.training.data.synth import synthesize_record
from tests.conftest import require_shared_data

FS = 250.0


def write_record(directory, name, x, fs, sig_name="ECG"):
    """A one-lead format-16 record holding ``x`` (mV) at 1 uV resolution."""
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=[sig_name], d_signal=np.round(x * 1000).astype(int)[:, None],
                fmt=["16"], adc_gain=[1000], baseline=[0], write_dir=str(directory))
    return directory / name


def test_cinc2017_all_records_with_labels(tmp_path):
    src = require_shared_data("cinc2017")
    out = tmp_path / "cinc"
    assert cli.main(["data", "import", str(src), "--out", str(out)]) == 0
    ds = Dataset(out)
    with open(src / "REFERENCE.csv", newline="") as f:
        reference = {row[0]: row[1] for row in csv.reader(f) if row}
    records = {s["record"] for s in ds.segments}
    assert records == set(reference) and len(records) == 150
    for seg in ds.segments:
        assert seg["label"] == reference[seg["record"]] and seg["source"] == "cinc2017"
        assert seg["fs"] == FS and not seg["has_ground_truth"] and seg["lead"] == "ECG"
        assert 5 * FS <= seg["length"] <= 30 * FS
    # Resampled 300 -> 250 Hz: compare one segment with the raw samples read independently.
    raw = np.fromfile(src / "A00001.mat", dtype="<i2", offset=24).astype(np.float64) / 1000.0
    first = ds.segment(ds.segments.index(next(s for s in ds.segments if s["record"] == "A00001")))
    expected = highpass(signal.resample_poly(raw, 5, 6), FS)[:first["length"]]
    np.testing.assert_allclose(first["ecg"], expected, atol=1e-5)


def test_mitdb_format_212_with_rhythm_labels_and_lead_choice(tmp_path):
    src = require_shared_data("mitdb", "100.hea")
    base = src.with_suffix("")
    for lead, name in ((None, "MLII"), ("V5", "V5"), ("1", "V5")):
        out = tmp_path / f"mit{name}{lead}"
        args = ["data", "import", str(base), "--out", str(out)] + (["--lead", lead] if lead else [])
        assert cli.main(args) == 0
        ds = Dataset(out)
        assert {s["lead"] for s in ds.segments} == {name}
    # 30 min 06 s at 360 Hz -> 60 full 30 s segments; 100 is all normal sinus rhythm (N).
    assert len(ds) == 60 and {s["label"] for s in ds.segments} == {"N"}
    assert {s["source"] for s in ds.segments} == {"mitdb"}
    # The 212 path is right: compare with an independent unpacking of the .dat bytes
    # (two 12-bit two's-complement samples in three bytes), gain 200/mV, baseline 1024.
    packed = np.fromfile(src.with_suffix(".dat"), dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    first = packed[:, 0] | ((packed[:, 1] & 0x0F) << 8)
    second = packed[:, 2] | ((packed[:, 1] & 0xF0) << 4)
    mlii, v5 = [np.where(d >= 2048, d - 4096, d) for d in (first, second)]
    assert mlii[0] == 995 and v5[0] == 1011  # the header's initial values
    expected = preprocess((v5 - 1024) / 200.0, 360.0, FS)
    np.testing.assert_allclose(ds.segment(59)["ecg"], expected[59 * 7500:60 * 7500], atol=1e-5)
    ann = wfdb.rdann(str(base), "atr")
    assert "(N" in [a.strip("\x00") for a in ann.aux_note]


def test_af_episode_selection_from_rhythm_annotations(tmp_path, capsys):
    ecg = synthesize_record(0, 120, FS, seed=1)["ecg"].astype(np.float64)
    base = write_record(tmp_path, "afrec", ecg, FS)
    wfdb.wrann("afrec", "atr", sample=np.array([0, 30 * 250, 80 * 250]), symbol=["+", "+", "+"],
               aux_note=["(N", "(AFIB", "(N"], write_dir=str(tmp_path))
    assert cli.main(["data", "import", str(base), "--out", str(tmp_path / "af"), "--episodes", "af"]) == 0
    ds = Dataset(tmp_path / "af")
    # The 50 s episode [30 s, 80 s) gives one full 30 s segment starting at 30 s.
    assert [(s["start"], s["length"], s["label"]) for s in ds.segments] == [(7500, 7500, "A")]
    processed = preprocess(np.round(ecg * 1000) / 1000, FS, FS)
    np.testing.assert_allclose(ds.segment(0)["ecg"], processed[7500:15000], atol=1e-5)
    assert cli.main(["data", "import", str(base), "--out", str(tmp_path / "all")]) == 0
    labels = [(s["start"], s["label"]) for s in Dataset(tmp_path / "all").segments]
    # [60, 90) s holds 20 s of AF and 10 s of N: the majority decides.
    assert labels == [(0, "N"), (7500, "A"), (15000, "A"), (22500, "N")]
    # An episode shorter than --min-seconds is not used.
    assert cli.main(["data", "import", str(base), "--out", str(tmp_path / "none"), "--episodes", "af",
                     "--min-seconds", "60"]) == 2
    assert "no (AFIB episode" in capsys.readouterr().err and not (tmp_path / "none").exists()


def test_rhythm_interval_logic():
    iv = rhythm_intervals([500, 0, 900, 1200], ["(AFIB\x00", "(N", "(AFIB", "(AFL"], 2000)
    assert iv == [(0, 500, "(N"), (500, 1200, "(AFIB"), (1200, 2000, "(AFL")]
    assert af_episodes(iv) == [(500, 1200)]
    assert majority_label(iv, 400, 1000) == "A" and majority_label(iv, 1100, 2000) == "O"
    assert majority_label(rhythm_intervals([100], ["(N"], 300), 0, 50) is None


def test_segmentation_overlap_and_short_records(tmp_path):
    assert segment_bounds(100, 30, 30, 5) == [(0, 30), (30, 60), (60, 90)]
    assert segment_bounds(100, 30, 20, 5) == [(0, 30), (20, 50), (40, 70), (60, 90)]
    assert segment_bounds(20, 30, 30, 5) == [(0, 20)] and segment_bounds(4, 30, 30, 5) == []
    x = synthesize_record(0, 12, 360, seed=2)["ecg"].astype(np.float64)
    base = write_record(tmp_path, "short", x, 360)
    assert cli.main(["data", "import", str(base), "--out", str(tmp_path / "d")]) == 0
    (seg,) = Dataset(tmp_path / "d").segments
    assert seg["length"] == 12 * 250 and seg["source"] == "wfdb" and seg["label"] is None
    long = write_record(tmp_path, "long", synthesize_record(0, 70, FS, seed=2)["ecg"].astype(np.float64), FS)
    assert cli.main(["data", "import", str(long), "--out", str(tmp_path / "o"), "--overlap", "10"]) == 0
    assert [s["start"] for s in Dataset(tmp_path / "o").segments] == [0, 5000, 10000]


def test_highpass_is_causal_first_order_at_0_01_hz():
    fs = 250.0
    # A DC offset gives no start-up transient (steady-state start) and decays with tau = 1/(2 pi 0.01).
    step = np.concatenate([np.zeros(10), np.ones(int(60 * fs))])
    y = highpass(step, fs)
    assert np.allclose(y[:10], 0)
    tau = 1 / (2 * np.pi * 0.01)
    assert abs(y[10 + int(tau * fs)] - np.exp(-1)) < 0.01
    np.testing.assert_allclose(highpass(np.full(1000, 3.0), fs), 0, atol=1e-12)
    # Causal: the output before an impulse is untouched by it.
    x = np.zeros(2000)
    x[1500] = 1.0
    assert not highpass(x, fs)[:1500].any()
    # f-waves pass unchanged (gain within 0.1 % at 3 Hz).
    t = np.arange(int(40 * fs)) / fs
    s = np.sin(2 * np.pi * 3 * t)
    assert abs(np.std(highpass(s, fs)[-2500:]) / np.std(s[-2500:]) - 1) < 1e-3


@pytest.mark.parametrize("fs_in", [300.0, 360.0, 500.0])
def test_resampling_keeps_a_tone(fs_in):
    t = np.arange(int(20 * fs_in)) / fs_in
    y = preprocess(np.sin(2 * np.pi * 6 * t), fs_in, FS)
    assert y.size == int(20 * FS)
    f, p = signal.welch(y, fs=FS, nperseg=2000)
    assert abs(f[np.argmax(p)] - 6.0) < 0.2
