"""Generate the one-window C model (the beat CNN) from a window plan.

Same three layers as ``export.codegen``: c_literals formats, this module builds a plain dict,
``firmware/templates/window_model.[ch].j2`` hold the C structure. The dense output stages and
weight layouts are the streaming generator's (``codegen._output_stage``), so the conv and
FULLY_CONNECTED layers run the same dense kernel with the same parameters as a 1x1 layer.

Memory: one caller-owned scratch struct of slots, reused once a buffer's last reader has run
(a linear scan, as the streaming generator's frame slots). A buffer a 'same' convolution reads
gets margins in its slot, filled with the input zero point before the call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkd import __version__
from afkd.errors import AfkdError
from afkd.export import intops_pack
from afkd.export.c_literals import c_float, c_int, c_prefix, c_string
from afkd.export.codegen import (_CTYPE, TEMPLATE_SOURCE, WEIGHT_STORAGE, _braced, _Context, _environment, _output_stage,
                                 dense_w16_entry)
from afkd.export.kernel_params import LayerParams
from afkd.export.window_plan import WindowPlan
from afkd.export.window_ref import window_params

TEMPLATES = {"window_model.h.j2": "{prefix}_model.h", "window_model.c.j2": "{prefix}_model.c",
             "weights.h.j2": "{prefix}_weights.h", "weights.c.j2": "{prefix}_weights.c",
             "glue.h.j2": "afkd_model_glue.h", "glue.c.j2": "afkd_model_glue.c"}


def _dense_fields(ctx: _Context, p: LayerParams, what: str) -> tuple[list[tuple[str, str]], bool]:
    """afkd_dense_<sfx>_params fields of a conv or dense layer; True when the checked 16x8
    int16-weight entry applies (afkd_pointwise_s16_w16)."""
    layer, a, s = p.layer, p.arrays, p.scalars
    rows, cols = layer.weights.shape
    if ctx.weights16 and ("m32" in a or not p.wide):
        w16 = ctx.array(layer.name, "weights16", intops_pack.pack_dense_weights16(layer.weights), "int16_t",
                        f"{layer.name}: {what} int8 weights [{rows}][{cols}] stored as int16, 4 rows at a time")
        fields = [("rows", c_int(rows)), ("cols", c_int(cols)), ("weights", "NULL"), ("weights16", w16)]
    else:
        w = ctx.array(layer.name, "weights", a["weights_packed"], "int8_t",
                      f"{layer.name}: {what} int8 weights [{rows}][{cols}], packed 4 rows at a time")
        fields = [("rows", c_int(rows)), ("cols", c_int(cols)), ("weights", w), ("weights16", "NULL")]
    fields += _output_stage(ctx, layer, a, s, p.wide, bias_array=ctx.weights16)
    return fields, bool(p.wide and ctx.weights16 and dense_w16_entry(rows, cols, a, s))


def _slots(plan: WindowPlan) -> tuple[dict[str, int], list[int], dict[str, tuple[int, int]]]:
    """Buffer -> slot index, slot sizes in values, and each buffer's (pad before, pad after)
    frames (the margins a convolution reading it needs). The input and output are the caller's."""
    margins: dict[str, tuple[int, int]] = {}
    for layer in plan.layers:
        if layer.kind == "conv":
            margins[layer.inputs[0]] = (layer.pad_before, layer.pad_after)
    last_use = {name: i for i, layer in enumerate(plan.layers) for name in layer.inputs}
    slot_of: dict[str, int] = {}
    sizes: list[int] = []
    busy: dict[str, int] = {}
    for i, layer in enumerate(plan.layers):
        for name, slot in list(busy.items()):
            if last_use.get(name, -1) < i:
                del busy[name]
        if layer.output == plan.output.name:
            continue
        buf = plan.buffers[layer.output]
        before, after = margins.get(layer.output, (0, 0))
        need = (before + buf.steps + after) * buf.channels
        free = sorted(set(range(len(sizes))) - set(busy.values()))
        slot = free[0] if free else len(sizes)
        if slot == len(sizes):
            sizes.append(0)
        sizes[slot] = max(sizes[slot], need)
        slot_of[layer.output] = slot
        busy[layer.output] = slot
    return slot_of, sizes, margins


