"""The int8 LOGISTIC table, taken from TFLite itself.

TFLite's int8 LOGISTIC is a fixed-point evaluation (gemmlowp logistic on a Q4.27 input);
over the 256 possible inputs it is a table. Rather than re-derive that arithmetic, this
module builds a one-op .tflite (input (256,) int8 with the layer's scale and zero point,
output scale 1/256 zero point -128, as TFLite requires) and runs the TFLite interpreter
with its reference kernels on all 256 values.
"""

from __future__ import annotations

import flatbuffers
import numpy as np


def logistic_model(input_scale: float, input_zero_point: int, size: int = 256,
                   int16: bool = False) -> bytes:
    """A .tflite holding one LOGISTIC op on a (size,) int8 (or int16) tensor; the output has
    the quantization TFLite requires (1/256 and -128, or 1/32768 and 0)."""
    from ai_edge_litert import schema_py_generated as schema

    def tensor(name: str, buffer: int, scale: float, zero_point: int):
        t = schema.TensorT()
        t.shape = [size]
        t.type = schema.TensorType.INT16 if int16 else schema.TensorType.INT8
        t.buffer = buffer
        t.name = name
        q = schema.QuantizationParametersT()
        q.scale = [float(np.float32(scale))]
        q.zeroPoint = [int(zero_point)]
        t.quantization = q
        return t

    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.LOGISTIC
    code.deprecatedBuiltinCode = schema.BuiltinOperator.LOGISTIC
    code.version = 2
    op = schema.OperatorT()
    op.opcodeIndex = 0
    op.inputs = [0]
    op.outputs = [1]
    graph = schema.SubGraphT()
    graph.tensors = [tensor("x", 1, input_scale, input_zero_point),
                     tensor("y", 2, 1.0 / 32768.0, 0) if int16 else tensor("y", 2, 1.0 / 256.0, -128)]
    graph.inputs = [0]
    graph.outputs = [1]
    graph.operators = [op]
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [graph]
    model.buffers = [schema.BufferT() for _ in range(3)]
    model.description = "afkd logistic table probe"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def logistic_s8_all_inputs(input_scale: float, input_zero_point: int) -> np.ndarray:
    """TFLite LOGISTIC int8 outputs for inputs -128..127 (reference kernels)."""
    from ai_edge_litert import interpreter as litert

    interpreter = litert.Interpreter(
        model_content=logistic_model(input_scale, input_zero_point),
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"],
                           np.arange(-128, 128, dtype=np.int8))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()
