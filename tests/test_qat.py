"""Quantization-aware training: the ranges and weights it rounds with are the exporter's.

The fake-quantized graph must round where and as the exported TFLite model does: every
activation tensor's scale and zero point equal the converter's (same calibration windows),
every weight's int8 code equals the one in the .tflite, and its output follows TFLite's
integer output closely. Then a short QAT run writes an ordinary folded checkpoint that exports.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from afkd.export import checks
from afkd.export.fold import fold_batchnorm
from afkd.export.keras_model import build_keras_model
from afkd.export.tflite_export import convert
from afkd.export.tflite_graph import read_tflite
from afkd.training.fake_quant import FakeQuantizer, calibrate, fake_quant_weight, weight_scales
from afkd.training.quant_graph import FloatHook, graph_features
from tiny_tflite import LENGTH, ecg_like, tiny_model

HEADROOM = {"int8": 1.0, "int16x8": 8.0}


def _layer(tensor_name: str) -> str:
    """'dtfenet_1/aa_block0_in_1/BiasAdd;...' -> 'aa_block0_in' (the Keras layer name)."""
    parts = [p for p in tensor_name.split(";")[0].split(":")[0].split("/") if p]
    return re.sub(r"_\d+$", "", parts[1] if len(parts) > 1 else parts[0])


@pytest.fixture(scope="module", params=["int8", "int16x8"])
def converted(request):
    quant = request.param
    folded = fold_batchnorm(tiny_model(seed=3, lookahead=2))
    windows = ecg_like(6, seed=4)
    keras_model = build_keras_model(folded, LENGTH, leaky_relu=(quant == "int16x8"))
    model_bytes = convert(keras_model, quant, windows, HEADROOM[quant])
    return quant, folded, windows, model_bytes


def test_folded_graph_equals_the_model(converted):
    _, folded, windows, _ = converted
    x = torch.from_numpy(np.stack(windows[:2]))
    with torch.no_grad():
        want = folded.features(x)
        got = graph_features(folded, x, FloatHook())
    for key in ("aa", "va", "mask_aa", "enc_va"):
        assert torch.allclose(got[key], want[key], atol=1e-5), key


def test_ranges_equal_the_converters(converted):
    quant, folded, windows, model_bytes = converted
    params = calibrate(folded, windows, quant, HEADROOM[quant])
    graph = read_tflite(model_bytes)
    checked = 0
    for op in graph.operators:
        if op.opcode in ("PAD", "STRIDED_SLICE"):  # they keep their input's quantization
            continue
        tensor = graph.tensors[op.outputs[0]]
        p = params[_layer(tensor.name)]
        assert p.zero_point == int(tensor.zero_point[0]), tensor.name
        assert p.scale == pytest.approx(float(tensor.scale[0]), rel=1e-6), tensor.name
        checked += 1
    assert checked > 40
    source = graph.tensors[graph.inputs[0]]
    assert params["ecg"].scale == pytest.approx(float(source.scale[0]), rel=1e-6)
    assert params["ecg"].zero_point == int(source.zero_point[0])


def test_weight_codes_equal_the_tflite_weights(converted):
    _, folded, _, model_bytes = converted
    graph = read_tflite(model_bytes)
    layers = {_layer(graph.tensors[op.outputs[0]].name): op for op in graph.operators}
    for name, conv in (("aa_bottleneck", folded.tcn_aa.bottleneck), ("va_block1_in", folded.tcn_va.blocks[1].in_conv),
                       ("aa_block2_depthwise", folded.tcn_aa.blocks[2].depthwise), ("va_encoder", folded.encoder_va)):
        stored = next(graph.tensors[i] for i in layers[name].inputs[1:2])  # the filter
        codes = (fake_quant_weight(conv.weight, 0) / weight_scales(conv.weight, 0)).detach().round().numpy()
        # TFLite filters: CONV (out, 1, k, in); DEPTHWISE (1, 1, k, channels)
        want = stored.data[:, 0].transpose(0, 2, 1) if name != "aa_block2_depthwise" else stored.data[0, 0].T[:, None]
        np.testing.assert_array_equal(codes.astype(np.int8).reshape(want.shape), want, err_msg=name)


def test_fake_quant_output_follows_tflite(converted):
    quant, folded, windows, model_bytes = converted
    params = calibrate(folded, windows, quant, HEADROOM[quant])
    it = checks.interpreter(model_bytes, reference=True)
    io = checks.io_quantization(it)
    pos = checks.output_order(it, ("aa", "va"))[0]
    x = ecg_like(1, seed=9)[0]  # not a calibration window
    q = checks.quantize(x, io["input"]["scale"], io["input"]["zero_point"], np.dtype(io["input"]["dtype"]))
    tflite = checks.dequantize(checks.run_tflite(it, q.reshape(io["input"]["shape"]))[pos],
                               io["outputs"][pos]["scale"], io["outputs"][pos]["zero_point"]).reshape(-1)
    with torch.no_grad():
        fq = graph_features(folded, torch.from_numpy(x)[None], FakeQuantizer(params))["aa"].numpy().reshape(-1)
        fl = folded(torch.from_numpy(x)[None])[0].numpy().reshape(-1)
    # The fake-quantized graph is much closer to the integer model than the float model is.
    err_fq, err_float = np.sum((tflite - fq) ** 2), np.sum((tflite - fl) ** 2)
    assert err_fq < err_float / 4, (err_fq, err_float)


def test_qat_training_writes_a_folded_checkpoint_that_exports_with_its_ranges(tmp_path):
    from afkd import cli
    from afkd.export.tflite_export import export_tflite
    from afkd.training.calibration_windows import split_windows
    from afkd.training.checkpoint import load_checkpoint, save_checkpoint

    assert cli.main(["data", "synth", "--records", "6", "--seconds", "4", "--seed", "3", "--dataset",
                     "--out", str(tmp_path / "data")]) == 0
    save_checkpoint(tmp_path / "start.pt", tiny_model(seed=5, lookahead=1))
    assert cli.main(["train", "--init", str(tmp_path / "start.pt"), "--qat", "int8", "--qat-calibration",
                     str(tmp_path / "data"), "--qat-calibration-segments", "3", "--qat-seconds", "4", "--data", str(tmp_path / "data"),
                     "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "2", "--crop-seconds", "2",
                     "--val-segments", "1", "--threads", "1", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    model, meta = load_checkpoint(tmp_path / "run" / "last.pt")
    assert model.cfg.norm == "none" and meta["qat"]["mode"] == "int8"
    start, _ = load_checkpoint(tmp_path / "start.pt")
    assert not torch.equal(model.tcn_aa.blocks[0].in_conv.weight, fold_batchnorm(start).tcn_aa.blocks[0].in_conv.weight)
    # the export of the trained weights calibrates the ranges the training ended with
    manifest = export_tflite(tmp_path / "run" / "last.pt", tmp_path / "export", quant="int8", seconds=4.0,
                             calibration=tmp_path / "data", calibration_segments=3, validation_segments=1)
    cal, _, _ = split_windows(model.cfg, 1000, str(tmp_path / "data"), 3, 1)
    params = calibrate(model, cal, "int8")
    graph = read_tflite((tmp_path / "export" / "model_int8.tflite").read_bytes())
    source = graph.tensors[graph.inputs[0]]
    assert params["ecg"].scale == pytest.approx(float(source.scale[0]), rel=1e-6)
    assert manifest["quantization"]["mode"] == "int8"
