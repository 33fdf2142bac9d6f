"""Rebuild a folded beat CNN (BeatCNN) in Keras, NHWC with H = 1, weights copied in.

One call classifies one beat window; every layer converts to one TFLite builtin::

    Lambda(mean over time) + Subtract        -> MEAN + SUB        the window's baseline removed
    Conv2D (1,k) 'same' + ReLU               -> CONV_2D (SAME)    BatchNorm folded in
    MaxPooling2D (1,pool)                    -> MAX_POOL_2D
    Flatten                                  -> RESHAPE
    Dense + ReLU, Dense                      -> FULLY_CONNECTED x 2

Input ``beat`` (1, 1, W, 1) mV (R peak at sample ``before``); output ``logits`` (1, classes).
PyTorch flattens (C, t) channel-major and Keras (t, C) time-major, so the first dense
layer's columns are permuted here; the padding of a 'same' convolution is (k-1)//2 before
and k//2 after in both frameworks.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from afkd.errors import AfkdError
from afkd.export.keras_model import _Builder, _conv, _np
from afkd.training.model_beat import BeatCNN

INPUT_NAME = "beat"
OUTPUT_NAMES = ("logits",)


def _dense(linear, name: str, activation: str | None, weight=None):
    layer = layers.Dense(linear.out_features, activation=activation, name=name)
    kernel = _np(linear.weight).T if weight is None else weight
    return layer, [kernel, _np(linear.bias)]


def build_beat_keras(model: BeatCNN, length: int | None = None, leaky_relu: bool = False) -> keras.Model:
    """Keras twin of a *folded* beat CNN; ``length`` must be None or the window (W samples).

    ``leaky_relu`` is accepted for the common builder signature: the beat CNN has no PReLU.
    """
    from afkd.export.fold import is_folded

    cfg = model.cfg
    if not is_folded(model):
        raise AfkdError("beat CNN: fold BatchNorm before building the Keras graph")
    if length is not None and length != cfg.window:
        raise AfkdError(f"input length {length}: the beat CNN reads windows of {cfg.window} samples")
    b = _Builder()
    x = keras.Input(shape=(1, cfg.window, 1), batch_size=1, name=INPUT_NAME)
    h = x
    if cfg.center:
        mean = layers.Lambda(lambda v: keras.ops.mean(v, axis=2, keepdims=True), name="window_mean")(x)
        h = layers.Subtract(name="centered")([x, mean])  # (1, 1, W, 1)
    for i, conv in enumerate(model.convs):
        k = conv.kernel_size[0]
        layer = layers.Conv2D(conv.out_channels, (1, k), padding="same", activation="relu", name=f"conv{i}")
        kernel = _np(conv.weight).transpose(2, 1, 0)[None]  # (out, in, k) -> (1, k, in, out)
        h = b((layer, [kernel, _np(conv.bias)]), h)  # (1, 1, t, C)
        h = layers.MaxPooling2D((1, cfg.pool), name=f"pool{i}")(h)  # (1, 1, t / pool, C)
    h = layers.Flatten(name="flatten")(h)  # (1, t * C), time-major
    channels, steps = cfg.channels[-1], cfg.window // cfg.pool ** len(cfg.channels)
    torch_kernel = _np(model.hidden.weight).reshape(cfg.dense, channels, steps)  # (D, C, t)
    kernel = np.ascontiguousarray(torch_kernel.transpose(2, 1, 0).reshape(steps * channels, cfg.dense))
    h = b(_dense(model.hidden, "hidden", "relu", kernel), h)  # (1, D)
    logits = b(_dense(model.out, OUTPUT_NAMES[0], None), h)  # (1, classes)
    keras_model = keras.Model(x, [logits], name="beat_cnn")
    b.set_weights()
    return keras_model
