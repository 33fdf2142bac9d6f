"""Build single-op Keras models, convert them to int8 / int16x8 .tflite and run them.

Models take (1, 1, T, C) NHWC input so Conv2D (1,k) / DepthwiseConv2D / Conv2DTranspose
map to TFLite CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV. ``run_all`` runs the TFLite
reference kernels (BUILTIN_REF), TFLite's default builtin kernels without delegates
(BUILTIN_WITHOUT_DEFAULT_DELEGATES) and the TFLM interpreter, so a test can check all three.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

MODES = {"int8": np.int8, "int16": np.int16}


def convert(model, mode: str, seed: int = 0, samples: int = 16, scale: float = 1.0) -> bytes:
    """Full-integer conversion; mode "int8" or "int16" (16x8). Calibration: N(0, scale)."""
    import tensorflow as tf

    shapes = [tuple(int(d) for d in x.shape[1:]) for x in model.inputs]

    def representative():
        rng = np.random.default_rng(seed)
        for _ in range(samples):
            yield [(scale * rng.standard_normal((1,) + s)).astype(np.float32) for s in shapes]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    if mode == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    else:
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int16
    return converter.convert()


class TfliteOp:
    """The one op of a converted model: its tensors' values and quantization."""

    def __init__(self, flatbuffer: bytes, op_name: str):
        from ai_edge_litert import interpreter as litert

        self.flatbuffer = flatbuffer
        self.interpreter = litert.Interpreter(
            model_content=flatbuffer,
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
        self.interpreter.allocate_tensors()
        ops = [op for op in self.interpreter._get_ops_details() if op["op_name"] == op_name]
        assert len(ops) == 1, [op["op_name"] for op in self.interpreter._get_ops_details()]
        self.op = ops[0]
        self.details = {d["index"]: d for d in self.interpreter.get_tensor_details()}

    def ops(self) -> list[str]:
        return [op["op_name"] for op in self.interpreter._get_ops_details()]

    def tensor(self, position: int, outputs: bool = False) -> dict:
        """The op's input (or output) number ``position``: value (if constant), scales, zps."""
        index = (self.op["outputs"] if outputs else self.op["inputs"])[position]
        if index < 0:
            return None
        d = self.details[index]
        q = d["quantization_parameters"]
        try:
            value = self.interpreter.get_tensor(index)
        except ValueError:
            value = None
        return {"value": value, "scales": q["scales"], "zero_points": q["zero_points"],
                "dtype": d["dtype"], "shape": d["shape"]}

    def output(self) -> dict:
        return self.tensor(0, outputs=True)


def run_all(flatbuffer: bytes, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Output 0 from TFLite reference, TFLite default builtin (no delegates) and TFLM."""
    from ai_edge_litert import interpreter as litert
    from tflite_micro.python.tflite_micro import runtime

    results = {}
    for name, resolver in (("tflite_ref", litert.OpResolverType.BUILTIN_REF),
                           ("tflite_builtin", litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)):
        interpreter = litert.Interpreter(model_content=flatbuffer,
                                         experimental_op_resolver_type=resolver)
        interpreter.allocate_tensors()
        for detail, value in zip(interpreter.get_input_details(), inputs):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
        results[name] = interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()
    # Arena: room for the tensors (TFLM's default is a few kB) plus its bookkeeping.
    arena = 4 * sum(int(np.asarray(v).nbytes) for v in inputs) + len(flatbuffer) + (1 << 16)
    micro = runtime.Interpreter.from_bytes(flatbuffer, arena_size=arena)
    for i, value in enumerate(inputs):
        micro.set_input(value, i)
    micro.invoke()
    results["tflm"] = micro.get_output(0).copy()
    return results


def input_order(flatbuffer: bytes) -> list[dict]:
    """The model's input details (shape, dtype, quantization) in input order."""
    from ai_edge_litert import interpreter as litert

    interpreter = litert.Interpreter(model_content=flatbuffer)
    return interpreter.get_input_details()


def random_input(detail: dict, rng) -> np.ndarray:
    info = np.iinfo(detail["dtype"])
    return rng.integers(info.min, info.max + 1, size=detail["shape"]).astype(detail["dtype"])


def assert_same(actual, expected, what: str) -> None:
    """Bit-exact comparison that names the first mismatches (position, actual, expected)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bad = np.argwhere(actual != expected)
    if bad.size:
        lines = [f"  at {tuple(int(i) for i in pos)}: actual {actual[tuple(pos)]}, "
                 f"expected {expected[tuple(pos)]}" for pos in bad[:8]]
        raise AssertionError(f"{what}: {len(bad)} of {actual.size} values differ\n"
                             + "\n".join(lines))


def note_builtin_disagreement(outputs: dict, what: str) -> None:
    """TFLite's default (optimized) builtin kernels may round differently from the reference
    kernels that TFLM and afkd follow; say so as a warning instead of failing."""
    import warnings

    differ = int(np.count_nonzero(outputs["tflite_builtin"] != outputs["tflite_ref"]))
    if differ:
        diff = np.abs(outputs["tflite_builtin"].astype(np.int64) - outputs["tflite_ref"])
        warnings.warn(f"{what}: TFLite BUILTIN_WITHOUT_DEFAULT_DELEGATES differs from the "
                      f"reference kernels in {differ} of {diff.size} values "
                      f"(max {int(diff.max())} LSB)")
