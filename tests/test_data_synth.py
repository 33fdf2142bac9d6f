"""Synthetic AF ECG: the identity ecg = aa + va + noise, determinism, drawn ranges, WFDB round trip."""

import json
import time

import numpy as np
import pytest
import wfdb
from scipy import signal

from afkd import cli
from afkd.training.data.dataset import Dataset
from afkd.training.data.info import dominant_frequency
from afkd.training.data.preprocess import highpass
from afkd.training.data.synth import (SIGNALS, SynthConfig, synth_dataset, synthesize_record,
                                      synthesize_records, write_synth_wfdb)
from afkd.training.data.synth_fwaves import FwaveRanges
from afkd.training.data.synth_noise import NoiseLevels
from afkd.training.data.synth_qrst import RhythmRanges

FS = 250.0


def rms(x):
    return float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


def test_cli_runs_are_identical_for_a_seed_and_differ_across_seeds(tmp_path):
    def files(seed, name):
        out = tmp_path / name
        assert cli.main(["data", "synth", "--records", "3", "--seconds", "10", "--seed", str(seed),
                         "--out", str(out)]) == 0
        return {p.name: p.read_bytes() for p in sorted(out.iterdir())}

    first, again, other = files(21, "a"), files(21, "b"), files(22, "c")
    assert first == again and len(first) == 10  # .hea, .dat, .json per record, and synth.json
    assert first["synth_00000.dat"] != other["synth_00000.dat"]


def test_ecg_is_exactly_aa_plus_va_plus_noise():
    for rec in synthesize_records(5, seconds=10, fs=FS, seed=3):
        for name in SIGNALS:
            assert rec[name].dtype == np.float32 and rec[name].shape == (2500,)
        np.testing.assert_array_equal(rec["ecg"], rec["aa"] + rec["va"] + rec["noise"])
        # Each part is really there (not an all-zero placeholder).
        assert rms(rec["aa"]) > 1e-3 and rms(rec["va"]) > 0.05


def test_same_seed_same_records_other_seed_differs():
    a = synthesize_records(3, seconds=8, fs=FS, seed=11)
    b = synthesize_records(3, seconds=8, fs=FS, seed=11)
    c = synthesize_records(3, seconds=8, fs=FS, seed=12)
    for x, y, z in zip(a, b, c):
        for name in SIGNALS:
            np.testing.assert_array_equal(x[name], y[name])
        assert x["params"] == y["params"]
        assert not np.allclose(x["ecg"], z["ecg"])
    # Record i does not depend on how many records were asked for.
    np.testing.assert_array_equal(synthesize_record(2, 8, FS, 11)["ecg"], a[2]["ecg"])


def test_f0_and_rms_land_in_default_ranges_measured_from_signals():
    for rec in synthesize_records(30, seconds=30, fs=FS, seed=5):
        f0 = dominant_frequency(rec["aa"], FS)
        # Welch peak of an FM signal sits within the FM deviation (<= 0.4 Hz) of the centre.
        assert 3.0 - 0.45 <= f0 <= 9.0 + 0.45, f0
        assert 15.0 - 0.01 <= rms(rec["aa"]) * 1e3 <= 150.0 + 0.01


@pytest.mark.parametrize("f0_range, rms_range", [((4.0, 4.5), (20.0, 25.0)), ((7.5, 8.0), (100.0, 120.0))])
def test_requested_ranges_are_honoured(f0_range, rms_range):
    config = SynthConfig(fwaves=FwaveRanges(f0_hz=f0_range, rms_uv=rms_range))
    measured_f0, measured_rms = [], []
    for rec in synthesize_records(10, seconds=30, fs=FS, seed=7, config=config):
        measured_f0.append(dominant_frequency(rec["aa"], FS))
        measured_rms.append(rms(rec["aa"]) * 1e3)
    assert f0_range[0] - 0.45 <= min(measured_f0) and max(measured_f0) <= f0_range[1] + 0.45
    assert rms_range[0] - 0.01 <= min(measured_rms) and max(measured_rms) <= rms_range[1] + 0.01


def test_rhythm_is_irregular_and_within_rate_limits():
    no_pvc = SynthConfig(rhythm=RhythmRanges(pvc_probability=(0.0, 0.0)), noise=NoiseLevels(0, 0, 0, 0))
    for rec in synthesize_records(6, seconds=30, fs=FS, seed=2, config=no_pvc):
        va = rec["va"].astype(np.float64)
        peaks, _ = signal.find_peaks(np.abs(va), height=0.5 * np.abs(va).max(), distance=int(0.25 * FS))
        rr = np.diff(peaks) / FS
        assert len(peaks) >= 30 * 50 / 60
        assert rr.min() >= 60 / 180 - 0.01 and rr.max() <= 60 / 50 + 0.01
        assert np.std(rr) / np.mean(rr) > 0.05  # AF: no regular rhythm


