"""Cut one binary op (ADD, MUL) out of a converted model so both its inputs can be set."""

from __future__ import annotations

import flatbuffers
import numpy as np

from tests.kernel_harness import tflite_ops


def isolate(flatbuffer: bytes, op_details: dict) -> bytes:
    """A model whose only op is the given one, its inputs and output made graph I/O."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    graph = model.subgraphs[0]
    index = op_details["index"]
    graph.operators = [graph.operators[index]]
    graph.inputs = list(op_details["inputs"])
    graph.outputs = list(op_details["outputs"])
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def run_isolated_binary(flatbuffer: bytes, op_details: dict, a, b) -> np.ndarray:
    """TFLite reference output of the op on flat a, b (TFLM checked to agree)."""
    single = isolate(flatbuffer, op_details)
    details = tflite_ops.input_order(single)
    shape = details[0]["shape"]
    size = int(np.prod(shape))
    out = []
    for start in range(0, len(a), size):
        chunk_a = np.resize(a[start:start + size], size).reshape(shape)
        chunk_b = np.resize(b[start:start + size], size).reshape(shape)
        outputs = tflite_ops.run_all(single, [chunk_a, chunk_b])
        tflite_ops.assert_same(outputs["tflm"], outputs["tflite_ref"],
                               "isolated op: TFLM vs TFLite reference")
        tflite_ops.note_builtin_disagreement(outputs, "isolated binary op")
        out.append(outputs["tflite_ref"].ravel()[: min(size, len(a) - start)])
    return np.concatenate(out)
