"""The classifiers' NumPy firmware twins equal TFLM bit for bit.

Detector: the streaming plan with a frame output (its 1x1 head's logits), streamed hop by hop,
equals the one-shot graph frame for frame, and its running sums give the decision of the
one-shot logits (afkd.decisions). Beat CNN: the one-window plan (MEAN, SUB, 'same' CONV_2D,
MAX_POOL_2D, FULLY_CONNECTED) equals TFLM on whole windows.
"""

import numpy as np
import pytest

from afkd.decisions import record_decision, running_decisions
from afkd.errors import AfkdError
from afkd.export.checks import run_tflm
from afkd.export.plan import plan_from_tflite
from afkd.export.stream_ref import StreamingReference
from afkd.export.window_plan import window_plan_from_tflite
from afkd.export.window_ref import WindowReference
from tiny_classifiers import DETECTOR_LENGTH, TINY_BEAT, TINY_DETECTOR, beat_tflite, detector_tflite, full_range
from tiny_tflite import ecg_like

DTYPES = {"int8": np.int8, "int16x8": np.int16}


def _quantize(x, model: bytes) -> np.ndarray:
    from afkd.export.checks import interpreter, io_quantization, quantize

    io = io_quantization(interpreter(model))
    return quantize(x, io["input"]["scale"], io["input"]["zero_point"], np.dtype(io["input"]["dtype"]))


@pytest.mark.parametrize("quant", ["int8", "int16x8"])
def test_detector_plan_has_a_frame_output_and_no_latency(quant):
    plan = plan_from_tflite(detector_tflite(quant))
    assert plan.output_kind == "frames" and plan.latency_hops == 0
    assert list(plan.outputs) == ["logits"] and plan.outputs["logits"].channels == len(TINY_DETECTOR.classes)
    assert plan.hop == TINY_DETECTOR.hop and plan.window == TINY_DETECTOR.enc_kernel
    assert [l.kind for l in plan.layers].count("depthwise") == len(TINY_DETECTOR.dilations)
    assert plan.layers[-1].kind == "pointwise" and plan.layers[-1].output == plan.outputs["logits"].name
    assert "logits" not in plan.buffers and plan.outputs["logits"].name not in plan.buffers


@pytest.mark.parametrize("quant", ["int8", "int16x8"])
def test_detector_stream_equals_one_shot_tflm_and_keeps_the_decision(quant):
    model = detector_tflite(quant)
    plan = plan_from_tflite(model)
    classes = len(TINY_DETECTOR.classes)
    inputs = [full_range(DTYPES[quant], DETECTOR_LENGTH, 3)] + [_quantize(x, model) for x in ecg_like(2, DETECTOR_LENGTH, 5)]
    for i, x in enumerate(inputs):
        want = np.asarray(run_tflm(model, [x.reshape(1, 1, -1, 1)], 1)[0][0]).reshape(-1, classes)
        reference = StreamingReference(plan)
        got, decisions = [], []
        for t in range(DETECTOR_LENGTH // plan.hop):
            got.append(reference.step(x[t * plan.hop:(t + 1) * plan.hop])["logits"])
            decisions.append(reference.result()["decision"])
        np.testing.assert_array_equal(np.stack(got), want, err_msg=f"{quant} input {i}")
        result = reference.result()
        np.testing.assert_array_equal(result["sums"], want.astype(np.int64).sum(axis=0))
        assert result["frames"] == want.shape[0] and result["decision"] == record_decision(want)
        np.testing.assert_array_equal(decisions, running_decisions(want))


def test_detector_result_needs_a_frame_plan():
    from tiny_tflite import tiny_tflite

    with pytest.raises(AfkdError, match="frame outputs"):
        StreamingReference(plan_from_tflite(tiny_tflite("int8"))).result()


@pytest.mark.parametrize("quant", ["int8", "int16x8"])
def test_beat_window_reference_equals_tflm(quant):
    model = beat_tflite(quant)
    plan = window_plan_from_tflite(model)
    assert [l.kind for l in plan.layers] == ["mean", "sub", "conv", "max_pool", "conv", "max_pool", "dense", "dense"]
    convs = [l for l in plan.layers if l.kind == "conv"]
    # 'same' padding: (k-1)//2 before, k//2 after (kernel 4 pads 1 and 2)
    assert [(l.kernel, l.pad_before, l.pad_after) for l in convs] == [(5, 2, 2), (4, 1, 2)]
    assert plan.window == TINY_BEAT.window and plan.output.channels == len(TINY_BEAT.classes)
    reference = WindowReference(plan)
    inputs = [full_range(DTYPES[quant], TINY_BEAT.window, s) for s in range(2)]
    inputs += [_quantize(x, model) for x in ecg_like(3, TINY_BEAT.window, 9)]
    micro = run_tflm(model, [x.reshape(1, 1, -1, 1) for x in inputs], 1)
    for i, (x, want) in enumerate(zip(inputs, micro)):
        np.testing.assert_array_equal(reference.run(x), np.asarray(want[0]).reshape(-1), err_msg=f"{quant} window {i}")


def test_window_plan_refuses_a_streaming_graph_and_a_wrong_window():
    from tiny_tflite import tiny_tflite

    with pytest.raises(AfkdError, match="not supported by the one-window firmware"):
        window_plan_from_tflite(tiny_tflite("int8"))
    reference = WindowReference(window_plan_from_tflite(beat_tflite("int8")))
    with pytest.raises(AfkdError, match="reads 64 samples, got 63"):
        reference.run(np.zeros(63, np.int8))
