"""Generate the streaming C model from a plan: context building here, structure in templates.

Three layers, as emlearn does it: ``export.c_literals`` formats every number and checks every
name; :func:`build_context` turns the plan and its kernel parameters into a plain dict;
the Jinja templates in ``firmware/templates`` hold only C structure.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from afkd import __version__
from afkd.errors import AfkdError
from afkd.export import intops_pack, intops_sparse
from afkd.export.c_literals import c_array_body, c_float, c_identifier, c_int, c_prefix, c_string
from afkd.export.codegen_steps import fused_depthwise_leaky, ring_pointer_declarations, step_calls
from afkd.export.kernel_params import LayerParams, layer_params
from afkd.export.plan import Layer, StreamingPlan

#: template -> generated file name ({prefix} filled in): the code apart from the weights.
TEMPLATES = {"model.h.j2": "{prefix}_model.h", "model.c.j2": "{prefix}_model.c",
             "weights.h.j2": "{prefix}_weights.h", "weights.c.j2": "{prefix}_weights.c",
             "glue.h.j2": "afkd_model_glue.h", "glue.c.j2": "afkd_model_glue.c"}
#: Where the templates live in the afkd source tree, as the generated banners name it.
TEMPLATE_SOURCE = "firmware/templates"
_CTYPE = {np.int8: "int8_t", np.int16: "int16_t"}


def template_dir() -> Path:
    return Path(str(resources.files("afkd.firmware") / "templates"))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,  # a missing context key is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class _Context:
    """Collects const arrays and parameter structs while layers are translated."""

    def __init__(self, prefix: str, sfx: str, weight_storage: str = "int16"):
        self.prefix, self.sfx = prefix, sfx
        # dense weights as int16 (fast, twice the flash) or int8 (compact), or "sparse": int8,
        # and pruned dense layers bitmap-compressed where that is smaller (WEIGHT_STORAGE)
        self.weights16 = weight_storage == "int16"
        self.sparse = weight_storage == "sparse"
        # the 16x8 depthwise and decoder taps: int16 also in "mixed" (few bytes, much faster)
        self.taps16 = weight_storage in ("int16", "mixed")
        self.arrays: list[dict[str, Any]] = []
        self.params: list[dict[str, Any]] = []

    def array(self, layer: str, what: str, values: np.ndarray, ctype: str, comment: str,
              step_reads: bool = False) -> str:
        """A const array in the weights file; ``step_reads``: the step passes it to a kernel
        itself (not through a parameter struct), so the weights header declares it."""
        name = c_identifier(f"{self.prefix}_{layer}_{what}")
        values = np.asarray(values)
        self.arrays.append({"name": name, "ctype": ctype, "length": int(values.size),
                            "body": c_array_body(values, ctype), "comment": comment, "step_reads": step_reads})
        return name

    def struct(self, layer: str, ctype: str, fields: list[tuple[str, str]], comment: str) -> str:
        name = c_identifier(f"{self.prefix}_{layer}_params")
        self.params.append({"name": name, "ctype": ctype, "fields": fields, "comment": comment})
        return name


def ring_name(layer: Layer) -> str:
    return f"{layer.name}_ring"


def ring_resident_buffers(plan: StreamingPlan) -> dict[str, Layer]:
    """Frame buffer -> the depthwise or delay layer whose ring it is written into.

    A ring of (history + 1) frames holds the frame of this step at ``pos`` and the past ones
    behind it, so the layer that produces the frame writes it there and every reader reads it
    there: no copy into the ring after the call, no scratch slot. Positions advance at the end
    of the step, after every reader has run.
    """
    resident: dict[str, Layer] = {}
    for layer in plan.layers:
        if layer.kind not in ("depthwise", "delay"):
            continue
        source = layer.inputs[0]
        if source not in plan.buffers:
            raise AfkdError(f"layer {layer.name}: reads {source}, which is no frame buffer (a ring keeps the "
                            "frames a layer writes)")
        if source in resident:
            raise AfkdError(f"layer {layer.name}: {source} is kept in the ring of {resident[source].name} already "
                            "(one ring per frame buffer)")
        resident[source] = layer
    return resident


def ring_current(layer: Layer) -> str:
    """The step's local pointer to this step's frame in ``layer``'s ring (declared once, where
    the layer that writes the frame runs)."""
    return f"{ring_name(layer)}_current"


def _ring_back(prefix: str, layer: Layer, channels: int, back: int) -> str:
    """C expression of the frame ``back`` steps before the current one in ``layer``'s ring."""
    ring = ring_name(layer)
    return (f"{prefix}_ring_frame(&state->{ring}[0][0], {channels}u, {layer.history_frames + 1}u, "
            f"state->{ring}_pos, {back}u)")