def test_premature_ventricular_beats_have_their_own_shape():
    config = SynthConfig(rhythm=RhythmRanges(pvc_probability=(0.15, 0.15), pvc_free_fraction=0.0),
                         noise=NoiseLevels(0, 0, 0, 0))
    rec = synthesize_record(0, 30, FS, 3, config)
    assert rec["params"]["qrst"]["pvc_beats"] >= 1
    normal, pvc = rec["params"]["qrst"]["normal"], rec["params"]["qrst"]["pvc"]
    assert min(pvc["width"][1:3]) > max(normal["width"][1:3])  # wide QRS
    # Measured: QRS widths at half maximum fall into two groups.
    va = rec["va"].astype(np.float64)
    peaks, _ = signal.find_peaks(np.abs(va), height=0.3 * np.abs(va).max(), distance=int(0.25 * FS))
    widths = signal.peak_widths(np.abs(va), peaks, rel_height=0.5)[0] / FS
    assert widths.max() > 1.8 * np.median(widths)


def test_noise_levels_are_configurable():
    quiet = SynthConfig(noise=NoiseLevels(0, 0, 0, 0))
    assert not np.any(synthesize_record(0, 10, FS, 1, quiet)["noise"])
    loud = SynthConfig(noise=NoiseLevels(baseline_mv=0, emg_mv=0, powerline_mv=0.5, motion_per_minute=0))
    nz = synthesize_record(0, 10, FS, 1, loud)["noise"].astype(np.float64)
    f, p = signal.welch(nz, fs=FS, nperseg=1000)
    assert f[np.argmax(p)] in (50.0, 60.0)
    motion = SynthConfig(noise=NoiseLevels(0, 0, 0, motion_per_minute=30, motion_mv=1.0))
    assert np.abs(synthesize_record(0, 30, FS, 1, motion)["noise"]).max() > 0.2


def test_synthesis_is_fast():
    start = time.perf_counter()
    synthesize_records(20, seconds=30, fs=FS, seed=0)
    assert time.perf_counter() - start < 3.0


def test_wfdb_round_trip_is_far_below_fwave_amplitude(tmp_path):
    out = write_synth_wfdb(tmp_path / "synth", 3, seconds=10, fs=FS, seed=4)
    for i, rec in enumerate(synthesize_records(3, seconds=10, fs=FS, seed=4)):
        back = wfdb.rdrecord(str(out / f"synth_{i:05d}"))
        assert back.sig_name == list(SIGNALS) and back.units == ["mV"] * 4 and back.fs == FS
        for k, name in enumerate(SIGNALS):
            err = np.abs(back.p_signal[:, k] - rec[name]).max()
            assert err < 0.2e-3, (name, err)  # < 0.2 uV, against 15 uV f-waves
        assert np.abs(back.p_signal[:, 1] - rec["aa"]).max() < 0.01e-3  # aa: below 0.01 uV
        sidecar = json.loads((out / f"synth_{i:05d}.json").read_text())
        assert sidecar["seed"] == 4 and sidecar["index"] == i and "f0_hz" in sidecar["fwaves"]


def test_cli_synth_then_info(tmp_path, capsys):
    out = tmp_path / "D"
    assert cli.main(["data", "synth", "--records", "20", "--out", str(out), "--seed", "9"]) == 0
    assert len(list(out.glob("*.hea"))) == 20 and len(list(out.glob("synth_*.json"))) == 20
    assert cli.main(["data", "info", str(out)]) == 2  # WFDB records are not a dataset yet
    assert "not a dataset" in capsys.readouterr().err
    ds_dir = tmp_path / "DS"
    assert cli.main(["data", "import", str(out), "--out", str(ds_dir)]) == 0
    capsys.readouterr()
    assert cli.main(["data", "info", str(ds_dir), "--png", str(tmp_path / "h.png")]) == 0
    text = capsys.readouterr().out
    assert "segments: 20 from 20 records" in text and "A 20" in text
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_synth_dataset_then_info_writes_png_into_dir(tmp_path, capsys):
    out = tmp_path / "D"
    assert cli.main(["data", "synth", "--records", "4", "--seconds", "12", "--dataset", "--out", str(out)]) == 0
    assert cli.main(["data", "info", str(out)]) == 0
    assert (out / "info.png").is_file()
    assert "f-wave RMS" in capsys.readouterr().out


def test_synth_dataset_equals_wfdb_then_import(tmp_path):
    direct = Dataset(synth_dataset(tmp_path / "direct", 3, seconds=12, fs=FS, seed=6))
    write_synth_wfdb(tmp_path / "wfdb", 3, seconds=12, fs=FS, seed=6)
    assert cli.main(["data", "import", str(tmp_path / "wfdb"), "--out", str(tmp_path / "imported")]) == 0
    imported = Dataset(tmp_path / "imported")
    assert len(direct) == len(imported) == 3
    for i in range(3):
        a, b = direct.segment(i), imported.segment(i)
        assert a["record"] == b["record"] and a["has_ground_truth"] and b["has_ground_truth"]
        for name in ("ecg", "aa", "va"):
            assert np.abs(a[name] - b[name]).max() < 0.2e-3  # WFDB quantization only
        # The identity survives the high-pass: ecg - aa - va is the filtered noise, to float32
        # precision, both for the direct path and for the noise the importer read back.
        noise_direct = highpass(synthesize_record(i, 12, FS, 6)["noise"], FS)
        noise_read = highpass(wfdb.rdrecord(str(tmp_path / "wfdb" / a["record"])).p_signal[:, 3], FS)
        for seg, nz in ((a, noise_direct), (b, noise_read)):
            residual = seg["ecg"].astype(np.float64) - seg["aa"] - seg["va"]
            assert np.abs(residual - nz).max() < 2e-6
