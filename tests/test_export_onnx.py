"""ONNX export: contract names/shapes, onnxruntime == PyTorch at several lengths, CLI."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from afkd.cli import main
from afkd.export.onnx_export import export_onnx
from afkd.training.checkpoint import save_checkpoint
from afkd.training.model import DTFENet, DTFENetConfig
from test_export_fold import randomize_batchnorm

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(3)
    model = randomize_batchnorm(DTFENet(TINY))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model)
    return path, model


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["aa", "va"], {"ecg": x.reshape(1, 1, -1).astype(np.float32)})


@pytest.mark.parametrize("seconds", [2.0, 3.2])
def test_fixed_length_export_matches_pytorch(tiny_model, tmp_path, seconds):
    ckpt, model = tiny_model
    manifest = export_onnx(ckpt, tmp_path / "out", seconds=seconds)
    length = int(seconds * 250)
    graph = onnx.load(tmp_path / "out" / "model.onnx")
    assert graph.opset_import[0].version >= 17
    assert [i.name for i in graph.graph.input] == ["ecg"]
    assert [o.name for o in graph.graph.output] == ["aa", "va"]
    x = np.random.default_rng(0).normal(0, 0.5, length).astype(np.float32)
    aa, va = _run(tmp_path / "out" / "model.onnx", x)
    with torch.no_grad():
        want_aa, want_va = model(torch.from_numpy(x)[None])
    assert aa.shape == (1, 1, length)
    np.testing.assert_allclose(aa.reshape(-1), want_aa.numpy().reshape(-1), atol=1e-5)
    np.testing.assert_allclose(va.reshape(-1), want_va.numpy().reshape(-1), atol=1e-5)
    saved = json.loads((tmp_path / "out" / "export.json").read_text())
    assert saved["onnx_max_abs_err"] == manifest["onnx_max_abs_err"] < 1e-4
    assert saved["fs"] == 250 and saved["hop"] == 10 and saved["latency_samples"] == 10
    assert saved["input_samples"] == length


def test_dynamic_export_runs_any_multiple_of_the_hop(tiny_model, tmp_path):
    ckpt, model = tiny_model
    manifest = export_onnx(ckpt, tmp_path / "dyn", seconds=2.0, dynamic=True)
    assert len(manifest["onnx_checked_lengths"]) >= 3 and manifest["input_samples"] is None
    for length in (40, 510, 1250):
        x = np.random.default_rng(length).normal(0, 0.5, length).astype(np.float32)
        aa, _ = _run(tmp_path / "dyn" / "model.onnx", x)
        with torch.no_grad():
            want, _ = model(torch.from_numpy(x)[None])
        np.testing.assert_allclose(aa.reshape(-1), want.numpy().reshape(-1), atol=1e-5)


def test_cli_writes_onnx(tiny_model, tmp_path, capsys):
    ckpt, _ = tiny_model
    rc = main(["export", "--checkpoint", str(ckpt), "--target", "onnx", "--out", str(tmp_path / "o"),
               "--seconds", "2"])
    assert rc == 0
    assert (tmp_path / "o" / "model.onnx").is_file()
    assert "onnxruntime vs PyTorch" in capsys.readouterr().out


def test_a_firmware_target_refuses_a_bad_prefix_before_quantizing(tiny_model, tmp_path, capsys):
    ckpt, _ = tiny_model
    rc = main(["export", "--checkpoint", str(ckpt), "--target", "stm32", "--prefix", "static",
               "--out", str(tmp_path / "fw")])
    assert rc == 2 and not (tmp_path / "fw").exists()
    assert "prefix 'static': reserved word in C" in capsys.readouterr().err
