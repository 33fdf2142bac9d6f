"""Rebuild a folded rhythm detector (RhythmTCN) in Keras, NHWC with H = 1, weights copied in.

The detector is one DT-FENet path with a class head, so it reuses the f-wave rebuild's
layers (:mod:`afkd.export.keras_model`) and converts to ops the firmware already runs::

    ZeroPadding2D (one hop, causal framing)  -> PAD
    Conv2D (1,L) stride (1,S) + ReLU         -> CONV_2D          encoder
    TCN (1x1, PReLU, pad + dilated depthwise, 1x1, residual ADD, PReLU)
    Conv2D 1x1 B -> classes                  -> CONV_2D          head: frame logits

Input ``ecg`` (1, 1, T, 1) mV at the model rate; output ``logits`` (1, 1, T/S, classes).
Frame t sees samples up to tS+S-1 only, so a fixed-length graph run on a zero-padded record
gives, on the record's frames, the logits the stream gives; the decision is the argmax of
their mean (the firmware keeps the int32 sum of the quantized logits: the same argmax).
"""

from __future__ import annotations

import keras
from keras import layers

from afkd.errors import AfkdError
from afkd.export.keras_model import _Builder, _conv, _tcn
from afkd.training.model_detector import RhythmTCN

INPUT_NAME = "ecg"
OUTPUT_NAMES = ("logits",)


def build_detector_keras(model: RhythmTCN, length: int, leaky_relu: bool = False) -> keras.Model:
    """Keras twin of a *folded* detector for a fixed input of ``length`` samples."""
    from afkd.export.fold import is_folded

    cfg = model.cfg
    if not is_folded(model):
        raise AfkdError("rhythm detector: fold BatchNorm before building the Keras graph")
    if length <= 0 or length % cfg.hop:
        raise AfkdError(f"input length {length}: must be a positive multiple of the hop {cfg.hop}")
    S = cfg.hop
    b = _Builder()
    x = keras.Input(shape=(1, length, 1), batch_size=1, name=INPUT_NAME)
    padded = layers.ZeroPadding2D(((0, 0), (S, 0)), name="causal_pad")(x)  # (1, 1, T+S, 1)
    enc = b(_conv(model.encoder, "encoder", activation="relu", stride=S), padded)  # (1, 1, T/S, N)
    h = _tcn(b, model.tcn, enc, "tcn", causal=True, leaky=leaky_relu)  # (1, 1, T/S, B)
    logits = b(_conv(model.head, OUTPUT_NAMES[0]), h)  # (1, 1, T/S, classes)
    keras_model = keras.Model(x, [logits], name="rhythm_tcn")
    b.set_weights()
    return keras_model
