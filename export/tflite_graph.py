"""Read a .tflite flatbuffer into plain Python: tensors, operators and their options.

The streaming plan walks this graph; nothing here depends on afkd's network. Uses the
flatbuffer schema bindings that ship with ai-edge-litert (object API), so no interpreter
is needed to see weights, quantization parameters or operator options such as dilation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from afkd.errors import AfkdError

try:  # the bindings moved between releases; both expose the same generated classes
    from ai_edge_litert import schema_py_generated as schema
except ImportError:  # pragma: no cover
    from tensorflow.lite.python import schema_py_generated as schema  # type: ignore

_OPCODE_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_TENSOR_TYPES = {
    schema.TensorType.FLOAT32: np.float32,
    schema.TensorType.INT8: np.int8,
    schema.TensorType.INT16: np.int16,
    schema.TensorType.INT32: np.int32,
    schema.TensorType.INT64: np.int64,
    schema.TensorType.UINT8: np.uint8,
}
_PADDING = {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")}
_ACTIVATION = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type
    scale: np.ndarray | None  # per-tensor (1,) or per-channel (C,) float32; None if not quantized
    zero_point: np.ndarray | None  # same length as scale, int64
    quantized_dimension: int
    data: np.ndarray | None  # constant contents (weights, bias, pad amounts); None for activations

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass
class Operator:
    index: int
    opcode: str  # e.g. "CONV_2D"
    inputs: list[int]  # tensor indices, -1 for an omitted optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"stride_w": 10, "padding": "VALID"}


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]  # in execution order
    inputs: list[int]
    outputs: list[int]

    def producer(self, tensor: int) -> Operator | None:
        return next((op for op in self.operators if tensor in op.outputs), None)

    def consumers(self, tensor: int) -> list[Operator]:
        return [op for op in self.operators if tensor in op.inputs]

    @property
    def opcodes(self) -> list[str]:
        return sorted({op.opcode for op in self.operators})


def _decode_options(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    out: dict[str, Any] = {}
    for key, value in vars(options).items():
        # camelCase -> snake_case keeps the names TFLite's documentation uses.
        name = "".join("_" + c.lower() if c.isupper() else c for c in key).lstrip("_")
        if name == "padding":
            value = _PADDING.get(value, value)
        elif name == "fused_activation_function":
            value = _ACTIVATION.get(value, value)
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        out[name] = value
    return out


def read_tflite(model: bytes, name: str = "model") -> Graph:
    """Parse ``model`` (the .tflite bytes). ``name`` is used in error messages."""
    if len(model) < 8 or model[4:8] != b"TFL3":
        raise AfkdError(f"{name}: not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    except Exception as err:
        raise AfkdError(f"{name}: not a TFLite flatbuffer ({type(err).__name__})") from None
    if not m.subgraphs:
        raise AfkdError(f"{name}: TFLite model has no subgraph")
    if len(m.subgraphs) != 1:
        raise AfkdError(f"{name}: {len(m.subgraphs)} subgraphs; afkd reads single-graph models")
    sub = m.subgraphs[0]
    tensors = []
    for i, t in enumerate(sub.tensors):
        if t.type not in _TENSOR_TYPES:
            raise AfkdError(f"{name}: tensor {i} has unsupported type {t.type}")
        dtype = _TENSOR_TYPES[t.type]
        shape = tuple(int(s) for s in (t.shape if t.shape is not None else ()))
        data = None
        buffer = m.buffers[t.buffer] if t.buffer < len(m.buffers) else None
        if buffer is not None and buffer.data is not None and len(buffer.data):
            raw = np.asarray(buffer.data, dtype=np.uint8).tobytes()
            data = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        q = t.quantization
        scale = zero_point = None
        qdim = 0
        if q is not None and q.scale is not None and len(q.scale):
            scale = np.asarray(q.scale, dtype=np.float32)
            zero_point = np.asarray(q.zeroPoint, dtype=np.int64)
            qdim = int(q.quantizedDimension)
        tname = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        tensors.append(Tensor(i, tname, shape, dtype, scale, zero_point, qdim, data))
    operators = []
    for i, op in enumerate(sub.operators):
        code = m.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        opcode = _OPCODE_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if opcode == "CUSTOM":
            opcode = f"CUSTOM:{code.customCode.decode() if code.customCode else '?'}"
        inputs = [int(x) for x in (op.inputs if op.inputs is not None else [])]
        outputs = [int(x) for x in (op.outputs if op.outputs is not None else [])]
        operators.append(Operator(i, opcode, inputs, outputs, _decode_options(op.builtinOptions)))
    return Graph(tensors, operators, [int(x) for x in sub.inputs], [int(x) for x in sub.outputs])
