"""The one-window plan: a quantized TFLite classifier of one fixed window as a list of layers.

The beat CNN is not streamed: the caller hands in one beat window and gets the class
logits. Its graph (``export.keras_beat``) becomes::

    MEAN (time) -> SUB            mean       one value; sub: the window minus it (broadcast)
    CONV_2D (1,K) SAME|VALID      conv       dense products over K*Cin contiguous values of a
                                             padded copy of its input (padding = zero point)
    MAX_POOL_2D (1,P) VALID       max_pool
    RESHAPE                       (none)     a view: NHWC (t, C) is already time-major flat
    FULLY_CONNECTED               dense      the 1x1 dense kernel on the flat input

Anything else is an AfkdError naming the layer. Like ``export.plan`` this module keeps
TFLite's quantization as stored; ``export.window_ref`` derives the kernel parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from afkd.errors import AfkdError
from afkd.export.plan import _DTYPES, _c_name, _name_output, _quant
from afkd.export.tflite_graph import Graph, Operator, read_tflite

SUPPORTED_OPS = frozenset("MEAN SUB CONV_2D MAX_POOL_2D RESHAPE FULLY_CONNECTED".split())


@dataclass
class WindowBuffer:
    """A window tensor (steps, channels), time-major; a flat vector is (1, n)."""

    name: str
    steps: int
    channels: int
    dtype: str  # "int8", "int16" or "float32"
    scale: float
    zero_point: int
    tensor: int

    @property
    def size(self) -> int:
        return self.steps * self.channels


@dataclass
class WindowLayer:
    kind: str  # mean | sub | conv | max_pool | dense
    name: str
    op_index: int
    inputs: list[str]
    output: str
    activation: str = "NONE"
    weights: np.ndarray | None = None  # conv (Cout, K*Cin) OHWI flattened; dense (rows, cols)
    weight_scale: np.ndarray | None = None
    bias: np.ndarray | None = None
    kernel: int = 1  # conv taps, pool width
    stride: int = 1
    pad_before: int = 0  # conv: zero-point frames before and after its input
    pad_after: int = 0

    @property
    def macs(self) -> int:
        return 0 if self.weights is None else int(self.weights.size)


@dataclass
class WindowPlan:
    mode: str  # "int8", "int16x8" or "float32"
    window: int  # input samples
    input: WindowBuffer
    output: WindowBuffer  # (1, classes)
    output_tensor: int
    buffers: dict[str, WindowBuffer] = field(default_factory=dict)  # every tensor by name, I/O included
    layers: list[WindowLayer] = field(default_factory=list)

    @property
    def macs_per_window(self) -> int:
        """Multiply-accumulates of one call (conv positions times their dense size, dense layers)."""
        total = 0
        for layer in self.layers:
            if layer.kind == "conv":
                total += layer.macs * self.buffers[layer.output].steps
            elif layer.kind == "dense":
                total += layer.macs
        return total


class _Walker:
    def __init__(self, graph: Graph, source: str):
        self.g, self.source = graph, source
        self.alias: dict[int, int] = {}
        self.buffers: dict[int, WindowBuffer] = {}
        self.names: set[str] = set()
        self.layers: list[WindowLayer] = []

    def fail(self, op: Operator, problem: str) -> None:
        out = self.g.tensors[op.outputs[0]].name if op.outputs else "?"
        raise AfkdError(f"{self.source}: layer {op.opcode} ({out}): {problem}")

    def root(self, t: int) -> int:
        while t in self.alias:
            t = self.alias[t]
        return t

    def buffer(self, t: int) -> WindowBuffer:
        t = self.root(t)
        if t not in self.buffers:
            tensor = self.g.tensors[t]
            shape = tensor.shape
            if len(shape) == 4 and shape[0] == 1 and shape[1] == 1:
                steps, channels = shape[2], shape[3]
            elif len(shape) == 2 and shape[0] == 1:
                steps, channels = 1, shape[1]
            else:
                raise AfkdError(f"{self.source}: tensor {tensor.name} has shape {list(shape)}; a window "
                                "graph holds (1, 1, t, C) or (1, n) tensors")
            scale, zp = _quant(tensor)
            self.buffers[t] = WindowBuffer(_c_name(tensor.name, self.names), steps, channels,
                                           _DTYPES[tensor.dtype], scale, zp, t)
        return self.buffers[t]

    def const(self, t: int):
        tensor = self.g.tensors[t]
        if tensor.data is None:
            raise AfkdError(f"{self.source}: tensor {tensor.name} should be a constant")
        return tensor

    def add(self, kind: str, op: Operator, inputs: list[int], **fields) -> WindowLayer:
        out = self.buffer(op.outputs[0])
        layer = WindowLayer(kind, out.name, op.index, [self.buffer(t).name for t in inputs], out.name,
                            activation=op.options.get("fused_activation_function", "NONE"), **fields)
        self.layers.append(layer)
        return layer


def _mean(w: _Walker, op: Operator, ins: list[int]) -> None:
    src = w.buffer(ins[0])
    axis = sorted(int(a) % 4 for a in w.const(ins[1]).data.reshape(-1))
    if axis != [2] or not op.options.get("keep_dims", False) or src.channels != 1:
        w.fail(op, f"a window mean must average one channel over time, keeping dims (axis {axis})")
    w.add("mean", op, [ins[0]])


def _sub(w: _Walker, op: Operator, ins: list[int]) -> None:
    a, b = w.buffer(ins[0]), w.buffer(ins[1])
    if any(w.g.tensors[t].is_constant for t in ins):
        w.fail(op, "SUB with a constant operand")
    if (b.steps, b.channels) not in ((a.steps, a.channels), (1, 1)):
        w.fail(op, f"second operand {b.steps}x{b.channels} is neither the first's shape nor one value")
    w.add("sub", op, ins)


def _conv(w: _Walker, op: Operator, ins: list[int]) -> None:
    src = w.buffer(ins[0])
    weights = w.const(ins[1])  # (Cout, 1, K, Cin)
    cout, _, k, cin = weights.shape
    o = op.options
    stride = int(o.get("stride_w", 1))
    if o.get("dilation_w_factor", 1) != 1 or o.get("stride_h", 1) != 1 or weights.shape[1] != 1:
        w.fail(op, "expected an undilated (1,K) convolution along time")
    if cin != src.channels:
        w.fail(op, f"weights read {cin} channels, the input has {src.channels}")
    out = w.buffer(op.outputs[0])
    if o.get("padding") == "SAME":  # TFLite: the total padding, its smaller half before
        total = max((out.steps - 1) * stride + k - src.steps, 0)
        before, after = total // 2, total - total // 2
    elif o.get("padding") == "VALID":
        before = after = 0
    else:
        w.fail(op, f"padding {o.get('padding')!r}")
    if (src.steps + before + after - k) // stride + 1 != out.steps:
        w.fail(op, f"{src.steps} steps in, {out.steps} out: not a stride-{stride} convolution of kernel {k}")
    w.add("conv", op, [ins[0]], weights=weights.data.reshape(cout, k * cin), weight_scale=weights.scale,
          bias=w.g.tensors[ins[2]].data if len(ins) > 2 else None, kernel=k, stride=stride,
          pad_before=before, pad_after=after)


def _max_pool(w: _Walker, op: Operator, ins: list[int]) -> None:
    o = op.options
    if o.get("padding") != "VALID" or o.get("filter_height", 1) != 1 or o.get("stride_h", 1) != 1:
        w.fail(op, "expected a VALID (1,P) pooling along time")
    src, out = w.buffer(ins[0]), w.buffer(op.outputs[0])
    if _quant(w.g.tensors[ins[0]]) != _quant(w.g.tensors[op.outputs[0]]):
        w.fail(op, "max pooling must keep its input's quantization")
    if (src.steps - o["filter_width"]) // o["stride_w"] + 1 != out.steps or src.channels != out.channels:
        w.fail(op, "output shape is not the pooled input's")
    w.add("max_pool", op, [ins[0]], kernel=int(o["filter_width"]), stride=int(o["stride_w"]))


def _reshape(w: _Walker, op: Operator, ins: list[int]) -> None:
    src = w.g.tensors[ins[0]]
    dst = w.g.tensors[op.outputs[0]]
    if int(np.prod(src.shape)) != int(np.prod(dst.shape)) or _quant(src) != _quant(dst):
        w.fail(op, f"reshape {list(src.shape)} -> {list(dst.shape)} changes the values")
    w.alias[op.outputs[0]] = ins[0]  # NHWC (1,1,t,C) flattens time-major: the same bytes


def _dense(w: _Walker, op: Operator, ins: list[int]) -> None:
    src = w.buffer(ins[0])
    weights = w.const(ins[1])  # (rows, cols)
    rows, cols = weights.shape
    if cols != src.size:
        w.fail(op, f"weights read {cols} values, the input holds {src.size}")
    w.add("dense", op, [ins[0]], weights=weights.data.reshape(rows, cols), weight_scale=weights.scale,
          bias=w.g.tensors[ins[2]].data if len(ins) > 2 and ins[2] >= 0 else None)


_HANDLERS = {"MEAN": _mean, "SUB": _sub, "CONV_2D": _conv, "MAX_POOL_2D": _max_pool, "RESHAPE": _reshape,
             "FULLY_CONNECTED": _dense}


def build_window_plan(graph: Graph, source: str = "model") -> WindowPlan:
    """Walk a one-window graph (input (1, 1, W, 1), one output (1, classes))."""
    bad = sorted({op.opcode for op in graph.operators} - SUPPORTED_OPS)
    if bad:
        op = next(op for op in graph.operators if op.opcode in bad)
        raise AfkdError(f"{source}: layer {op.opcode} ({graph.tensors[op.outputs[0]].name}) is not supported by "
                        f"the one-window firmware (supported: {', '.join(sorted(SUPPORTED_OPS))})")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise AfkdError(f"{source}: a window classifier has one input and one output "
                        f"(found {len(graph.inputs)} and {len(graph.outputs)})")
    w = _Walker(graph, source)
    in_buf = w.buffer(graph.inputs[0])
    if in_buf.channels != 1:
        raise AfkdError(f"{source}: the input window must have one channel, found {in_buf.channels}")
    for op in graph.operators:
        _HANDLERS[op.opcode](w, op, [i for i in op.inputs if i >= 0])
    out = w.buffer(graph.outputs[0])
    if not w.layers or w.layers[-1].output != out.name or out.steps != 1:
        raise AfkdError(f"{source}: the output must be the last layer's (1, classes) vector")
    _name_output(w.layers, out, "logits", w.names)
    mode = {"int8": "int8", "int16": "int16x8", "float32": "float32"}[in_buf.dtype]
    buffers = {b.name: b for b in w.buffers.values()}
    return WindowPlan(mode, in_buf.steps, in_buf, out, graph.outputs[0], buffers, w.layers)


def window_plan_from_tflite(model: bytes, source: str = "model") -> WindowPlan:
    return build_window_plan(read_tflite(model, source), source)


def is_window_graph(model: bytes, source: str = "model") -> bool:
    """A one-window classifier (MEAN/CONV/POOL/FULLY_CONNECTED), not a streaming graph."""
    graph = read_tflite(model, source)
    return any(op.opcode in ("FULLY_CONNECTED", "MAX_POOL_2D", "MEAN") for op in graph.operators)


def window_plan_summary(plan: WindowPlan) -> dict:
    """A JSON-able digest for export.json and reports (no weights)."""
    return {
        "mode": plan.mode, "output_kind": "window", "window": plan.window,
        "classes": plan.output.channels, "macs_per_window": plan.macs_per_window,
        "layers": [{"kind": l.kind, "name": l.name, "inputs": l.inputs, "output": l.output,
                    "steps": plan.buffers[l.output].steps, "channels": plan.buffers[l.output].channels,
                    "kernel": l.kernel, "stride": l.stride, "pad": [l.pad_before, l.pad_after], "macs": l.macs}
                   for l in plan.layers],
    }