def build_window_context(plan: WindowPlan, prefix: str, fs: int, source_name: str, source_sha256: str,
                         weight_storage: str = "int8", class_names: list[str] | None = None) -> dict[str, Any]:
    if weight_storage not in WEIGHT_STORAGE or weight_storage == "sparse":  # sparse: the streaming models only
        raise AfkdError(f"weight storage {weight_storage!r}: a one-window model takes int16 or int8")
    prefix = c_prefix(prefix)
    params = window_params(plan)
    dtype = params[0].dtype
    sample_t, sfx = _CTYPE[dtype], ("s8" if dtype == np.int8 else "s16")
    nbytes = np.dtype(dtype).itemsize
    classes = plan.output.channels
    class_names = list(class_names) if class_names is not None else [f"class{i}" for i in range(classes)]
    if len(class_names) != classes:
        raise AfkdError(f"{len(class_names)} class names for a model of {classes} logits")
    if any(plan.buffers[l.inputs[0]].name == plan.input.name for l in plan.layers if l.kind == "conv"):
        raise AfkdError(f"{source_name}: a convolution reads the input window directly; the one-window "
                        "generator expects the window's mean removed first (BeatCNN center=True)")
    ctx = _Context(prefix, sfx, weight_storage)
    slot_of, sizes, margins = _slots(plan)

    def where(name: str) -> str:  # C expression of a buffer's first value
        if name == plan.input.name:
            return "window"
        if name == plan.output.name:
            return "logits"
        before = margins.get(name, (0, 0))[0] * plan.buffers[name].channels
        return f"&scratch->slot{slot_of[name]}[{before}]"

    layers = []
    for p in params:
        layer, s = p.layer, p.scalars
        src, dst = plan.buffers[layer.inputs[0]], plan.buffers[layer.output]
        entry = {"kind": layer.kind, "name": layer.name, "ins": [where(n) for n in layer.inputs],
                 "out": where(layer.output), "out_count": dst.size}
        if layer.kind == "conv":
            fields, _ = _dense_fields(ctx, p, f"conv kernel {layer.kernel},")
            before, after = margins[layer.inputs[0]]
            entry.update(
                params=ctx.struct(layer.name, f"afkd_conv_{sfx}_params",
                                  [("out_steps", c_int(dst.steps)), ("step_values", c_int(layer.stride * src.channels)),
                                   ("dense", _braced(fields))],
                                  f"{layer.name}: CONV_2D kernel {layer.kernel}, stride {layer.stride}, "
                                  f"{src.channels} -> {dst.channels} channels, {dst.steps} positions"),
                padded=f"&scratch->slot{slot_of[layer.inputs[0]]}[0]", pad_fill=[
                    {"at": 0, "count": before * src.channels},
                    {"at": (before + src.steps) * src.channels, "count": after * src.channels}],
                zero_point=p.input_zero_point,
                comment=f"{layer.name}: convolution ({'ReLU, ' if layer.activation == 'RELU' else ''}"
                        f"{before} + {after} zero-point frames of padding)")
        elif layer.kind == "dense":
            fields, checked = _dense_fields(ctx, p, "fully connected")
            rows, cols = layer.weights.shape
            entry.update(params=ctx.struct(layer.name, f"afkd_dense_{sfx}_params", fields,
                                           f"{layer.name}: FULLY_CONNECTED {cols} -> {rows}"),
                         function=f"afkd_pointwise_{sfx}{'_w16' if checked else ''}",
                         comment=f"{layer.name}: fully connected {cols} -> {rows}"
                                 f"{', ReLU' if layer.activation == 'RELU' else ''} (the dense kernel)")
        elif layer.kind == "max_pool":
            entry.update(params=ctx.struct(layer.name, "afkd_max_pool_params",
                                           [("channels", c_int(dst.channels)), ("pool", c_int(layer.kernel)),
                                            ("stride", c_int(layer.stride)), ("out_steps", c_int(dst.steps)),
                                            ("act_min", c_int(s["act_min"])), ("act_max", c_int(s["act_max"]))],
                                           f"{layer.name}: max pooling {layer.kernel}, stride {layer.stride}"),
                         comment=f"{layer.name}: max pooling over {layer.kernel} steps")
        elif layer.kind == "mean":
            q = p.mean
            entry.update(params=ctx.struct(layer.name, "afkd_mean_params",
                                           [(name, c_int(getattr(q, name))) for name in
                                            ("count", "input_zero_point", "output_zero_point", "multiplier", "shift")],
                                           f"{layer.name}: mean of {q.count} values (1/count in the multiplier)"),
                         comment=f"{layer.name}: the window's mean")
        elif layer.kind == "sub":
            q = p.add
            entry.update(params=ctx.struct(layer.name, "afkd_add_params",
                                           [(name, c_int(getattr(q, name))) for name in q.__dataclass_fields__],
                                           f"{layer.name}: subtraction (ADD's parameters)"),
                         b_step=0 if s["broadcast"] else 1, count=dst.size,
                         comment=f"{layer.name}: the window minus its mean")
        else:  # pragma: no cover - window_params refuses other kinds first
            raise AfkdError(f"layer {layer.name}: no C for {layer.kind!r}")
        layers.append(entry)
    info = np.iinfo(dtype)
    # every slot and the wrapper's window start on a word (model.h: WORD_ALIGNED)
    scratch_bytes = sum(-(-size * nbytes // 4) * 4 for size in sizes + [plan.window])
    return {
        "prefix": prefix, "PREFIX": prefix.upper(), "version": __version__, "source_name": source_name,
        "source_sha256": source_sha256, "mode": plan.mode, "fs": int(fs), "window": plan.window,
        "hop": plan.window, "latency_hops": 0, "macs_per_hop": plan.macs_per_window,
        "macs_per_window": plan.macs_per_window, "sample_t": sample_t, "sample_bytes": nbytes,
        "sample_min": int(info.min), "sample_max": int(info.max), "sfx": sfx,
        "input": {"scale_literal": c_float(plan.input.scale), "scale_text": f"{plan.input.scale:.9g}",
                  "zero_point": plan.input.zero_point},
        "output": {"scale_literal": c_float(plan.output.scale), "scale_text": f"{plan.output.scale:.9g}",
                   "zero_point": plan.output.zero_point},
        "arrays": ctx.arrays, "params": ctx.params, "layers": layers,
        "slots": [{"name": f"slot{i}", "length": size} for i, size in enumerate(sizes)],
        "scratch_bytes": scratch_bytes, "state_bytes": scratch_bytes,
        "output_kind": "window", "classes": classes, "class_names": [c_string(c) for c in class_names],
        "output_values": classes,
        "weight_bytes": sum(int(p.arrays["weights"].size) for p in params if "weights" in p.arrays),
        "weight_storage": weight_storage,
        "weights16_only": ctx.weights16 and all("m32" in p.arrays for p in params if p.layer.kind in ("conv", "dense")),
        "weights8_only": not ctx.weights16,
        "s8_weights16_only": ctx.weights16,
        "s16_w8_wide": ctx.sfx == "s16" and not ctx.weights16 and any(
            p.layer.kind in ("conv", "dense") and p.layer.weights.shape[1] > 64 for p in params),
        # The harness's receive buffer must hold one window (afkd_protocol.h AFKD_PROTO_MAX_PAYLOAD).
        "max_payload": max(256, plan.window * nbytes),
    }


def render_window_model(context: dict[str, Any]) -> dict[str, str]:
    env = _environment()
    return {name.format(prefix=context["prefix"]): env.get_template(t).render(
                template_source=TEMPLATE_SOURCE, template=t, **context)
            for t, name in TEMPLATES.items()}
