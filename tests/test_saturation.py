"""Clipping counts: the input and each activation at the ends of its quantized range."""

import keras
import numpy as np
import pytest
from keras import layers

from afkd.export import checks
from afkd.export.tflite_export import convert
from afkd.export import saturation

LENGTH = 64


def _model(quant: str, relu: bool) -> bytes:
    """Conv (+ReLU) then a sigmoid, calibrated on a unit-amplitude sine."""
    x = keras.Input(shape=(1, LENGTH, 1), batch_size=1)
    y = layers.Conv2D(4, (1, 3), padding="same", activation="relu" if relu else None, name="conv")(x)
    y = layers.Activation("sigmoid", name="gate")(y)
    calibration = [np.sin(np.linspace(0, 6, LENGTH)).astype(np.float32)]
    return convert(keras.Model(x, y), quant, calibration)


def _inputs(model: bytes, amplitude: float) -> list[np.ndarray]:
    io = checks.io_quantization(checks.interpreter(model))["input"]
    x = amplitude * np.sin(np.linspace(0, 6, LENGTH))
    return [checks.quantize(x, io["scale"], io["zero_point"], np.dtype(io["dtype"])).reshape(io["shape"])]


@pytest.mark.parametrize("quant", ["int8", "int16x8"])
def test_inside_the_calibrated_range_nothing_clips(quant):
    model = _model(quant, relu=False)
    got = saturation.measure(model, _inputs(model, 0.9))
    assert (got.input_clipped, got.layers) == (0, [])
    assert got.input_samples == LENGTH and got.to_dict()["worst_fraction"] == 0.0


@pytest.mark.parametrize("quant", ["int8", "int16x8"])
def test_a_louder_signal_clips_at_the_input_and_in_the_conv_not_in_the_sigmoid(quant):
    model = _model(quant, relu=False)
    got = saturation.measure(model, _inputs(model, 4.0))
    assert 0 < got.input_clipped < LENGTH
    assert [s.op for s in got.layers] == ["CONV_2D"]  # LOGISTIC's 0 and 1 are not clipping
    assert got.worst.clipped > 0 and got.to_dict()["worst_layer"] == got.worst.layer
    io = checks.io_quantization(checks.interpreter(model))["input"]
    info = np.iinfo(np.dtype(io["dtype"]))
    low, high = got.input_range_mv
    assert (low, high) == pytest.approx((io["scale"] * (info.min - io["zero_point"]), io["scale"] * (info.max - io["zero_point"])))


def test_a_range_reads_symmetric_only_when_it_is():
    assert saturation.mv_range((-22.4, 22.399)) == "+-22.4 mV"
    assert saturation.mv_range((-0.51, 2.1)) == "-0.51 to 2.1 mV"


def test_relu_zeros_at_the_lower_rail_are_not_clipping():
    # int8 ReLU output: zero point -128, so every zero sits on the rail; only the top one counts.
    model = _model("int8", relu=True)
    got = saturation.measure(model, _inputs(model, 0.9))
    assert got.layers == []


def test_only_the_valid_samples_count_at_the_input():
    model = _model("int16x8", relu=False)
    x = _inputs(model, 4.0)[0]
    whole = saturation.measure(model, [x]).input_clipped
    half = saturation.measure(model, [x], valid=[LENGTH // 2]).input_clipped
    flat = x.reshape(-1)
    info = np.iinfo(flat.dtype)
    assert half == np.count_nonzero((flat[: LENGTH // 2] == info.min) | (flat[: LENGTH // 2] == info.max))
    assert half < whole
