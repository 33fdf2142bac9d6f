"""Rebuild a folded DT-FENet in Keras (NHWC, H = 1) with the PyTorch weights copied in.

Every layer is chosen so that it converts to exactly one TFLite builtin the firmware runs::

    ZeroPadding2D (causal pad)          -> PAD
    Conv2D (1,k) [+ fused ReLU]         -> CONV_2D
    DepthwiseConv2D (1,P) dilation (1,d)-> DEPTHWISE_CONV_2D (dilation kept in the op)
    PReLU (one alpha, shared over all)  -> PRELU  (int16x8: LeakyReLU -> LEAKY_RELU)
    Activation("sigmoid")               -> LOGISTIC
    Add / Multiply                      -> ADD / MUL
    Conv2DTranspose (1,L) stride (1,S)  -> TRANSPOSE_CONV
    Cropping2D (drop the padded hop)    -> STRIDED_SLICE
    ZeroPadding2D + Cropping2D (delay)  -> PAD + STRIDED_SLICE: encoder frames delayed by the
                                           model's lookahead before the mask multiply

Tensor layout: the input is (1, 1, T, 1) mV, frames are (1, 1, T/S, C), the outputs ``aa`` and
``va`` are (1, 1, T, 1) mV. No reshape is needed. Weight layouts: torch Conv1d (out, in, k) ->
Keras Conv2D (1, k, in, out); depthwise (H, 1, k) -> (1, k, H, 1); ConvTranspose1d (in, out, k)
-> Conv2DTranspose (1, k, out, in). Both frameworks' transposed convolutions are the adjoint
of a correlation, so the kernel is not flipped.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras import layers  # noqa: E402

from afkd.errors import AfkdError  # noqa: E402
from afkd.training.model import DTFENet  # noqa: E402

INPUT_NAME = "ecg"
OUTPUT_NAMES = ("aa", "va")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _conv_weights(conv: torch.nn.Conv1d) -> list[np.ndarray]:
    kernel = _np(conv.weight).transpose(2, 1, 0)[None]  # (1, k, in, out)
    return [kernel] if conv.bias is None else [kernel, _np(conv.bias)]


def _conv(conv: torch.nn.Conv1d, name: str, activation: str | None = None, stride: int = 1):
    layer = layers.Conv2D(
        conv.out_channels, (1, conv.kernel_size[0]), strides=(1, stride), padding="valid",
        use_bias=conv.bias is not None, activation=activation, name=name,
    )
    return layer, _conv_weights(conv)


def _prelu(act: torch.nn.PReLU, name: str, leaky: bool):
    """PReLU with one slope -> PRELU, or (``leaky``) LEAKY_RELU with that slope as a constant.

    The two are the same function once the weights are frozen. TFLite's quantizer has no 16x8
    PRELU, so the int16x8 graph uses LEAKY_RELU.
    """
    if act.weight.numel() != 1:
        raise AfkdError(f"layer {name}: PReLU with {act.weight.numel()} slopes, the graph expects one")
    if leaky:
        slope = float(act.weight.item())
        if slope < 0:
            raise AfkdError(f"layer {name}: PReLU slope {slope:.4g} < 0 has no 16x8 form (LEAKY_RELU needs "
                            f"a slope >= 0); export with --quant int8, or retrain (afkd training clamps slopes)")
        return layers.LeakyReLU(negative_slope=slope, name=name), []
    layer = layers.PReLU(shared_axes=[1, 2, 3], name=name)
    return layer, [_np(act.weight).reshape(1, 1, 1)]


class _Builder:
    """Creates layers, remembers their weights, sets them once the graph is built."""

    def __init__(self):
        self.pending: list[tuple[layers.Layer, list[np.ndarray]]] = []

    def __call__(self, made, x):
        layer, weights = made
        y = layer(x)
        self.pending.append((layer, weights))
        return y

    def set_weights(self) -> None:
        for layer, weights in self.pending:
            if weights:
                layer.set_weights(weights)


def _tcn(b: _Builder, tcn, x, path: str, causal: bool, leaky: bool):
    """x (1, 1, frames, N) -> h (1, 1, frames, B)."""
    h = b(_conv(tcn.bottleneck, f"{path}_bottleneck"), x)
    for i, block in enumerate(tcn.blocks):
        name = f"{path}_block{i}"
        y = b(_conv(block.in_conv, f"{name}_in"), h)
        y = b(_prelu(block.act1, f"{name}_prelu1", leaky), y)
        left = block.pad if causal else block.pad // 2
        if block.pad:
            y = layers.ZeroPadding2D(((0, 0), (left, block.pad - left)), name=f"{name}_pad")(y)
        dw = block.depthwise
        layer = layers.DepthwiseConv2D(
            (1, dw.kernel_size[0]), dilation_rate=(1, block.dilation), padding="valid",
            use_bias=True, name=f"{name}_depthwise",
        )
        kernel = _np(dw.weight).transpose(2, 0, 1)[None]  # (H, 1, k) -> (1, k, H, 1)
        y = b((layer, [kernel, _np(dw.bias)]), y)
        y = b(_prelu(block.act2, f"{name}_prelu2", leaky), y)
        y = b(_conv(block.out_conv, f"{name}_out"), y)
        h = layers.Add(name=f"{name}_residual")([h, y])
    return b(_prelu(tcn.out_act, f"{path}_prelu_out", leaky), h)


def _mask(b: _Builder, head, h_self, h_other, path: str):
    """M = sigmoid(W_self h_self + W_cross h_other + b): (1, 1, frames, N)."""
    z = b(_conv(head.self_conv, f"{path}_mask_self"), h_self)
    if head.cross_conv is not None:
        cross = b(_conv(head.cross_conv, f"{path}_mask_cross"), h_other)
        z = layers.Add(name=f"{path}_mask_sum")([z, cross])
    return layers.Activation("sigmoid", name=f"{path}_mask")(z)


def _decoder(b: _Builder, deconv: torch.nn.ConvTranspose1d, x, path: str, hop: int):
    """(1, 1, frames, N) -> (1, 1, frames*S + S, 1) -> crop the padded hop -> (1, 1, T, 1)."""
    L = deconv.kernel_size[0]
    layer = layers.Conv2DTranspose(1, (1, L), strides=(1, hop), padding="valid", use_bias=False,
                                   name=f"{path}_decoder")
    kernel = _np(deconv.weight).transpose(2, 1, 0)[None]  # (N, 1, L) -> (1, L, 1, N)
    y = b((layer, [kernel]), x)
    return layers.Cropping2D(((0, 0), (hop, 0)), name=OUTPUT_NAMES[0] if path == "aa" else OUTPUT_NAMES[1])(y)


def _delay(x, frames: int, path: str):
    """(1, 1, T', C) -> the same frames ``frames`` later: zeros in front, the last ones dropped."""
    if frames == 0:
        return x
    y = layers.ZeroPadding2D(((0, 0), (frames, 0)), name=f"{path}_delay_pad")(x)
    return layers.Cropping2D(((0, 0), (0, frames)), name=f"{path}_delay")(y)


def build_keras_model(model: DTFENet, length: int, leaky_relu: bool = False) -> keras.Model:
    """Keras twin of a *folded* model (``norm="none"``) for a fixed input length in samples.

    ``leaky_relu`` writes each single-slope PReLU as LeakyReLU (needed for int16x8).
    Input ``ecg`` (1, 1, length, 1) mV; outputs ``aa``, ``va`` (1, 1, length, 1) mV.
    """
    cfg = model.cfg
    if cfg.norm != "none":
        raise AfkdError(f"model norm {cfg.norm!r}: fold BatchNorm before building the Keras graph")
    if length <= 0 or length % cfg.hop:
        raise AfkdError(f"input length {length}: must be a positive multiple of the hop {cfg.hop}")
    S = cfg.hop
    b = _Builder()
    x = keras.Input(shape=(1, length, 1), batch_size=1, name=INPUT_NAME)
    padded = layers.ZeroPadding2D(((0, 0), (S, 0)), name="causal_pad")(x)  # (1, 1, T+S, 1)
    enc = {}
    for path in ("aa", "va"):
        conv = getattr(model, f"encoder_{path}")
        enc[path] = b(_conv(conv, f"{path}_encoder", activation="relu", stride=S), padded)
    h = {p: _tcn(b, getattr(model, f"tcn_{p}"), enc[p], p, cfg.causal, leaky_relu) for p in ("aa", "va")}
    outputs = []
    for path, other in (("aa", "va"), ("va", "aa")):
        mask = _mask(b, getattr(model, f"mask_{path}"), h[path], h[other], path)
        masked = layers.Multiply(name=f"{path}_masked")([_delay(enc[path], cfg.lookahead, path), mask])
        outputs.append(_decoder(b, getattr(model, f"decoder_{path}"), masked, path, S))
    keras_model = keras.Model(x, outputs, name="dtfenet")
    b.set_weights()
    return keras_model
