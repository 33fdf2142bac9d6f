"""The NumPy streaming reference equals the one-shot int8/int16x8 model run in TFLM, bit for bit.

TFLM is the firmware's reference (the issue's): in 16x8 TFLite's own reference kernels can
differ from it by 1 LSB (int16 MUL); int8 must match both, and does.
"""

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.export.checks import interpreter, run_tflm
from afkd.export.plan import plan_from_tflite
from afkd.export.stream_ref import StreamingReference
from tiny_tflite import LENGTH, tiny_tflite


def tflite_outputs(model: bytes, x: np.ndarray, plan) -> dict[str, np.ndarray]:
    """TFLM's one-shot outputs, by name (TFLM keeps the subgraph's output order)."""
    it = interpreter(model, reference=True)
    order = [d["index"] for d in it.get_output_details()]
    outputs = run_tflm(model, [x.reshape(1, 1, -1, 1)])[0]
    return {key: np.asarray(outputs[order.index(t)]).reshape(-1) for key, t in plan.output_tensors.items()}


def tflite_reference_outputs(model: bytes, x: np.ndarray, plan) -> dict[str, np.ndarray]:
    it = interpreter(model, reference=True)
    detail = it.get_input_details()[0]
    it.set_tensor(detail["index"], x.reshape(detail["shape"]))
    it.invoke()
    return {key: it.get_tensor(t).reshape(-1) for key, t in plan.output_tensors.items()}


def full_range(dtype, n, seed):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max + 1, size=n).astype(dtype)


@pytest.mark.parametrize("lookahead", [0, 3])
@pytest.mark.parametrize("quant,dtype", [("int8", np.int8), ("int16x8", np.int16)])
def test_streaming_equals_one_shot_tflite_bit_for_bit(quant, dtype, lookahead):
    model = tiny_tflite(quant, lookahead=lookahead)
    plan = plan_from_tflite(model)
    # The lookahead is a ring of D encoder frames per path in the plan (PAD + STRIDED_SLICE in the graph).
    delays = [layer.history_frames for layer in plan.layers if layer.kind == "delay"]
    assert delays == ([lookahead] * 2 if lookahead else []) and plan.lookahead_hops == lookahead
    for seed in range(3):
        x = full_range(dtype, LENGTH, seed)
        want = tflite_outputs(model, x, plan)
        got = StreamingReference(plan).run(x)
        for key in ("aa", "va"):
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{quant} {key} seed {seed}")


def test_int8_streaming_also_equals_tflite_reference_kernels():
    model = tiny_tflite("int8")
    plan = plan_from_tflite(model)
    x = full_range(np.int8, LENGTH, 11)
    want = tflite_reference_outputs(model, x, plan)
    got = StreamingReference(plan).run(x)
    for key in ("aa", "va"):
        np.testing.assert_array_equal(got[key], want[key])


def test_a_changed_weight_breaks_bit_exactness():
    """The comparison above can fail: one output channel's weights with the wrong sign."""
    model = tiny_tflite("int8")
    plan = plan_from_tflite(model)
    x = full_range(np.int8, LENGTH, 7)
    want = tflite_outputs(model, x, plan)
    layer = next(l for l in plan.layers if l.kind == "pointwise")
    layer.weights = layer.weights.copy()
    layer.weights[0] = -np.maximum(layer.weights[0], -127)
    got = StreamingReference(plan).run(x)
    assert not all(np.array_equal(got[k], want[k]) for k in ("aa", "va"))


def test_dumps_every_layer_each_step_and_checks_hop_size():
    plan = plan_from_tflite(tiny_tflite("int8"))
    ref = StreamingReference(plan)
    dump: dict = {}
    ref.step(np.zeros(plan.hop, np.int8), dump)
    ref.step(np.zeros(plan.hop, np.int8), dump)
    assert set(dump) == {l.name for l in plan.layers} and all(len(v) == 2 for v in dump.values())
    with pytest.raises(AfkdError, match="takes 10 samples"):
        ref.step(np.zeros(3, np.int8))
