"""Checks every export runs: op support, TFLite reference vs TFLM bit-exactness, SNR and SC.

The numeric reference for the firmware is TFLite's *reference* kernels
(``OpResolverType.BUILTIN_REF``). TFLite's default builtin kernels
(``BUILTIN_WITHOUT_DEFAULT_DELEGATES``, optimized, no XNNPACK) may round differently in a
few places (measured: up to 1 LSB on a small fraction of int8 samples), so both are run and
the optimized kernels' largest difference is reported beside the bit-exact verdict.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402
from scipy.signal import welch  # noqa: E402

from afkd.errors import AfkdError  # noqa: E402

# Ops the firmware's integer kernels run. LEAKY_RELU carries the PReLU in int16x8 graphs,
# where TFLite's quantizer has no PRELU. QUANTIZE/DEQUANTIZE are accepted only as the
# first/last op (a float edge); inside the graph they would mean a silent float fallback.
SUPPORTED_OPS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "PAD", "PRELU", "LEAKY_RELU", "LOGISTIC",
    "ADD", "MUL", "RELU", "RESHAPE", "STRIDED_SLICE", "SLICE",
})
EDGE_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})
SC_BAND_HZ = (3.0, 12.0)


def interpreter(model_bytes: bytes, reference: bool = True) -> Interpreter:
    """A TFLite interpreter without XNNPACK: reference kernels, or the default builtin kernels."""
    kind = OpResolverType.BUILTIN_REF if reference else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = Interpreter(model_content=model_bytes, experimental_op_resolver_type=kind)
    it.allocate_tensors()
    return it


def graph_ops(model_bytes: bytes) -> list[dict]:
    """The ops in execution order: ``{"op", "layer", "dtype"}`` (layer = its output tensor's name)."""
    it = Interpreter(model_content=model_bytes)
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    ops = []
    for op in sorted(it._get_ops_details(), key=lambda o: o["index"]):
        out = tensors.get(int(op["outputs"][0])) if len(op["outputs"]) else None
        ops.append({"op": op["op_name"], "layer": out["name"] if out else "?",
                    "dtype": np.dtype(out["dtype"]).name if out else "?"})
    return ops


def check_supported_ops(model_bytes: bytes, quantized: bool = True) -> list[dict]:
    """Raise AfkdError naming the first layer the firmware cannot run; return the op list.

    In a quantized graph every op output must be an integer tensor (no float fallback).
    """
    ops = graph_ops(model_bytes)
    last = len(ops) - 1
    for i, op in enumerate(ops):
        at_edge = op["op"] in EDGE_OPS and i in (0, last)
        if op["op"] not in SUPPORTED_OPS and not at_edge:
            raise AfkdError(f"layer {op['layer']}: op {op['op']} (op {i} of {last + 1}) is not supported "
                        "by the firmware")
        if quantized and not at_edge and op["dtype"].startswith("float"):
            raise AfkdError(f"layer {op['layer']}: op {op['op']} runs in {op['dtype']}, not integer")
    return ops


def output_order(it: Interpreter, names: tuple[str, ...]) -> list[int]:
    """Positions in the subgraph's output list of the model outputs ``names`` (Keras order)."""
    signature = it._get_full_signature_list()["serving_default"]["outputs"]
    by_tensor = {d["index"]: pos for pos, d in enumerate(it.get_output_details())}
    return [by_tensor[signature[f"output_{k}"]] for k in range(len(names))]


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    """Float mV -> integer codes, q = round(x / scale) + Z, saturated (scale 0: a float tensor)."""
    if scale == 0:
        return np.asarray(x, dtype=np.float32)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """r = scale * (q - Z) (scale 0: a float tensor, returned as is)."""
    if scale == 0:
        return np.asarray(q, dtype=np.float32)
    return (scale * (q.astype(np.float64) - zero_point)).astype(np.float32)


def io_quantization(it: Interpreter) -> dict:
    """Input/output tensors' dtype, shape, scale, zero point (scale 0 means float)."""
    def describe(d):
        scale, zp = d["quantization"]
        return {"dtype": np.dtype(d["dtype"]).name, "shape": [int(s) for s in d["shape"]],
                "scale": float(scale), "zero_point": int(zp), "tensor_index": int(d["index"])}
    return {"input": describe(it.get_input_details()[0]),
            "outputs": [describe(d) for d in it.get_output_details()]}


def run_tflite(it: Interpreter, x: np.ndarray) -> list[np.ndarray]:
    """Feed the input tensor ``x`` (already in the input's dtype); raw outputs in subgraph order."""
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], x.reshape(d["shape"]).astype(d["dtype"]))
    it.invoke()
    return [it.get_tensor(o["index"]).copy() for o in it.get_output_details()]


