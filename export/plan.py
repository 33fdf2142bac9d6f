"""The streaming plan: a quantized TFLite graph turned into per-hop layers with ring buffers.

The one-shot graph (what TFLite runs on a whole segment) becomes a list of layers that each
process one frame (one hop of S samples) at a time::

    PAD(left L-S) -> CONV_2D stride S        encoder: a window of the last L samples
    CONV_2D 1x1                              pointwise: one frame in, one frame out
    PAD(left (K-1)d) -> DEPTHWISE_CONV_2D    depthwise: a ring of (K-1)d past frames replaces the pad
    PRELU, LEAKY_RELU, LOGISTIC, ADD, MUL    element-wise on one frame
    TRANSPOSE_CONV -> STRIDED_SLICE(crop)    decoder: overlap-add, a tail of L-S partial sums
    PAD(left D) -> STRIDED_SLICE(first T')   delay: a ring of D frames (the model's lookahead)

Two kinds of graph output: decoded hops (the f-wave separator: each output is a cropped
TRANSPOSE_CONV, one hop of samples per step, one hop late) or frames (the rhythm detector:
the output is a frame tensor itself, its 1x1 head's logits, one frame per step, no latency).

Causal zero padding in the graph and zero-initialised history in the stream are the same
thing (the pad value is the tensor's zero point, i.e. real 0.0), which is why the stream
reproduces the one-shot graph bit for bit. Anything that does not fit this shape (a pad on
the right, a reshape that mixes time and channels, an op outside the set) is an AfkdError
naming the layer: the firmware never falls back silently.

This module knows TFLite graphs, not afkd's network: quantization parameters are kept as
TFLite stores them; ``export.kernel_params`` turns them into what the kernels consume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from afkd.errors import AfkdError
from afkd.export.tflite_graph import Graph, Operator, Tensor, read_tflite

SUPPORTED_OPS = frozenset(
    "CONV_2D DEPTHWISE_CONV_2D TRANSPOSE_CONV PAD PADV2 PRELU LEAKY_RELU LOGISTIC ADD MUL RESHAPE "
    "STRIDED_SLICE SLICE".split()
)
_DTYPES = {np.int8: "int8", np.int16: "int16", np.float32: "float32"}


@dataclass
class Buffer:
    """One frame of activations (``channels`` values), or one hop of samples for I/O."""

    name: str
    channels: int
    dtype: str  # "int8", "int16" or "float32"
    scale: float  # real = scale * (q - zero_point); 1.0 / 0 for float
    zero_point: int
    tensor: int  # TFLite tensor index it stands for


@dataclass
class Layer:
    kind: str  # encoder | pointwise | depthwise | delay | prelu | leaky_relu | logistic | add | mul | decoder
    name: str  # C-safe, from the TFLite tensor name
    op_index: int
    inputs: list[str]  # buffer names
    output: str  # buffer name
    activation: str = "NONE"  # fused activation (RELU, RELU6, NONE)
    weights: np.ndarray | None = None  # see module doc of each kind below
    weight_scale: np.ndarray | None = None  # per output channel (or 1 element)
    bias: np.ndarray | None = None  # int32 (int8 mode) or int64 (16x8), None if absent
    kernel: int = 1  # taps along time
    dilation: int = 1
    stride: int = 1
    history_frames: int = 0  # depthwise: (kernel-1)*dilation; delay: D; encoder: L-S samples; decoder: L-S tail
    alpha: np.ndarray | None = None  # PReLU slopes (quantized) with alpha_scale/alpha_zero_point
    alpha_scale: float = 0.0
    alpha_zero_point: int = 0
    slope: float = 0.0  # LEAKY_RELU's negative slope (a float option of the op)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per frame."""
        if self.weights is None or self.kind not in ("encoder", "pointwise", "depthwise", "decoder"):
            return 0
        return int(self.weights.size)


