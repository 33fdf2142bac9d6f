"""Bad input to ``afkd export``: one AfkdError line, exit 2, nothing left at --out."""

import numpy as np
import pytest
import torch

from afkd.cli import main
from afkd.training.checkpoint import save_checkpoint
from afkd.training.data.dataset import write_dataset
from afkd.training.model import DTFENet, DTFENetConfig

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, DTFENet(TINY))
    return path


def _export(capsys, ckpt, out, *extra, target="tflite"):
    rc = main(["export", "--checkpoint", str(ckpt), "--target", target, "--out", str(out),
               "--seconds", "2", "--calibration-segments", "2", "--validation-segments", "1", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    return rc, err


def _dataset(path, fs, seconds, count):
    rng = np.random.default_rng(0)
    segments = [{"source": "synthetic", "record": f"r{i}", "lead": "ecg", "start": 0, "label": "A",
                 "ecg": rng.normal(0, 0.3, int(seconds * fs)).astype(np.float32)} for i in range(count)]
    return write_dataset(path, segments, fs, seconds)


@pytest.mark.parametrize("target", ["onnx", "tflite"])
def test_not_a_checkpoint(tmp_path, capsys, target):
    bogus = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(3)}, bogus)
    rc, err = _export(capsys, bogus, tmp_path / "out", target=target)
    assert rc == 2 and not (tmp_path / "out").exists()
    assert len(err) == 1 and "not an afkd checkpoint" in err[0]


def test_truncated_checkpoint(good_checkpoint, tmp_path, capsys):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good_checkpoint.read_bytes()[:1000])
    rc, err = _export(capsys, cut, tmp_path / "out", target="onnx")
    assert rc == 2 and not (tmp_path / "out").exists()
    assert len(err) == 1 and "cut.pt" in err[0]


def test_weights_that_do_not_match_the_config(tmp_path, capsys):
    payload = torch.load(_save(tmp_path), weights_only=True)
    payload["config"]["enc_channels"] = 16  # the weights are for 8
    torch.save(payload, tmp_path / "mismatch.pt")
    rc, err = _export(capsys, tmp_path / "mismatch.pt", tmp_path / "out")
    assert rc == 2 and not (tmp_path / "out").exists()
    assert len(err) == 1 and "do not match the config" in err[0]


def _save(tmp_path):
    path = tmp_path / "ok.pt"
    save_checkpoint(path, DTFENet(TINY))
    return path


def test_calibration_dir_without_a_dataset(good_checkpoint, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc, err = _export(capsys, good_checkpoint, tmp_path / "out", "--calibration", str(tmp_path / "empty"))
    assert rc == 2 and not (tmp_path / "out").exists()
    assert len(err) == 1 and "not a dataset" in err[0]


def test_calibration_segments_too_short(good_checkpoint, tmp_path, capsys):
    _dataset(tmp_path / "short", 250, 1.0, 3)  # 1 s segments, export wants 2 s windows
    rc, err = _export(capsys, good_checkpoint, tmp_path / "out", "--calibration", str(tmp_path / "short"))
    assert rc == 2 and not (tmp_path / "out").exists()
    assert len(err) == 1 and "at least 500 samples" in err[0]


def test_calibration_at_the_wrong_rate(good_checkpoint, tmp_path, capsys):
    _dataset(tmp_path / "fs300", 300, 3.0, 3)
    rc, err = _export(capsys, good_checkpoint, tmp_path / "out", "--calibration", str(tmp_path / "fs300"))
    assert rc == 2 and not (tmp_path / "out").exists()
    assert len(err) == 1 and "300 Hz" in err[0]


def test_length_not_a_multiple_of_the_hop(good_checkpoint, tmp_path, capsys):
    rc = main(["export", "--checkpoint", str(good_checkpoint), "--target", "onnx",
               "--out", str(tmp_path / "out"), "--seconds", "1.01"])
    assert rc == 2 and not (tmp_path / "out").exists()
    assert "multiple of the hop" in capsys.readouterr().err


def test_existing_output_survives_a_failed_export(good_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint at all")
    rc, _ = _export(capsys, bogus, out, target="onnx")
    assert rc == 2 and (out / "keep.txt").read_text() == "old"
