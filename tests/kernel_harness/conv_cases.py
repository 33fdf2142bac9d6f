"""Single-op conv models (pointwise, encoder, depthwise, decoder) and their kernel params."""

from __future__ import annotations

import numpy as np

from afkd.export import intops
from tests.kernel_harness import tflite_ops


def randomize(model, seed: int, weight_scale: float = 0.3, bias_scale: float = 0.2) -> None:
    """Give every layer random weights and a non-zero bias, so the bias path is exercised."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([(bias_scale if w.ndim == 1 else weight_scale)
                               * rng.standard_normal(w.shape).astype(np.float32)
                               for w in weights])


def conv_model(kind: str, channels_in: int, channels_out: int, dilation: int = 1,
               frames: int = 24, relu: bool = False, seed: int = 0):
    """A Keras model with one conv op; returns (model, input length in frames or samples)."""
    import keras

    if kind == "encoder":
        x = keras.Input(shape=(1, frames * 8 + 8, 1), batch_size=1)
        y = keras.layers.Conv2D(channels_out, (1, 16), strides=(1, 8), use_bias=False,
                                activation="relu")(x)
    elif kind == "pointwise":
        x = keras.Input(shape=(1, frames, channels_in), batch_size=1)
        y = keras.layers.Conv2D(channels_out, 1, activation="relu" if relu else None)(x)
    elif kind == "depthwise":
        x = keras.Input(shape=(1, frames + 2 * dilation, channels_in), batch_size=1)
        y = keras.layers.DepthwiseConv2D((1, 3), dilation_rate=(1, dilation),
                                         activation="relu" if relu else None)(x)
    elif kind == "decoder":
        x = keras.Input(shape=(1, frames, channels_in), batch_size=1)
        y = keras.layers.Conv2DTranspose(1, (1, 16), strides=(1, 8))(x)
    else:
        raise ValueError(kind)
    model = keras.Model(x, y)
    randomize(model, seed)
    return model


OP_NAME = {"encoder": "CONV_2D", "pointwise": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D",
           "decoder": "TRANSPOSE_CONV"}


def extract(flatbuffer: bytes, kind: str, relu: bool) -> dict:
    """Weights (2-D, afkd layout), bias, zero points, multipliers and clamp of the op."""
    op = tflite_ops.TfliteOp(flatbuffer, OP_NAME[kind])
    if kind == "decoder":
        filt, x, bias = op.tensor(1), op.tensor(2), op.tensor(3)
        weights = filt["value"].reshape(filt["shape"][2], filt["shape"][3])   # (L, N)
    else:
        x, filt, bias = op.tensor(0), op.tensor(1), op.tensor(2)
        if kind == "depthwise":
            weights = filt["value"].reshape(filt["shape"][2], filt["shape"][3])   # (K, C)
        else:
            weights = filt["value"].reshape(filt["shape"][0], -1)          # (Cout, L*Cin)
    out = op.output()
    dtype = out["dtype"]
    multiplier, shift = intops.conv_output_multipliers(x["scales"][0], filt["scales"],
                                                       out["scales"][0])
    activation = "RELU" if (relu or kind == "encoder") else "NONE"
    act_min, act_max = intops.activation_range(activation, out["scales"][0],
                                               out["zero_points"][0], dtype)
    return {"weights": weights, "bias": None if bias is None else bias["value"],
            "input_zero_point": int(x["zero_points"][0]),
            "output_zero_point": int(out["zero_points"][0]),
            "multiplier": multiplier, "shift": shift, "act_min": act_min, "act_max": act_max,
            "dtype": dtype, "ops": op.ops()}
