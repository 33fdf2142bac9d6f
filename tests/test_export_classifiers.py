"""Exporting the classifiers: ONNX (onnxruntime == PyTorch) and full-integer TFLite, checked as
the f-wave models are (TFLM == TFLite reference, the firmware twin == TFLM, decisions == PyTorch)."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from afkd.cli import main
from afkd.errors import AfkdError
from afkd.export.onnx_export import export_onnx
from afkd.export.tflite_export import export_tflite
from afkd.training.checkpoint import save_checkpoint
from afkd.training.model_resnet import ResNet34, ResNet34Config
from tiny_classifiers import TINY_BEAT, TINY_DETECTOR, tiny_beat, tiny_detector


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    paths = {}
    for name, model in (("detector", tiny_detector()), ("beat", tiny_beat())):
        paths[name] = folder / f"{name}.pt"
        save_checkpoint(paths[name], model)
    return paths


def test_detector_onnx_gives_frame_logits_at_any_length(checkpoints, tmp_path):
    manifest = export_onnx(checkpoints["detector"], tmp_path / "onnx", seconds=1.6, dynamic=True)
    assert manifest["family"] == "rhythm_tcn" and manifest["kind"] == "detector"
    assert manifest["classes"] == ["N", "A", "O", "~"] and manifest["onnx_max_abs_err"] < 1e-4
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    model = tiny_detector()
    for frames in (7, 90):
        x = np.random.default_rng(frames).normal(0, 0.5, frames * TINY_DETECTOR.hop).astype(np.float32)
        (got,) = session.run(["logits"], {"ecg": x.reshape(1, 1, -1)})
        with torch.no_grad():
            want = model(torch.from_numpy(x)[None]).numpy()
        assert got.shape == (1, 4, frames)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_beat_onnx_is_one_window_and_refuses_dynamic(checkpoints, tmp_path):
    manifest = export_onnx(checkpoints["beat"], tmp_path / "onnx")
    assert manifest["input"] == {"name": "beat", "shape": [1, 1, TINY_BEAT.window], "units": "mV"}
    assert manifest["latency_samples"] == TINY_BEAT.window and manifest["hop"] is None
    with pytest.raises(AfkdError, match="fixed length"):
        export_onnx(checkpoints["beat"], tmp_path / "dyn", dynamic=True)
    assert not (tmp_path / "dyn").exists()


@pytest.mark.parametrize("which,quant", [("detector", "int8"), ("beat", "int16x8")])
def test_tflite_export_is_checked_end_to_end(checkpoints, tmp_path, which, quant):
    seconds = 1.6 if which == "detector" else None
    manifest = export_tflite(checkpoints[which], tmp_path / "out", quant=quant, seconds=seconds,
                             calibration_segments=6, validation_segments=3)
    saved = json.loads((tmp_path / "out" / "export.json").read_text())
    assert saved["kind"] == ("detector" if which == "detector" else "window")
    ops = set(manifest["op_set"])
    if which == "detector":
        assert ops == {"PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "PRELU"}
        assert manifest["quantization"]["outputs"]["logits"]["dtype"] == "int8"
        assert manifest["outputs"][0]["shape"] == [1, 1, 400 // TINY_DETECTOR.hop, 4]
        assert manifest["tflm_bit_exact"] is True  # int8: TFLite reference == TFLM
        assert "frame_decision_agreement" in manifest["quantized_vs_float"]
    else:
        assert ops == {"MEAN", "SUB", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"}
        assert manifest["outputs"][0]["shape"] == [1, 5]
    assert manifest["stream_reference_vs_tflm_bit_exact"] is True
    assert manifest["keras_max_abs_err"] < 1e-4 and manifest["onnx_max_abs_err"] < 1e-4
    figures = manifest["quantized_vs_float"]
    assert figures["logits_snr_db"] > (15 if quant == "int8" else 40)
    assert figures["decision_agreement"] >= 2 / 3  # tiny random models: near ties may flip one
    other = "int16x8" if quant == "int8" else "int8"
    assert manifest["modes"][other]["logits_snr_db"] is not None


def test_cli_exports_a_detector_and_refuses_the_dense_reference(checkpoints, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(checkpoints["detector"]), "--target", "tflite", "--quant", "int16x8",
                 "--seconds", "0.8", "--calibration-segments", "3", "--validation-segments", "2",
                 "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "logits SNR" in out and "firmware twin (streaming plan) vs TFLM: bit exact" in out
    resnet = tmp_path / "resnet.pt"
    torch.manual_seed(0)
    save_checkpoint(resnet, ResNet34(ResNet34Config(base_filters=4, kernel=5, blocks=2)))
    assert main(["export", "--checkpoint", str(resnet), "--target", "onnx", "--out", str(tmp_path / "r")]) == 2
    assert "no deployable graph" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
