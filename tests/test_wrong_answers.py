"""No wrong answer reported as a success: bad segments are judged one by one at import,
odd record names and gains are read right, NaN outputs are errors, a closed pipe is one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import wfdb

from afkd import cli
from afkd.errors import AfkdError
from afkd.training.data.dataset import Dataset
from afkd.training.data.segment_quality import segment_problem
from afkd.training.data.synth import synth_dataset, synthesize_record
from afkd.training.evaluate import score
from afkd.training.model import DTFENet, DTFENetConfig

FS = 250


def ecg(seconds, seed=8):
    return synthesize_record(0, seconds, FS, seed=seed)["ecg"].astype(np.float64)


def write(folder, name, x_mv):
    wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["ECG"], d_signal=np.round(x_mv * 1000).astype(int)[:, None],
                fmt=["16"], adc_gain=[1000], baseline=[0], write_dir=str(folder))
    return folder / name


def test_a_record_whose_second_half_is_lead_off_keeps_only_its_first_half(tmp_path, capsys):
    x = ecg(60.0)
    x[30 * FS:] = 0.0  # electrode off after 30 s
    rec = write(tmp_path, "half", x)
    assert cli.main(["data", "import", str(rec), "--out", str(tmp_path / "ds")]) == 0
    assert "left out 1 lead-off or clipped segments" in capsys.readouterr().out
    ds = Dataset(tmp_path / "ds")
    assert [s["start"] for s in ds.segments] == [0]
    (rejected,) = ds.manifest["rejected_segments"]
    assert rejected["start"] == 30 * FS and rejected["reason"].startswith("lead off (flat for")
    assert cli.main(["data", "info", str(tmp_path / "ds")]) == 0
    assert "left out at import: 0 records, 1 segments, lead off 1" in capsys.readouterr().out


def test_a_lead_clipped_in_one_segment_of_four_is_caught_there(tmp_path, capsys):
    x = ecg(120.0)
    x[60 * FS:90 * FS] = np.clip(3 * x[60 * FS:90 * FS], -1.0, 1.0)  # saturated for 30 s of 120
    rec = write(tmp_path, "sat", x)
    assert cli.main(["data", "import", str(rec), "--out", str(tmp_path / "ds")]) == 0
    ds = Dataset(tmp_path / "ds")
    assert [s["start"] for s in ds.segments] == [0, 30 * FS, 90 * FS]
    assert ds.manifest["rejected_segments"][0]["reason"].startswith("clipped (")


def test_segment_judgement_on_clean_and_bad_stretches():
    x = ecg(30.0)
    assert segment_problem(x, FS) is None
    flat = x.copy()
    flat[1000:1000 + 3 * FS] = flat[1000]
    assert segment_problem(flat, FS).startswith("lead off (flat for")
    short_flat = x.copy()
    short_flat[1000:1000 + FS] = short_flat[1000]  # 1 s: a pause, not a lead off
    assert segment_problem(short_flat, FS) is None
    assert segment_problem(np.clip(3 * x, -1, 1), FS).startswith("clipped")


def test_a_non_ascii_record_name_is_read(tmp_path, capsys):
    rec = write(tmp_path, "ré", ecg(20.0))
    assert cli.main(["data", "import", str(rec) + ".hea", "--out", str(tmp_path / "ds")]) == 0
    assert Dataset(tmp_path / "ds").segments[0]["record"] == "ré"
    (tmp_path / "ré.dat").unlink()
    assert cli.main(["data", "import", str(rec), "--out", str(tmp_path / "ds2")]) == 2
    assert "signal file ré.dat is missing" in capsys.readouterr().err


def test_a_nan_estimate_is_an_error_not_a_smaller_mean():
    segs = [{"id": f"s{i}", "ecg": np.ones(500, np.float32), "has_ground_truth": False} for i in range(2)]
    good = (np.zeros(500, np.float32), np.zeros(500, np.float32))
    bad = (np.full(500, np.nan, np.float32), np.zeros(500, np.float32))
    score(segs, [good, good], FS)
    with pytest.raises(AfkdError, match="AA estimate of segment s1 holds 500 NaN/infinite samples"):
        score(segs, [good, bad], FS)


def test_onnx_check_names_a_nan_output(tmp_path):
    from afkd.export.onnx_export import write_onnx

    model = DTFENet(DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2, norm="none")).eval()
    with torch.no_grad():
        model.decoder_aa.weight.view(-1)[0] = float("nan")  # loaded checkpoints are checked: set after
    with pytest.raises(AfkdError, match="output aa holds .* NaN/infinite values"):
        write_onnx(model, tmp_path / "m.onnx", 500, False, [ecg(4.0).astype(np.float32)])
    assert not (tmp_path / "m.onnx").exists()


def test_piping_into_head_is_one_line_not_a_traceback(tmp_path):
    synth_dataset(tmp_path / "ds", 3, 10.0, 250.0)
    # `afkd data info` prints ~10 lines; `head -1` closes the pipe after the first.
    result = subprocess.run(f"{sys.executable} -m afkd data info {tmp_path / 'ds'} | head -1; "
                            "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True,
                            text=True, timeout=300)
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("segments: 3")
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and lines == [
        "afkd data: error: the output was closed early (broken pipe); the rest was not printed"], lines