def run_tflm(model_bytes: bytes, inputs: list[np.ndarray], n_outputs: int = 2) -> list[list[np.ndarray]]:
    """TFLM's Python interpreter on each input; raw outputs in subgraph order.

    TFLM refuses a model with an op it has no kernel for (AfkdError naming the problem).
    """
    from tflite_micro.python.tflite_micro import runtime

    try:
        # TFLM's default arena is too small for long windows; size it from the model's tensors.
        tm = runtime.Interpreter.from_bytes(model_bytes, arena_size=_arena_bytes(model_bytes))
    except Exception as err:  # TFLM raises RuntimeError with its own log text
        raise AfkdError(f"TFLM: cannot load the model ({' '.join(str(err).split())[:300]})") from None
    results = []
    for x in inputs:
        tm.reset()
        tm.set_input(x, 0)
        tm.invoke()
        results.append([np.array(tm.get_output(i)) for i in range(n_outputs)])
    return results


def _arena_bytes(model_bytes: bytes) -> int:
    """Generous TFLM arena: every tensor's bytes plus slack (a Python-side check, not firmware)."""
    it = Interpreter(model_content=model_bytes)
    total = sum(int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize for t in it.get_tensor_details())
    return int(total * 2 + (1 << 20))


def compare_reference_and_tflm(model_bytes: bytes, inputs: list[np.ndarray]) -> dict:
    """Run the integer inputs through TFLite (reference and default kernels) and TFLM.

    Returns ``tflm_bit_exact`` (TFLM == TFLite reference on every output sample),
    ``tflm_max_lsb_diff`` and ``builtin_vs_reference_max_lsb_diff``.
    """
    ref_it, opt_it = interpreter(model_bytes, True), interpreter(model_bytes, False)
    tflm = run_tflm(model_bytes, inputs, len(ref_it.get_output_details()))
    worst_tflm = worst_opt = 0
    for x, micro in zip(inputs, tflm):
        ref = run_tflite(ref_it, x)
        opt = run_tflite(opt_it, x)
        for r, m, o in zip(ref, micro, opt):
            worst_tflm = max(worst_tflm, int(np.abs(r.astype(np.int64) - m.reshape(r.shape)).max()))
            worst_opt = max(worst_opt, int(np.abs(r.astype(np.int64) - o).max()))
    return {"tflm_bit_exact": worst_tflm == 0, "tflm_max_lsb_diff": worst_tflm,
            "builtin_vs_reference_max_lsb_diff": worst_opt, "bit_exact_inputs": len(inputs)}


def reference_agreement(exactness: dict) -> str:
    """The sentence export.json and the export summary give for TFLM against TFLite's reference
    kernels, said from the measured figures of :func:`compare_reference_and_tflm`."""
    windows = exactness["bit_exact_inputs"]
    where = f"on the {windows} validation window{'s' if windows != 1 else ''}"
    if exactness["tflm_max_lsb_diff"] == 0:
        return f"TFLM matches these bit for bit {where}"
    return (f"TFLM differs from these by up to {exactness['tflm_max_lsb_diff']} LSB {where}; "
            "the firmware follows TFLM")


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """10 log10(sum ref^2 / sum (est - ref)^2), over all samples given."""
    reference = np.asarray(reference, dtype=np.float64)
    err = np.sum((np.asarray(estimate, dtype=np.float64) - reference) ** 2)
    power = np.sum(reference**2)
    if err == 0:
        return float("inf")
    return float(10 * np.log10(power / err)) if power > 0 else float("-inf")


def spectral_concentration(x: np.ndarray, fs: float, band: tuple[float, float] = SC_BAND_HZ) -> float:
    """Power in ``band`` over total power (Welch, 4 s windows or the whole signal if shorter)."""
    x = np.asarray(x, dtype=np.float64)
    freqs, psd = welch(x, fs=fs, nperseg=min(len(x), int(4 * fs)))
    total = psd.sum()
    inside = psd[(freqs >= band[0]) & (freqs <= band[1])].sum()
    return float(inside / total) if total > 0 else 0.0


def compare_stream_reference_and_tflm(model_bytes: bytes, inputs: list[np.ndarray], windows: int = 1) -> dict:
    """The firmware's NumPy twin (export.stream_ref, the same plan and parameters as the
    generated C) against TFLM on the first ``windows`` integer inputs.

    This is the check that the firmware can be bit-exact: TFLM is the firmware's reference.
    (TFLite's own reference kernels may differ from TFLM in 16x8, see compare_reference_and_tflm.)
    """
    from afkd.export.plan import plan_from_tflite
    from afkd.export.stream_ref import StreamingReference

    plan = plan_from_tflite(model_bytes)
    order = [d["index"] for d in interpreter(model_bytes, True).get_output_details()]
    reference = StreamingReference(plan)
    worst = 0
    for x in inputs[:windows]:
        q = np.asarray(x).reshape(-1)
        tflm = run_tflm(model_bytes, [q.reshape(1, 1, -1, 1)])[0]
        stream = reference.run(q)
        for key, tensor in plan.output_tensors.items():
            expected = np.asarray(tflm[order.index(tensor)]).reshape(-1).astype(np.int64)
            worst = max(worst, int(np.abs(stream[key].astype(np.int64) - expected).max()))
    return {"firmware_reference": "TFLM", "stream_reference_vs_tflm_bit_exact": worst == 0,
            "stream_reference_vs_tflm_max_lsb_diff": worst, "stream_reference_checked_windows": min(windows, len(inputs))}
