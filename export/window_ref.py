"""Kernel parameters of a one-window plan and its NumPy reference (the golden model of the
generated one-window firmware).

Conv and dense layers derive their parameters exactly as the streaming layers do
(``export.kernel_params``: the same dense kernel runs them), MEAN, SUB and MAX_POOL_2D theirs
from ``export.intops_window``. ``WindowReference.run`` equals TFLM's output on the same
.tflite (``tests/test_window_ref.py``); the firmware equals it.
"""

from __future__ import annotations

import numpy as np

from afkd.errors import AfkdError
from afkd.export import intops, intops_pack, intops_window
from afkd.export.kernel_params import LayerParams, _bias, _dense, _wide_output_stage
from afkd.export.window_plan import WindowPlan


def window_params(plan: WindowPlan) -> list[LayerParams]:
    """One LayerParams per layer (``layer`` is the WindowLayer): what its kernel call needs."""
    if plan.mode not in ("int8", "int16x8"):
        raise AfkdError(f"plan mode {plan.mode!r}: the integer generator handles int8 and int16x8")
    dtype = np.int8 if plan.mode == "int8" else np.int16
    out: list[LayerParams] = []
    for layer in plan.layers:
        p = LayerParams(layer, dtype)
        src, dst = plan.buffers[layer.inputs[0]], plan.buffers[layer.output]
        if layer.kind in ("conv", "dense"):
            rows, cols = layer.weights.shape
            _dense(p, src, dst, layer.weights, rows)
            p.arrays["bias_raw"] = _bias(layer, rows, p.wide)
            p.arrays["weights_packed"] = intops_pack.pack_dense_weights(layer.weights, p.wide)
            if p.wide:
                _wide_output_stage(p, cols)
            else:
                p.arrays["bias"] = intops.fold_input_offset(layer.bias, layer.weights, src.zero_point)
                p.scalars["requant_32bit"] = intops_pack.requant_mode_s8(p.arrays["bias"], cols, p.arrays["shift"],
                                                                         p.scalars["act_min"], p.scalars["act_max"])
        elif layer.kind == "mean":
            p.mean = intops_window.mean_params(src.scale, src.zero_point, dst.scale, dst.zero_point, src.size)
            p.input_zero_point = src.zero_point
        elif layer.kind == "sub":
            other = plan.buffers[layer.inputs[1]]
            p.add = intops.add_params(src.scale, src.zero_point, other.scale, other.zero_point, dst.scale,
                                      dst.zero_point, dtype=dtype, activation=layer.activation)
            p.scalars["broadcast"] = int(other.size == 1 and src.size > 1)
            p.input_zero_point = src.zero_point
        elif layer.kind == "max_pool":
            lo, hi = intops.activation_range(layer.activation, dst.scale, dst.zero_point, dtype)
            p.scalars.update(act_min=lo, act_max=hi)
            p.input_zero_point = src.zero_point
        else:
            raise AfkdError(f"layer {layer.name}: no kernel for {layer.kind!r}")
        out.append(p)
    return out


class WindowReference:
    """``run(window) -> logits`` (integer codes), computed as the firmware computes them."""

    def __init__(self, plan: WindowPlan):
        self.plan = plan
        self.params = window_params(plan)
        self.dtype = np.int8 if plan.mode == "int8" else np.int16

    def run(self, window: np.ndarray, dump: dict | None = None) -> np.ndarray:
        plan = self.plan
        x = np.asarray(window).reshape(-1)
        if x.size != plan.window:
            raise AfkdError(f"window: the model reads {plan.window} samples, got {x.size}")
        values = {plan.input.name: x.astype(self.dtype).reshape(plan.window, 1)}
        for p in self.params:
            values[p.layer.output] = self._run(p, values)
            if dump is not None:
                dump[p.layer.name] = values[p.layer.output]
        return values[plan.output.name].reshape(-1)

    def _run(self, p: LayerParams, values: dict) -> np.ndarray:
        layer, a, s = p.layer, p.arrays, p.scalars
        plan = self.plan
        x = values[layer.inputs[0]]
        dst = plan.buffers[layer.output]
        if layer.kind == "mean":
            return intops_window.mean(x, p.mean, self.dtype).reshape(1, 1)
        if layer.kind == "sub":
            return intops_window.sub(x, values[layer.inputs[1]].reshape(-1)[0] if s["broadcast"]
                                     else values[layer.inputs[1]], p.add, self.dtype)
        if layer.kind == "conv":
            padded = intops_window.pad_window(x, layer.pad_before, layer.pad_after, p.input_zero_point)
            return intops_window.conv_window(padded, a["weights"], a["bias_raw"], layer.kernel, layer.stride,
                                             p.input_zero_point, a["multiplier"], a["shift"], s["output_offset"],
                                             s["act_min"], s["act_max"], p.wide)
        if layer.kind == "max_pool":
            return intops_window.max_pool(x, layer.kernel, layer.stride, s["act_min"], s["act_max"])
        if layer.kind == "dense":
            return intops.pointwise(np.asarray(x).reshape(1, -1), a["weights"], a["bias_raw"], p.input_zero_point,
                                    a["multiplier"], a["shift"], s["output_offset"], s["act_min"], s["act_max"],
                                    p.wide).reshape(dst.steps, dst.channels)
        raise AfkdError(f"layer {layer.name}: no reference for {layer.kind!r}")