@dataclass
class StreamingPlan:
    mode: str  # "int8", "int16x8" or "float32"
    hop: int  # S samples per step
    window: int  # L samples the encoder reads
    latency_hops: int  # output hop emitted per step lags the input by this many hops
    input: Buffer
    outputs: dict[str, Buffer]  # "aa", "va" -> hop buffers; "logits" -> the frame output
    output_tensors: dict[str, int]  # output key -> the TFLite graph's output tensor index
    buffers: dict[str, Buffer] = field(default_factory=dict)  # frame buffers by name (not outputs)
    layers: list[Layer] = field(default_factory=list)
    output_kind: str = "decoded"  # "decoded": hops of samples; "frames": one frame of values per step

    @property
    def macs_per_hop(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def lookahead_hops(self) -> int:
        """Hops by which the graph's outputs lag the signal they estimate (its delay layers)."""
        return max((layer.history_frames for layer in self.layers if layer.kind == "delay"), default=0)

    def layer(self, name: str) -> Layer:
        return next(layer for layer in self.layers if layer.name == name)


def _c_name(tensor_name: str, used: set[str]) -> str:
    # "dtfenet_1/aa_block0_in_1/BiasAdd;..." -> "aa_block0_in": the Keras layer name, without
    # the model name in front and the "_1" Keras appends to layers of a traced model.
    parts = [p for p in tensor_name.split(";")[0].split(":")[0].split("/") if p]
    layer = parts[1] if len(parts) > 2 else parts[0] if parts else "t"
    layer = re.sub(r"_\d+$", "", layer)
    base = re.sub(r"[^A-Za-z0-9_]", "_", layer).strip("_").lower() or "t"
    if base[0].isdigit():
        base = "t_" + base
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


class _Walker:
    def __init__(self, graph: Graph, source: str):
        self.g = graph
        self.source = source
        self.alias: dict[int, int] = {}  # tensor -> tensor it is a view of (RESHAPE, causal PAD)
        self.pad_of: dict[int, tuple[int, int]] = {}  # padded tensor -> (source tensor, left pad)
        self.buffers: dict[int, Buffer] = {}
        self.names: set[str] = set()
        self.layers: list[Layer] = []
        self.domain: dict[int, str] = {}  # tensor -> "samples" | "frames" | "output"

    def fail(self, op: Operator, problem: str) -> None:
        out = self.g.tensors[op.outputs[0]].name if op.outputs else "?"
        raise AfkdError(f"{self.source}: layer {op.opcode} ({out}): {problem}")

    def root(self, t: int) -> int:
        while t in self.alias:
            t = self.alias[t]
        return t

    def buffer(self, t: int) -> Buffer:
        t = self.root(t)
        if t not in self.buffers:
            tensor = self.g.tensors[t]
            channels = tensor.shape[-1] if tensor.shape else 1
            scale, zp = _quant(tensor)
            self.buffers[t] = Buffer(_c_name(tensor.name, self.names), channels, _DTYPES[tensor.dtype], scale, zp, t)
        return self.buffers[t]

    def const(self, t: int) -> Tensor:
        tensor = self.g.tensors[t]
        if tensor.data is None:
            raise AfkdError(f"{self.source}: tensor {tensor.name} should be a constant")
        return tensor


def _quant(tensor: Tensor) -> tuple[float, int]:
    if tensor.scale is None:
        return 1.0, 0
    if tensor.scale.size != 1:
        raise AfkdError(f"tensor {tensor.name}: per-channel activation quantization is not supported")
    return float(tensor.scale[0]), int(tensor.zero_point[0])


def _time_pad(w: _Walker, op: Operator) -> tuple[int, int]:
    """(left, right) padding along time (axis 2 of NHWC); anything else padded is an error."""
    pads = w.const(op.inputs[1]).data.reshape(-1, 2)
    if pads.shape[0] != 4 or np.any(pads[[0, 1, 3]] != 0):
        w.fail(op, f"pads {pads.tolist()} touch more than the time axis")
    if op.opcode == "PADV2":
        value = w.const(op.inputs[2]).data.reshape(-1)[0]
        if int(value) != _quant(w.g.tensors[op.inputs[0]])[1]:
            w.fail(op, "pads with a value other than zero")
    return int(pads[2, 0]), int(pads[2, 1])


def _name_output(layers, buffer, name: str, used: set[str]) -> None:
    """Call the output buffer and the layer that writes it ``name`` (a graph output's tensor is
    named after the converter's call, e.g. StatefulPartitionedCall), unless a layer has it."""
    if buffer.name == name or name in used:
        return
    old = buffer.name
    for layer in layers:
        if layer.output == old:
            layer.output = layer.name = name
        layer.inputs = [name if n == old else n for n in layer.inputs]
    buffer.name = name
    used.add(name)


def build_plan(graph: Graph, source: str = "model") -> StreamingPlan:
    """Walk ``graph`` (one-shot, NHWC with H=1) and return its streaming plan."""
    bad = sorted({op.opcode for op in graph.operators} - SUPPORTED_OPS)
    if bad:
        op = next(op for op in graph.operators if op.opcode in bad)
        raise AfkdError(
            f"{source}: layer {op.opcode} ({graph.tensors[op.outputs[0]].name}) is not supported by the "
            f"firmware (supported: {', '.join(sorted(SUPPORTED_OPS))})"
        )
    if len(graph.inputs) != 1:
        raise AfkdError(f"{source}: expected one input, found {len(graph.inputs)}")
    w = _Walker(graph, source)
    input_tensor = graph.inputs[0]
    w.domain[input_tensor] = "samples"
    hop = window = None
    for op in graph.operators:
        ins = [i for i in op.inputs if i >= 0]
        handler = _HANDLERS[op.opcode]
        result = handler(w, op, ins)
        if op.opcode == "CONV_2D" and result is not None:
            hop, window = result
    if hop is None:
        raise AfkdError(f"{source}: no encoder (strided CONV_2D on the input) found")
    outputs, output_tensors = {}, {}
    kinds = {w.domain.get(w.root(t)) for t in graph.outputs}
    if kinds not in ({"output"}, {"frames"}):
        raise AfkdError(f"{source}: outputs must all be cropped decoder outputs or all frame tensors "
                        f"(found {sorted(str(k) for k in kinds)})")
    output_kind = "frames" if kinds == {"frames"} else "decoded"
    for i, t in enumerate(graph.outputs):
        root = w.root(t)
        buf = w.buffer(root)
        if output_kind == "frames":
            if not any(layer.output == buf.name for layer in w.layers):
                raise AfkdError(f"{source}: output {graph.tensors[t].name} is no layer's frame")
            key = "logits" if len(graph.outputs) == 1 else f"output{i}"
            _name_output(w.layers, buf, key, w.names)
        else:
            buf.channels = hop
            # TFLite does not keep Keras' output order; the decoder's layer name says which path it is.
            key = next((p for p in ("aa", "va") if buf.name.startswith(p + "_")), f"output{i}")
        outputs[key] = buf
        output_tensors[key] = t
    outputs = dict(sorted(outputs.items()))
    in_buf = w.buffer(input_tensor)
    in_buf.channels = hop
    mode = {"int8": "int8", "int16": "int16x8", "float32": "float32"}[in_buf.dtype]
    output_names = {b.name for b in outputs.values()}
    frame_buffers = {b.name: b for t, b in w.buffers.items()
                     if w.domain.get(t) == "frames" and b.name not in output_names}
    # Output hop t is final once the decoder has added frame t + (L-S)/S; a frame output is
    # final in the step that completes its frame.
    latency_hops = (window - hop) // hop if output_kind == "decoded" else 0
    return StreamingPlan(mode, hop, window, latency_hops, in_buf, outputs, output_tensors, frame_buffers, w.layers,
                         output_kind)


def plan_from_tflite(model: bytes, source: str = "model") -> StreamingPlan:
    return build_plan(read_tflite(model, source), source)


# --- one handler per TFLite op ------------------------------------------------------------

def _reshape(w: _Walker, op: Operator, ins: list[int]) -> None:
    src, dst = ins[0], op.outputs[0]
    a, b = w.g.tensors[src].shape, w.g.tensors[dst].shape
    # Only reshapes that add or drop unit axes keep the time axis where the plan expects it.
    if [d for d in a if d != 1] != [d for d in b if d != 1]:
        w.fail(op, f"reshape {a} -> {b} moves data between axes")
    w.alias[dst] = src
    w.domain[dst] = w.domain.get(w.root(src), "samples")


def _pad(w: _Walker, op: Operator, ins: list[int]) -> None:
    left, right = _time_pad(w, op)
    if right:
        w.fail(op, f"pads {right} frames on the right: the model is not causal")
    src = w.root(ins[0])
    w.pad_of[op.outputs[0]] = (src, left)
    w.domain[op.outputs[0]] = w.domain.get(src)


def _consume_pad(w: _Walker, t: int) -> tuple[int, int]:
    """(unpadded source tensor, left pad) for an op input that may come through a PAD."""
    return w.pad_of.get(t, (w.root(t), 0))


def _conv(w: _Walker, op: Operator, ins: list[int]) -> tuple[int, int] | None:
    src, left = _consume_pad(w, ins[0])
    weights = w.const(ins[1])  # (Cout, 1, k, Cin)
    bias = w.g.tensors[ins[2]].data if len(ins) > 2 else None
    o = op.options
    cout, _, k, cin = weights.shape
    common = dict(
        op_index=op.index, output=w.buffer(op.outputs[0]).name, activation=o.get("fused_activation_function", "NONE"),
        weight_scale=weights.scale, bias=bias,
    )
    if o.get("padding") != "VALID" or o.get("dilation_w_factor", 1) != 1:
        w.fail(op, "expected a VALID, undilated convolution")
    if w.domain.get(src) == "samples":
        stride = o["stride_w"]
        if cin != 1 or left != k - stride or stride <= 0 or k % stride:
            w.fail(op, f"encoder must read 1 channel with a causal pad of L-S (got pad {left}, L={k}, S={stride})")
        w.domain[w.root(op.outputs[0])] = "frames"
        layer = Layer("encoder", w.buffer(op.outputs[0]).name, inputs=[w.buffer(src).name],
                      weights=weights.data.reshape(cout, k), kernel=k, stride=stride, history_frames=k - stride,
                      **{k2: v for k2, v in common.items() if k2 != "output"}, output=common["output"])
        w.layers.append(layer)
        return stride, k
    if k != 1 or left or o.get("stride_w", 1) != 1:
        w.fail(op, "a convolution over frames must be 1x1 (time context comes from depthwise layers)")
    w.domain[w.root(op.outputs[0])] = "frames"
    w.layers.append(Layer("pointwise", w.buffer(op.outputs[0]).name, inputs=[w.buffer(src).name],
                          weights=weights.data.reshape(cout, cin), **{k2: v for k2, v in common.items() if k2 != "output"},
                          output=common["output"]))
    return None


def _depthwise(w: _Walker, op: Operator, ins: list[int]) -> None:
    src, left = _consume_pad(w, ins[0])
    weights = w.const(ins[1])  # (1, 1, K, C)
    o = op.options
    _, _, k, c = weights.shape
    d = o.get("dilation_w_factor", 1)
    if o.get("padding") == "SAME":
        w.fail(op, "SAME padding reads future frames: the model is not causal")
    if o.get("padding") != "VALID" or o.get("stride_w", 1) != 1 or o.get("depth_multiplier", 1) != 1:
        w.fail(op, "expected a VALID, stride-1, multiplier-1 depthwise convolution")
    if left != (k - 1) * d:
        w.fail(op, f"causal pad must be (K-1)*d = {(k - 1) * d} frames, found {left}")
    w.domain[w.root(op.outputs[0])] = "frames"
    out = w.buffer(op.outputs[0])
    w.layers.append(Layer("depthwise", out.name, op.index, [w.buffer(src).name], out.name,
                          activation=o.get("fused_activation_function", "NONE"), weights=weights.data.reshape(k, c),
                          weight_scale=weights.scale, bias=w.g.tensors[ins[2]].data if len(ins) > 2 else None,
                          kernel=k, dilation=d, history_frames=(k - 1) * d))


def _elementwise(kind: str):
    def handler(w: _Walker, op: Operator, ins: list[int]) -> None:
        if kind == "prelu":
            alpha = w.const(ins[1])
            sources = [ins[0]]
        else:
            alpha = None
            sources = ins
        for s in sources:
            if w.domain.get(w.root(s)) != "frames":
                w.fail(op, "element-wise op outside the frame domain")
            if w.g.tensors[s].is_constant:
                w.fail(op, "element-wise op with a constant operand")
        w.domain[w.root(op.outputs[0])] = "frames"
        out = w.buffer(op.outputs[0])
        layer = Layer(kind, out.name, op.index, [w.buffer(s).name for s in sources], out.name,
                      activation=op.options.get("fused_activation_function", "NONE"))
        if alpha is not None:
            layer.alpha = alpha.data.reshape(-1)
            layer.alpha_scale, layer.alpha_zero_point = _quant(alpha)
        if kind == "leaky_relu":
            layer.slope = float(op.options["alpha"])
        w.layers.append(layer)

    return handler


def _transpose_conv(w: _Walker, op: Operator, ins: list[int]) -> None:
    # TFLite order: output_shape, weights (Cout, 1, L, Cin), input, [bias].
    weights = w.const(op.inputs[1])
    src = w.root(op.inputs[2])
    bias = w.g.tensors[op.inputs[3]].data if len(op.inputs) > 3 and op.inputs[3] >= 0 else None
    cout, _, k, cin = weights.shape
    o = op.options
    if cout != 1 or o.get("padding") != "VALID":
        w.fail(op, "decoder must be a VALID transposed convolution to one channel")
    if w.domain.get(src) != "frames":
        w.fail(op, "decoder input is not a frame tensor")
    out = w.buffer(op.outputs[0])
    w.domain[w.root(op.outputs[0])] = "decoded"
    w.layers.append(Layer("decoder", out.name, op.index, [w.buffer(src).name], out.name,
                          activation=o.get("fused_activation_function", "NONE"), weights=weights.data.reshape(k, cin),
                          weight_scale=weights.scale, bias=bias, kernel=k, stride=o["stride_w"],
                          history_frames=k - o["stride_w"]))


def _delay(w: _Walker, op: Operator, ins: list[int]) -> None:
    """PAD(left D) then a slice keeping the first frames: every frame D steps later."""
    src, left = w.pad_of[ins[0]]
    begin = w.const(ins[1]).data.reshape(-1)
    in_shape, out_shape = w.g.tensors[src].shape, w.g.tensors[op.outputs[0]].shape
    if op.opcode == "STRIDED_SLICE" and np.any(w.const(ins[3]).data.reshape(-1) != 1):
        w.fail(op, "strided slice with a stride other than 1")
    if np.any(begin != 0) or list(out_shape) != list(in_shape) or left <= 0:
        w.fail(op, f"a slice of padded frames must keep the first {in_shape[2] if in_shape else '?'} "
                   f"(a delay of the {left} padded frames)")
    if _quant(w.g.tensors[op.outputs[0]]) != _quant(w.g.tensors[src]):
        w.fail(op, "a delay must keep its input's quantization")
    w.domain[w.root(op.outputs[0])] = "frames"
    out = w.buffer(op.outputs[0])
    w.layers.append(Layer("delay", out.name, op.index, [w.buffer(src).name], out.name, history_frames=left))


def _slice(w: _Walker, op: Operator, ins: list[int]) -> None:
    if ins[0] in w.pad_of and w.domain.get(w.pad_of[ins[0]][0]) == "frames":
        _delay(w, op, ins)
        return
    src = w.root(ins[0])
    if w.domain.get(src) != "decoded":
        w.fail(op, "only the decoder output may be sliced (the crop of the causal pad)")
    begin = w.const(ins[1]).data.reshape(-1)
    in_shape, out_shape = w.g.tensors[src].shape, w.g.tensors[op.outputs[0]].shape
    decoder = w.layers[-1] if w.layers and w.layers[-1].output == w.buffers[src].name else None
    crop = decoder.kernel - decoder.stride if decoder else -1
    if op.opcode == "STRIDED_SLICE":
        strides = w.const(ins[3]).data.reshape(-1)
        if np.any(strides != 1):
            w.fail(op, "strided slice with a stride other than 1")
        if op.options.get("begin_mask", 0) & 4:
            begin = begin.copy()
            begin[2] = 0
    # The encoder's causal pad of L-S samples reappears at the start of the decoder output.
    if int(begin[2]) != crop or out_shape[2] != in_shape[2] - crop:
        w.fail(op, f"crop must drop exactly the {crop} padded samples at the start")
    # Same quantization in and out (TFLite requires it for slices): the decoder's buffer is the output.
    w.alias[op.outputs[0]] = src
    w.domain[src] = "output"


_HANDLERS = {
    "RESHAPE": _reshape,
    "PAD": _pad,
    "PADV2": _pad,
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "PRELU": _elementwise("prelu"),
    "LEAKY_RELU": _elementwise("leaky_relu"),
    "LOGISTIC": _elementwise("logistic"),
    "ADD": _elementwise("add"),
    "MUL": _elementwise("mul"),
    "TRANSPOSE_CONV": _transpose_conv,
    "STRIDED_SLICE": _slice,
    "SLICE": _slice,
}


def plan_summary(plan: StreamingPlan) -> dict[str, Any]:
    """A JSON-able digest for export.json and reports (no weights)."""
    return {
        "mode": plan.mode,
        "output_kind": plan.output_kind,
        "outputs": {key: buf.channels for key, buf in plan.outputs.items()},
        "hop": plan.hop,
        "window": plan.window,
        "latency_hops": plan.latency_hops,
        "lookahead_hops": plan.lookahead_hops,
        "macs_per_hop": plan.macs_per_hop,
        "layers": [
            {"kind": l.kind, "name": l.name, "inputs": l.inputs, "output": l.output, "dilation": l.dilation,
             "history_frames": l.history_frames, "macs": l.macs}
            for l in plan.layers
        ],
    }
