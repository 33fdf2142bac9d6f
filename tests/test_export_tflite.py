"""TFLite export: graph op set, several lengths, TFLite reference == TFLM, quantized SNR."""

import json

import keras
import numpy as np
import pytest
import torch
from keras import layers

from afkd.errors import AfkdError
from afkd.export import checks
from afkd.export.tflite_export import DEFAULT_HEADROOM, convert, export_tflite, headroom_for, synthetic_ecg
from afkd.training.checkpoint import save_checkpoint
from afkd.training.model import STUDENT, DTFENet, DTFENetConfig
from test_export_fold import randomize_batchnorm

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2)
EXPECTED_OPS = {"PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "LOGISTIC", "MUL", "TRANSPOSE_CONV",
                "STRIDED_SLICE"}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(5)
    model = randomize_batchnorm(DTFENet(TINY))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model)
    return path, model


@pytest.mark.slow
@pytest.mark.parametrize("quant,seconds,activation", [("int8", 2.0, "PRELU"), ("int16x8", 3.2, "LEAKY_RELU")])
def test_tiny_export(tiny_checkpoint, tmp_path, quant, seconds, activation):
    ckpt, model = tiny_checkpoint
    out = tmp_path / "out"
    manifest = export_tflite(ckpt, out, quant=quant, seconds=seconds, calibration_segments=4,
                             validation_segments=2)
    length = int(round(seconds * 250))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["export.json", "model_float32.tflite", f"model_{quant}.tflite"])
    written = json.loads((out / "export.json").read_text())
    assert written["tflm_bit_exact"] is True
    assert written["tflm_vs_reference_kernels"] == "TFLM matches these bit for bit on the 2 validation windows"
    assert set(manifest["op_set"]) == EXPECTED_OPS | {activation}
    # 2 paths x (encoder + bottleneck + 2 blocks x (in, out) + mask self + cross)
    assert [op["op"] for op in manifest["ops"]].count("CONV_2D") == 2 * (1 + 1 + 2 * 2 + 2)
    q = manifest["quantization"]
    dtype = "int8" if quant == "int8" else "int16"
    assert q["input"]["dtype"] == dtype and q["outputs"]["aa"]["dtype"] == dtype
    assert manifest["input"]["shape"] == [1, 1, length, 1]
    assert manifest["calibration"]["headroom"] == DEFAULT_HEADROOM[quant]
    assert manifest["clipping_on_validation"]["input_samples"] == 2 * length  # both validation windows
    assert manifest["keras_max_abs_err"] < 1e-4
    # Independent of the export's own figures: run the file here, compare with PyTorch.
    data = (out / f"model_{quant}.tflite").read_bytes()
    it = checks.interpreter(data)
    x = synthetic_ecg(250, length, count=1, seed=99)[0]  # not among the calibration windows
    qin = checks.quantize(x, q["input"]["scale"], q["input"]["zero_point"], np.dtype(dtype))
    raw = checks.run_tflite(it, qin.reshape(1, 1, length, 1))
    aa_q = raw[q["outputs"]["aa"]["subgraph_output_position"]]
    aa = checks.dequantize(aa_q, q["outputs"]["aa"]["scale"], q["outputs"]["aa"]["zero_point"]).reshape(-1)
    with torch.no_grad():
        want = model(torch.from_numpy(x)[None])[0].numpy().reshape(-1)
    assert checks.snr_db(want, aa) > (20 if quant == "int8" else 30)
    micro = checks.run_tflm(data, [qin.reshape(1, 1, length, 1)])[0]
    for ref, got in zip(raw, micro):
        np.testing.assert_array_equal(ref, got.reshape(ref.shape))


def _keras_with(op: str) -> keras.Model:
    x = keras.Input(shape=(1, 40, 1), batch_size=1)
    y = layers.Conv2D(4, (1, 3), padding="same")(x)
    if op == "tanh":
        y = layers.Activation("tanh", name="bad_tanh")(y)
    else:
        y = layers.Concatenate(axis=-1, name="bad_concat")([y, y])
    y = layers.Conv2D(2, (1, 1), name="after")(y)  # the bad layer sits inside the graph
    return keras.Model(x, y)


@pytest.mark.slow
@pytest.mark.parametrize("op,name", [("tanh", "TANH"), ("concat", "CONCATENATION")])
def test_unsupported_op_is_an_error_naming_the_layer(op, name):
    rng = np.random.default_rng(0)
    calibration = [rng.normal(size=40).astype(np.float32) for _ in range(3)]
    data = convert(_keras_with(op), "int8", calibration)
    with pytest.raises(AfkdError, match=f"bad_{op}.*{name}"):
        checks.check_supported_ops(data)


def test_supported_graph_passes_the_same_check():
    x = keras.Input(shape=(1, 40, 1), batch_size=1)
    model = keras.Model(x, layers.Conv2D(4, (1, 3), padding="valid", activation="relu")(x))
    data = convert(model, "int8", [np.ones(40, np.float32)])
    assert [op["op"] for op in checks.check_supported_ops(data)] == ["CONV_2D"]


def test_headroom_widens_the_calibrated_ranges_by_its_gain():
    x = keras.Input(shape=(1, 40, 1), batch_size=1)
    model = keras.Model(x, layers.Conv2D(4, (1, 3), padding="same")(x))
    calibration = [np.sin(np.arange(40, dtype=np.float32))]
    scales = {}
    for gain in (1.0, 8.0):
        io = checks.io_quantization(checks.interpreter(convert(model, "int16x8", calibration, headroom=gain)))
        scales[gain] = io["input"]["scale"], io["outputs"][0]["scale"]
    for before, after in zip(scales[1.0], scales[8.0]):
        assert after == pytest.approx(8 * before, rel=1e-3)


@pytest.mark.parametrize("gain", [0.5, float("nan"), float("inf")])
def test_headroom_below_one_or_not_finite_is_refused(gain):
    with pytest.raises(AfkdError, match="--headroom"):
        headroom_for("int16x8", gain)


def test_the_reference_sentence_is_said_from_the_measured_difference():
    exact = {"tflm_max_lsb_diff": 0, "bit_exact_inputs": 4}
    assert checks.reference_agreement(exact) == "TFLM matches these bit for bit on the 4 validation windows"
    off = {"tflm_max_lsb_diff": 2, "bit_exact_inputs": 1}
    assert checks.reference_agreement(off) == ("TFLM differs from these by up to 2 LSB on the 1 validation "
                                               "window; the firmware follows TFLM")


def test_snr_and_spectral_concentration():
    fs = 250
    t = np.arange(10 * fs) / fs
    f_wave = np.sin(2 * np.pi * 6 * t)
    assert checks.spectral_concentration(f_wave, fs) > 0.95
    assert checks.spectral_concentration(np.sin(2 * np.pi * 30 * t), fs) < 0.05
    assert abs(checks.snr_db(f_wave, f_wave * 1.1) - 20.0) < 1e-6


@pytest.mark.slow
def test_full_size_student_int16x8_meets_30_db(tmp_path):
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "student.pt", randomize_batchnorm(DTFENet(STUDENT)))
    manifest = export_tflite(tmp_path / "student.pt", tmp_path / "out", quant="int16x8", seconds=8.0,
                             calibration_segments=6, validation_segments=2)
    assert manifest["quantized_vs_float"]["aa_snr_db"] >= 30.0
    # Measured: TFLM's int16 MUL rounds 1 LSB differently from TFLite's reference MUL on a few
    # samples (the enc * mask product), so the full student is not always bit exact in 16x8.
    assert manifest["tflm_max_lsb_diff"] <= 1