def _allocate_slots(plan: StreamingPlan, in_rings: set[str]) -> tuple[dict[str, str], int]:
    """Frame buffer -> scratch slot, reusing a slot once its last reader has run.

    Frames written into a ring (``in_rings``) and delayed frames (read in their ring) take no
    slot. Returns the mapping and the number of slots. Every slot holds the widest frame.
    """
    last_use: dict[str, int] = {}
    for i, layer in enumerate(plan.layers):
        for name in layer.inputs:
            last_use[name] = i
    slot_of: dict[str, str] = {}
    free: list[str] = []
    busy: dict[str, str] = {}  # buffer -> slot
    count = 0
    for i, layer in enumerate(plan.layers):
        for buffer, slot in list(busy.items()):
            if last_use.get(buffer, -1) < i:
                free.append(busy.pop(buffer))
        if layer.output not in plan.buffers or layer.output in in_rings or layer.kind == "delay":
            continue  # a model output (the caller's array), or a frame that lives in a ring
        if free:
            slot = free.pop(0)
        else:
            slot = f"slot{count}"
            count += 1
        slot_of[layer.output] = slot
        busy[layer.output] = slot
    return slot_of, count


def _s8_stage_fields(ctx: _Context, name: str, a: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """int8 bias (input zero point folded in) / multiplier / shift fields, TFLite's encodings."""
    b = ctx.array(name, "bias", a["bias"], "int32_t", f"{name}: bias with the input zero point folded in")
    m = ctx.array(name, "multiplier", a["multiplier"], "int32_t", f"{name}: per-channel multipliers")
    sh = ctx.array(name, "shift", a["shift"], "int32_t", f"{name}: per-channel shifts")
    return [("bias", b), ("multiplier", m), ("shift", sh)]


def _wide_stage_fields(ctx: _Context, name: str, a: dict[str, np.ndarray],
                       bias_array: bool = False) -> list[tuple[str, str]]:
    """16x8 bias / bias64 / multiplier / shift fields (encodings: export/intops_pack.py).

    ``bias_array``: an all-zero int32 bias is written out rather than NULL (the assembly
    kernel of the int16-stored 1x1 layers loads a bias for every group of rows)."""
    fields = []
    if bias_array and "bias32" not in a and "bias64" not in a and "m32" in a:
        a = {**a, "bias32": np.zeros(a["m32"].size, np.int32)}
    for key, field_name, ctype, what in (("bias32", "bias", "int32_t", "bias (int32 sums proved exact)"),
                                         ("bias64", "bias64", "int64_t", "bias (int64: too large for int32 sums)")):
        if key in a:
            fields.append((field_name, ctx.array(name, field_name, a[key], ctype, f"{name}: {what}")))
        else:
            fields.append((field_name, "NULL"))
    if "m32" in a:  # one SMMULR per output: (m16, ts) are not needed in flash
        m32 = ctx.array(name, "multiplier32", a["m32"], "int32_t",
                        f"{name}: per-channel multipliers m16 << (32 - ts), for SMMULR")
        return fields + [("multiplier", "NULL"), ("shift", "NULL"), ("multiplier32", m32)]
    m = ctx.array(name, "multiplier", a["m16"], "int16_t", f"{name}: per-channel multipliers rounded to 16 bits")
    sh = ctx.array(name, "shift", a["ts"], "uint8_t", f"{name}: per-channel right shifts (15 - TFLite shift)")
    return fields + [("multiplier", m), ("shift", sh), ("multiplier32", "NULL")]


#: The most columns the assembly group routine takes (firmware/runtime/afkd_dense16_m4.h:
#: AFKD_DENSE16_MAX_BLOCKS blocks of 4).
DENSE16_MAX_COLS = 64


def dense_w16_entry(rows: int, cols: int, a: dict, s: dict) -> bool:
    """Whether a 16x8 encoder/pointwise layer with int16-stored weights meets every condition
    of afkd_pointwise_s16_w16 (afkd_kernels.h), so the generated step may call it unchecked."""
    return ("m32" in a and rows % 4 == 0 and cols % 4 == 0 and 0 < cols <= DENSE16_MAX_COLS and rows > 0
            and s["act_max"] == 32767 and s["act_min"] in (-32768, 0))


def _output_stage(ctx: "_Context", layer, a: dict, s: dict, wide: bool,
                  bias_array: bool = False) -> list[tuple[str, str]]:
    """The requantization fields the dense and depthwise parameter structs share."""
    if wide:
        return _wide_stage_fields(ctx, layer.name, a, bias_array) + [("act_min", c_int(s["act_min"])),
                                                           ("act_max", c_int(s["act_max"]))]
    return _s8_stage_fields(ctx, layer.name, a) + [
        ("output_offset", c_int(s["output_offset"])), ("act_min", c_int(s["act_min"])),
        ("act_max", c_int(s["act_max"])), ("requant_32bit", c_int(s["requant_32bit"]))]


def _braced(fields: list[tuple[str, str]], indent: str = "") -> str:
    """A nested struct's initializer: on one line, or with ``indent`` one field a line (the
    closing brace at the struct's own field indent, 4 spaces less)."""
    if not indent:
        return "{ " + ", ".join(f".{name} = {value}" for name, value in fields) + " }"
    return "{\n" + "".join(f"{indent}.{name} = {value},\n" for name, value in fields) + indent[:-4] + "}"


def _sparse_dense_entry(ctx: _Context, layer, a: dict, s: dict, wide: bool) -> dict[str, str]:
    """A pruned encoder/pointwise layer with bitmap-compressed weights (export/intops_sparse.py):
    afkd_sparse_<sfx>_params around the dense layer's own output stage."""
    rows, cols = layer.weights.shape
    bitmap, values = intops_sparse.compress(layer.weights)
    nonzero = int(values.size)
    if nonzero == 0:  # C has no empty arrays: one unread zero keeps the layout uniform
        values = np.zeros(1, np.int8)
    b = ctx.array(layer.name, "bitmap", bitmap, "uint32_t",
                  f"{layer.name}: nonzero-weight bits, {intops_sparse.bitmap_words(cols)} word(s) per row of {cols} "
                  "(intops_sparse)")
    v = ctx.array(layer.name, "values", values, "int8_t",
                  f"{layer.name}: the {nonzero} nonzero weights of [{rows}][{cols}] "
                  f"({100 * (1 - nonzero / (rows * cols)):.1f} % pruned), row after row")
    dense = [("rows", c_int(rows)), ("cols", c_int(cols)), ("weights", "NULL"), ("weights16", "NULL")]
    dense += _output_stage(ctx, layer, a, s, wide)
    what = (f"encoder, {rows} channels from {cols} samples" if layer.kind == "encoder"
            else f"1x1 conv {cols} -> {rows}") + ", sparse weights"
    params = ctx.struct(layer.name, f"afkd_sparse_{ctx.sfx}_params",
                        [("dense", _braced(dense, " " * 8)), ("bitmap", b), ("values", v)], f"{layer.name}: {what}")
    return {"params": params, "function": f"afkd_dense_sparse_{ctx.sfx}",
            "comment": f"{layer.name}: {what}{', ReLU' if layer.activation == 'RELU' else ''}"}


def _layer_entry(ctx: _Context, p: LayerParams, plan: StreamingPlan, expr: dict[str, str]) -> dict[str, Any]:
    layer, a, s = p.layer, p.arrays, p.scalars
    sfx, wide = ctx.sfx, p.wide
    act = _CTYPE[p.dtype]
    written = plan.buffers.get(layer.output) or next((b for b in plan.outputs.values() if b.name == layer.output), None)
    entry = {"kind": layer.kind, "name": layer.name, "ins": [expr[i] for i in layer.inputs],
             "out": expr[layer.output], "channels": plan.buffers.get(layer.inputs[0], plan.input).channels,
             # values the layer writes per step: a frame (a detector's logits too), or a decoder's hop
             "out_count": written.channels if written is not None and layer.kind != "decoder" else plan.hop}
    bias_t = "int64_t" if wide else "int32_t"
    if layer.kind in ("encoder", "pointwise") and ctx.sparse and intops_sparse.sparse_pays(layer.weights):
        entry.update(_sparse_dense_entry(ctx, layer, a, s, wide))
    elif layer.kind in ("encoder", "pointwise"):
        rows, cols = layer.weights.shape
        if ctx.weights16 and ("m32" in a or not wide):  # 16x8: only with SMMULR multipliers
            w16 = ctx.array(layer.name, "weights16", intops_pack.pack_dense_weights16(layer.weights), "int16_t",
                            f"{layer.name}: int8 weights [{rows}][{cols}] stored as int16, 4 rows at a time (intops_pack)")
            fields = [("rows", c_int(rows)), ("cols", c_int(cols)), ("weights", "NULL"), ("weights16", w16)]
        else:
            w = ctx.array(layer.name, "weights", a["weights_packed"], "int8_t",
                          f"{layer.name}: int8 weights [{rows}][{cols}], packed 4 rows at a time (intops_pack)")
            fields = [("rows", c_int(rows)), ("cols", c_int(cols)), ("weights", w), ("weights16", "NULL")]
        fields += _output_stage(ctx, layer, a, s, wide, bias_array=ctx.weights16)
        what = (f"encoder, {rows} channels from {cols} samples" if layer.kind == "encoder"
                else f"1x1 conv {cols} -> {rows}")
        entry["params"] = ctx.struct(layer.name, f"afkd_dense_{sfx}_params", fields, f"{layer.name}: {what}")
        entry["comment"] = f"{layer.name}: {what}{', ReLU' if layer.activation == 'RELU' else ''}"
        checked = wide and ctx.weights16 and dense_w16_entry(rows, cols, a, s)  # bias: emitted, zeros or not
        entry["function"] = f"afkd_{layer.kind}_{sfx}{'_w16' if checked else ''}"
    elif layer.kind == "depthwise":
        k, c = layer.weights.shape
        if wide and ctx.taps16 and "m32" in a:
            w16 = ctx.array(layer.name, "weights16", intops_pack.pack_depthwise_weights16(a["weights"]), "int16_t",
                            f"{layer.name}: int8 weights [{k}][{c}] as int16, channel pairs (intops_pack)")
            fields = [("channels", c_int(c)), ("taps", c_int(k)), ("weights", "NULL"), ("weights16", w16)]
        else:
            w = ctx.array(layer.name, "weights", a["weights"], "int8_t", f"{layer.name}: int8 weights [{k}][{c}]")
            fields = [("channels", c_int(c)), ("taps", c_int(k)), ("weights", w)]
            if wide:
                fields.append(("weights16", "NULL"))
        fields += _output_stage(ctx, layer, a, s, wide, bias_array=wide and ctx.taps16)
        entry["params"] = ctx.struct(layer.name, f"afkd_depthwise_{sfx}_params", fields,
                                     f"{layer.name}: depthwise kernel {k}, dilation {layer.dilation}")
        entry.update(kernel=k, channels=c, ring=ring_name(layer), ring_frames=layer.history_frames + 1,
                     taps=[_ring_back(ctx.prefix, layer, c, (k - 1 - j) * layer.dilation) for j in range(k - 1)],
                     comment=f"{layer.name}: causal depthwise conv, kernel {k}, dilation {layer.dilation}")
    elif layer.kind == "delay":  # its input is written into the ring; readers take the oldest frame
        entry.update(ring=ring_name(layer), ring_frames=layer.history_frames + 1,
                     comment=f"{layer.name}: the frame of {layer.history_frames} steps ago, read in its ring "
                             "(the masks' lookahead)")
    elif layer.kind == "decoder":
        L, n = layer.weights.shape
        tail32 = wide and ctx.taps16 and "multiplier32" in s  # int32 tail, SMMULR output stage
        if wide and ctx.taps16:
            w16 = ctx.array(layer.name, "weights16", intops_pack.pack_dense_weights16(layer.weights), "int16_t",
                            f"{layer.name}: int8 weights [{L}][{n}] stored as int16, packed (intops_pack)")
            fields = [("channels", c_int(n)), ("kernel", c_int(L)), ("stride", c_int(layer.stride)),
                      ("weights", "NULL"), ("weights16", w16)]
        else:
            w = ctx.array(layer.name, "weights", a["weights_packed"] if wide else a["weights"], "int8_t",
                          f"{layer.name}: int8 weights [{L}][{n}]{', packed (intops_pack)' if wide else ''}")
            fields = [("channels", c_int(n)), ("kernel", c_int(L)), ("stride", c_int(layer.stride)), ("weights", w)]
            if wide:
                fields.append(("weights16", "NULL"))
        if not wide:
            t = ctx.array(layer.name, "tap_offset", a["tap_offset"], "int32_t",
                          f"{layer.name}: input zero point times the weights of each tap")
            fields.append(("tap_offset", t))
        fields += [("bias", c_int(s["bias"], bias_t)), ("multiplier", c_int(a["multiplier"][0])),
                   ("shift", c_int(a["shift"][0]))]
        if not wide:
            fields.append(("output_offset", c_int(s["output_offset"])))
        fields += [("act_min", c_int(s["act_min"])), ("act_max", c_int(s["act_max"]))]
        if wide:
            fields.append(("multiplier32", c_int(s["multiplier32"] if tail32 else 0)))
        entry["params"] = ctx.struct(layer.name, f"afkd_decoder_{sfx}_params", fields,
                                     f"{layer.name}: transposed conv {n} -> 1, kernel {L}, stride {layer.stride}")
        entry.update(channels=n, tail=f"{layer.name}_tail", input_zero_point=p.input_zero_point,
                     function=f"afkd_decoder_{sfx}{'_tail32' if tail32 else ''}",
                     tail_ctype="int32_t" if tail32 or not wide else "int64_t",
                     comment=f"{layer.name}: overlap-add decoder, emits the finished hop")
    elif layer.kind == "prelu":
        q = p.prelu
        alpha = q.alpha_minus_zero_point()
        al = ctx.array(layer.name, "alpha", alpha, "int16_t", f"{layer.name}: alpha minus its zero point")
        fields = [("channels", c_int(entry["channels"])), ("alpha_per_channel", c_int(int(alpha.size > 1))),
                  ("alpha", al), ("input_offset", c_int(-q.input_zero_point)),
                  ("output_offset", c_int(q.output_zero_point)), ("multiplier_pos", c_int(q.multiplier_pos)),
                  ("shift_pos", c_int(q.shift_pos)), ("multiplier_neg", c_int(q.multiplier_neg)),
                  ("shift_neg", c_int(q.shift_neg))]
        if p.prelu_linear is not None:
            fields += [(f"linear_{name}", c_int(getattr(p.prelu_linear, name)))
                       for name in p.prelu_linear.__dataclass_fields__]
        entry["params"] = ctx.struct(layer.name, f"afkd_prelu_{sfx}_params", fields, f"{layer.name}: PReLU")
        entry["comment"] = f"{layer.name}: PReLU"
    elif layer.kind == "leaky_relu":
        q = p.leaky_relu
        fields = [(name, c_int(getattr(q, name))) for name in q.__dataclass_fields__]
        entry["params"] = ctx.struct(layer.name, "afkd_leaky_relu_params", fields,
                                     f"{layer.name}: leaky ReLU, slope {layer.slope:.6g}")
        entry["comment"] = f"{layer.name}: leaky ReLU (the frozen PReLU slope {layer.slope:.4g})"
    elif layer.kind == "logistic":
        if wide:
            fields = [("input_multiplier", c_int(s["input_multiplier"])),
                      ("input_left_shift", c_int(s["input_left_shift"]))]
            entry["params"] = ctx.struct(layer.name, "afkd_sigmoid_s16_params", fields, f"{layer.name}: sigmoid")
        else:
            entry["table"] = ctx.array(layer.name, "table", a["table"], "int8_t",
                                       f"{layer.name}: TFLite's int8 LOGISTIC on all 256 inputs", step_reads=True)
        entry["comment"] = f"{layer.name}: sigmoid mask"
    elif layer.kind in ("add", "mul"):
        q = getattr(p, layer.kind)
        fields = [(name, c_int(getattr(q, name))) for name in q.__dataclass_fields__]
        ctype = f"afkd_{layer.kind}_params"
        if layer.kind == "add" and not wide:  # int8 ADD: TFLite's fields, then the linear form
            ctype = "afkd_add_s8_params"
            fields = [("tflite", "{\n" + "".join(f"        .{name} = {value},\n" for name, value in fields) + "    }")]
            if p.add_linear is not None:
                fields += [(f"linear_{name}", c_int(getattr(p.add_linear, name)))
                           for name in p.add_linear.__dataclass_fields__]
        entry["params"] = ctx.struct(layer.name, ctype, fields, f"{layer.name}: element-wise {layer.kind}")
        entry["comment"] = f"{layer.name}: element-wise {'sum' if layer.kind == 'add' else 'product'}"
    else:  # pragma: no cover - kernel_params refuses unknown kinds first
        raise AfkdError(f"layer {layer.name}: no C for {layer.kind!r}")
    return entry


#: How the dense (1x1 and encoder) layers keep their int8 weights in flash: "int16"
#: (sign-extended, so the inner loop is LDM + SMLAD only: fastest, twice the weight flash) or
#: "int8" (packed bytes split by SXTB16: half the flash, more instructions). In 16x8 models the
#: depthwise and decoder weights follow the same choice. "sparse" (streaming models): "int8",
#: except each pruned dense layer whose bitmap-compressed weights (export/intops_sparse.py)
#: take fewer bytes, which the sparse kernels decode (afkd_dense_sparse_*). "mixed": the dense
#: weights as in "int8", the 16x8 depthwise and decoder weights as in "int16": those layers hold
#: a few percent of the weights but take their fast assembly and int32-tail paths only with
#: int16 taps, so this is most of int8's flash saving at a fraction of its instructions.
WEIGHT_STORAGE = ("int16", "int8", "sparse", "mixed")


def _state_layout_bytes(window: int, rings: list[dict], tails: list[dict], slots: list[int],
                        classes: int = 0) -> int:
    """sizeof(<prefix>_state) as a C compiler lays it out (model.h.j2): the window, each ring
    and each slot word-aligned, a uint16_t position after each ring, each tail at its
    accumulator's alignment (its element size), a detector's int32 logit sums and uint32 frame
    count, the whole padded to its largest alignment."""
    def align(offset: int, to: int) -> int:
        return -(-offset // to) * to

    size = window
    for ring in rings:
        size = align(align(size, 4) + ring["bytes"], 2) + 2
    tail_aligns = [tail["bytes"] // tail["length"] for tail in tails]
    for tail, to in zip(tails, tail_aligns):
        size = align(size, to) + tail["bytes"]
    for slot in slots:
        size = align(size, 4) + slot
    if classes:
        size = align(size, 4) + 4 * classes + 4
    return align(size, max([4, *tail_aligns]))


def build_context(plan: StreamingPlan, prefix: str, fs: int, source_name: str, source_sha256: str,
                  weight_storage: str = "int16", class_names: list[str] | None = None) -> dict[str, Any]:
    """The template context of a streaming plan: an f-wave separator (decoded hops) or a rhythm
    detector (frame logits; ``class_names`` label them, default class0, class1, ...)."""
    if weight_storage not in WEIGHT_STORAGE:
        raise AfkdError(f"weight storage {weight_storage!r}: choose one of {', '.join(WEIGHT_STORAGE)}")
    prefix = c_prefix(prefix)
    params = layer_params(plan)
    dtype = params[0].dtype
    sample_t = _CTYPE[dtype]
    sfx = "s8" if dtype == np.int8 else "s16"
    ctx = _Context(prefix, sfx, weight_storage)
    resident = ring_resident_buffers(plan)
    slot_of, n_slots = _allocate_slots(plan, set(resident))
    width = max(b.channels for b in plan.buffers.values())
    expr = {name: f"state->{slot}" for name, slot in slot_of.items()}
    expr.update({buf.name: key for key, buf in plan.outputs.items()})
    expr.update({name: ring_current(layer) for name, layer in resident.items()})
    expr.update({layer.output: _ring_back(prefix, layer, plan.buffers[layer.inputs[0]].channels, layer.history_frames)
                 for layer in plan.layers if layer.kind == "delay"})
    expr[plan.input.name] = "state->window"
    layers = [_layer_entry(ctx, p, plan, expr) for p in params]
    fused = fused_depthwise_leaky(layers, params) if ctx.taps16 and sfx == "s16" else set()
    calls = step_calls(layers, fused, ring_pointer_declarations(plan, resident, ring_current, ring_name))
    nbytes = np.dtype(dtype).itemsize
    rings = [
        {"name": e["ring"], "layer": e["name"], "frames": e["ring_frames"], "channels": e["channels"],
         "why": (f"kernel {e['kernel']}, dilation {p.layer.dilation}" if e["kind"] == "depthwise"
                 else "the lookahead delay reads the oldest"),
         "source": p.layer.inputs[0], "ctype": sample_t,
         "zero_point": p.input_zero_point, "bytes": e["ring_frames"] * e["channels"] * nbytes}
        for e, p in zip(layers, params) if e["kind"] in ("depthwise", "delay")
    ]
    tails = [{"name": e["tail"], "layer": e["name"], "length": p.layer.kernel, "ctype": e["tail_ctype"],
              "bytes": p.layer.kernel * (8 if e["tail_ctype"] == "int64_t" else 4)}
             for e, p in zip(layers, params) if e["kind"] == "decoder"]
    slots = [{"name": f"slot{i}", "channels": width, "ctype": sample_t} for i in range(n_slots)]
    scratch_bytes = n_slots * width * nbytes
    detector = plan.output_kind == "frames"
    classes = plan.outputs["logits"].channels if detector else 0
    if detector:
        class_names = list(class_names) if class_names is not None else [f"class{i}" for i in range(classes)]
        if len(class_names) != classes:
            raise AfkdError(f"{len(class_names)} class names for a model of {classes} logits")
    state_bytes = _state_layout_bytes(plan.window * nbytes, rings, tails, [width * nbytes] * n_slots, classes)
    info = np.iinfo(dtype)

    def io(buf) -> dict[str, Any]:
        return {"scale_literal": c_float(buf.scale), "scale_text": f"{buf.scale:.9g}", "zero_point": buf.zero_point}

    return {
        "prefix": prefix, "PREFIX": prefix.upper(), "version": __version__, "source_name": source_name,
        "source_sha256": source_sha256, "mode": plan.mode, "fs": int(fs), "hop": plan.hop, "window": plan.window,
        "latency_hops": plan.latency_hops, "lookahead_hops": plan.lookahead_hops, "macs_per_hop": plan.macs_per_hop, "sample_t": sample_t,
        "frame_t": sample_t, "sample_bytes": nbytes, "sample_min": int(info.min), "sample_max": int(info.max),
        "sfx": sfx, "input": io(plan.input), "outputs": {k: io(b) for k, b in plan.outputs.items()},
        "arrays": ctx.arrays, "params": ctx.params, "layers": layers, "calls": calls, "rings": rings, "tails": tails,
        "slots": slots, "scratch_bytes": scratch_bytes, "state_bytes": state_bytes,
        "decoders": [e for e in layers if e["kind"] == "decoder"],
        "flush_channels": max((e["channels"] for e in layers if e["kind"] == "decoder"), default=0),
        # "decoded": the f-wave separator (aa, va hops); "frames": a rhythm detector (logits)
        "output_kind": plan.output_kind, "classes": classes,
        "class_names": [c_string(c) for c in class_names] if detector else [],
        "output_values": classes if detector else 2 * plan.hop,
        "weight_bytes": sum(int(p.arrays["weights"].size) for p in params if "weights" in p.arrays),
        "weight_storage": weight_storage,
        # every 16x8 conv on the int16-weight, SMMULR path: the kernels may drop the others
        "weights16_only": ctx.weights16 and all("m32" in p.arrays for p in params
                                                if p.layer.kind in ("encoder", "pointwise", "depthwise")),
        # no int16-stored weights anywhere: the int8 kernels may drop their int16-weight paths;
        # int16-stored weights everywhere (every int8 dense layer has them): the int8-weight ones
        "weights8_only": not ctx.weights16,
        "s8_weights16_only": ctx.weights16,
        # 16x8: some 1x1 or encoder layer keeps int16-stored weights (else AFKD_S16_DENSE_W16=0)
        "s16_dense_w16": ctx.sfx != "s16" or (ctx.weights16 and any(
            "m32" in p.arrays for p in params if p.layer.kind in ("encoder", "pointwise"))),
        # 16x8: some depthwise or decoder layer keeps int8-stored taps (else AFKD_S16_TAPS_W8=0)
        "s16_taps_w8": ctx.sfx != "s16" or not ctx.taps16 or not all(
            "m32" in p.arrays for p in params if p.layer.kind == "depthwise"),
        # a 16x8 layer with int8-stored weights past the assembly routine's 64 columns
        "s16_w8_wide": ctx.sfx == "s16" and not ctx.weights16 and any(
            p.layer.kind in ("encoder", "pointwise") and p.layer.weights.shape[1] > 64 for p in params),
    }


def render_model(context: dict[str, Any]) -> dict[str, str]:
    """File name -> C source for the model (step code, weights) and its harness glue."""
    env = _environment()
    return {name.format(prefix=context["prefix"]): env.get_template(template).render(
                template_source=TEMPLATE_SOURCE, template=template, **context)
            for template, name in TEMPLATES.items()}


def generate_model_sources(tflite: bytes, out_dir: Path, prefix: str, fs: int, source_name: str,
                           weight_storage: str = "int16") -> dict[str, Any]:
    """Plan ``tflite``, render the C model into ``out_dir``; returns the context (for reports)."""
    from afkd.export.plan import plan_from_tflite

    plan = plan_from_tflite(tflite, source_name)
    context = build_context(plan, prefix, fs, source_name, hashlib.sha256(tflite).hexdigest(), weight_storage)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render_model(context).items():
        (out_dir / name).write_text(text)
    return context
