"""Kernel parameters for every layer of a streaming plan, derived once, used twice.

The NumPy streaming reference (``export.stream_ref``) and the C generator
(``export.codegen``) both read the parameters computed here, so the golden model and the
firmware cannot drift apart. Every derivation goes through ``export.intops`` /
``export.intops_params``, which reproduce TFLite's Prepare functions bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from afkd.errors import AfkdError
from afkd.export import intops, intops_linear, intops_pack
from afkd.export.intops_leaky import LeakyReluParams, leaky_relu_params
from afkd.export.plan import Buffer, Layer, StreamingPlan

_NP = {"int8": np.int8, "int16": np.int16}


@dataclass
class LayerParams:
    """What one kernel call needs: scalars (struct fields) and arrays (const data in flash)."""

    layer: Layer
    dtype: type  # np.int8 or np.int16 activations
    scalars: dict[str, int] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    input_zero_point: int = 0  # of the first input, for history and flush frames
    prelu: intops.PreluParams | None = None
    prelu_linear: intops_linear.PreluLinear | None = None  # proven one-MLA form, int8 PRELU
    add_linear: intops_linear.AddLinear | None = None      # proven two-MLA form, int8 ADD
    add: intops.AddParams | None = None
    mul: intops.MulParams | None = None
    leaky_relu: LeakyReluParams | None = None
    mean: object | None = None  # intops_window.MeanParams (the one-window plans' MEAN)

    @property
    def wide(self) -> bool:
        return self.dtype == np.int16


def _buffers(plan: StreamingPlan) -> dict[str, Buffer]:
    every = dict(plan.buffers)
    every[plan.input.name] = plan.input
    every.update({b.name: b for b in plan.outputs.values()})
    return every


def _dense(p: LayerParams, src: Buffer, dst: Buffer, weights: np.ndarray, bias_rows: int) -> None:
    """Shared by encoder, pointwise, depthwise and decoder: multipliers, bias, clamp."""
    layer = p.layer
    if layer.weight_scale is None:
        raise AfkdError(f"layer {layer.name}: weights are not quantized")
    mult, shift = intops.conv_output_multipliers(src.scale, layer.weight_scale, dst.scale)
    if mult.size == 1 and bias_rows > 1:
        mult, shift = np.repeat(mult, bias_rows), np.repeat(shift, bias_rows)
    p.arrays["weights"] = weights.astype(np.int8)
    p.arrays["multiplier"], p.arrays["shift"] = mult.astype(np.int32), shift.astype(np.int32)
    lo, hi = intops.activation_range(layer.activation, dst.scale, dst.zero_point, p.dtype)
    p.scalars.update(act_min=lo, act_max=hi, output_offset=dst.zero_point)
    p.input_zero_point = src.zero_point
    if p.wide and (src.zero_point or dst.zero_point):
        raise AfkdError(f"layer {layer.name}: 16x8 activations must have zero point 0")


def layer_params(plan: StreamingPlan) -> list[LayerParams]:
    if plan.mode not in ("int8", "int16x8"):
        raise AfkdError(f"plan mode {plan.mode!r}: the integer generator handles int8 and int16x8")
    dtype = np.int8 if plan.mode == "int8" else np.int16
    buffers = _buffers(plan)
    out: list[LayerParams] = []
    for layer in plan.layers:
        p = LayerParams(layer, dtype)
        src, dst = buffers[layer.inputs[0]], buffers[layer.output]
        if layer.kind in ("encoder", "pointwise"):
            _dense(p, src, dst, layer.weights, layer.weights.shape[0])
            p.arrays["bias_raw"] = _bias(layer, layer.weights.shape[0], p.wide)
            p.arrays["weights_packed"] = intops_pack.pack_dense_weights(layer.weights, p.wide)
            if not p.wide:
                p.arrays["bias"] = intops.fold_input_offset(layer.bias, layer.weights, src.zero_point)
                p.scalars["requant_32bit"] = intops_pack.requant_mode_s8(
                    p.arrays["bias"], layer.weights.shape[1], p.arrays["shift"], p.scalars["act_min"],
                    p.scalars["act_max"])
            else:
                _wide_output_stage(p, layer.weights.shape[1])
        elif layer.kind == "depthwise":
            _dense(p, src, dst, layer.weights, layer.weights.shape[1])
            p.arrays["bias_raw"] = _bias(layer, layer.weights.shape[1], p.wide)
            if not p.wide:
                p.arrays["bias"] = intops.fold_input_offset(layer.bias, layer.weights.T, src.zero_point)
                p.scalars["requant_32bit"] = intops_pack.requant_mode_s8(
                    p.arrays["bias"], layer.weights.shape[0], p.arrays["shift"], p.scalars["act_min"],
                    p.scalars["act_max"])
            else:
                _wide_output_stage(p, layer.weights.shape[0])
        elif layer.kind == "decoder":
            _dense(p, src, dst, layer.weights, 1)
            p.scalars["bias"] = int(_bias(layer, 1, p.wide)[0])
            if p.wide:  # the 16x8 decoder reads its [L][N] taps packed like a dense layer
                p.arrays["weights_packed"] = intops_pack.pack_dense_weights(layer.weights, True)
                kernel, channels = layer.weights.shape
                m32 = intops_pack.decoder_multiplier32_s16(int(p.arrays["multiplier"][0]), int(p.arrays["shift"][0]),
                                                           p.scalars["bias"], kernel, layer.stride, channels)
                if m32 is not None:  # an int32 tail and one SMMULR per output (afkd_decoder_s16_tail32)
                    p.scalars["multiplier32"] = m32
            if not p.wide:
                p.arrays["tap_offset"] = intops.decoder_tap_offsets(layer.weights, src.zero_point)
        elif layer.kind == "delay":  # a copy: the plan checked that the quantization is kept
            p.input_zero_point = src.zero_point
        elif layer.kind == "prelu":
            if p.wide:
                raise AfkdError(f"layer {layer.name}: TFLite has no 16x8 PRELU; export LeakyReLU instead")
            p.prelu = intops.prelu_params(src.scale, src.zero_point, layer.alpha, layer.alpha_scale,
                                          layer.alpha_zero_point, dst.scale, dst.zero_point)
            p.prelu_linear = intops_linear.prelu_linear_form(p.prelu)
            p.input_zero_point = src.zero_point
        elif layer.kind == "leaky_relu":
            p.leaky_relu = leaky_relu_params(src.scale, src.zero_point, layer.slope, dst.scale, dst.zero_point,
                                             int16=p.wide)
            p.input_zero_point = src.zero_point
        elif layer.kind == "logistic":
            if p.wide:
                m, s = intops.sigmoid_params_s16(src.scale, src.zero_point)
                p.scalars.update(input_multiplier=m, input_left_shift=s)
            else:
                p.arrays["table"] = intops.sigmoid_table_s8(src.scale, src.zero_point)
            p.input_zero_point = src.zero_point
        elif layer.kind in ("add", "mul"):
            other = buffers[layer.inputs[1]]
            make = intops.add_params if layer.kind == "add" else intops.mul_params
            q = make(src.scale, src.zero_point, other.scale, other.zero_point, dst.scale, dst.zero_point,
                     dtype=dtype, activation=layer.activation)
            setattr(p, layer.kind, q)
            if layer.kind == "add" and not p.wide:
                p.add_linear = intops_linear.add_linear_form(q)
            p.input_zero_point = src.zero_point
        else:
            raise AfkdError(f"layer {layer.name}: no kernel for {layer.kind!r}")
        out.append(p)
    return out


def _wide_output_stage(p: LayerParams, terms: int) -> None:
    """16x8 flash encodings (export/intops_pack.py): int32 bias where int32 sums are provably
    exact (else int64), none when all zero; multipliers as m16 (int16), shifts as 15 - shift, and
    with int32 sums and every shift in SMMULR range, the one-int32 form m32 the kernels prefer."""
    raw = p.arrays["bias_raw"]
    bias32, bias64 = intops_pack.split_bias_s16(raw if np.any(raw) else None, raw.size, terms)
    for key, value in (("bias32", bias32), ("bias64", bias64)):
        if value is not None:
            p.arrays[key] = value
    p.arrays["m16"], p.arrays["ts"] = intops_pack.reduced_multiplier_s16(p.arrays["multiplier"], p.arrays["shift"])
    m32 = None if bias64 is not None else intops_pack.smmulr_multiplier_s16(p.arrays["m16"], p.arrays["ts"])
    if m32 is not None:
        p.arrays["m32"] = m32


def _bias(layer: Layer, rows: int, wide: bool) -> np.ndarray:
    dtype = np.int64 if wide else np.int32
    if layer.bias is None:
        return np.zeros(rows, dtype)
    return np.asarray(layer.bias).reshape(-1).astype(dtype)
