"""Generated C for the rhythm detector, compiled on the host and called through ctypes: each
step's logits equal TFLM's one-shot frame logits bit for bit (streaming == one-shot), and
<prefix>_result's running sums and decision equal the reference's after every step.
(The UART firmware on host and QEMU is tested in test_firmware_classifiers.py.)"""

from __future__ import annotations

import ctypes as C
import subprocess

import numpy as np
import pytest

from afkd.decisions import running_decisions
from afkd.export.checks import run_tflm
from afkd.export.codegen import build_context, render_model
from afkd.export.plan import plan_from_tflite
from tests.kernel_harness import clib
from tiny_classifiers import DETECTOR_LENGTH, TINY_DETECTOR, detector_tflite, full_range

DTYPES = {"int8": np.int8, "int16x8": np.int16}


def build_model_library(tflite: bytes, folder, prefix: str, weight_storage: str, class_names=None):
    """Render the model, compile it with the runtime kernels into a shared library."""
    plan = plan_from_tflite(tflite)
    context = build_context(plan, prefix, 250, "tiny.tflite", "0" * 64, weight_storage, class_names)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render_model(context).items():
        (folder / name).write_text(text)
    return _compile(folder, prefix), context, plan


def _compile(folder, prefix: str) -> C.CDLL:
    """The generated step and weights (not the harness glue) with the runtime kernels, as a shared library."""
    library = folder / f"lib{prefix}.so"
    sources = [folder / f"{prefix}_model.c", folder / f"{prefix}_weights.c"]
    subprocess.run(["gcc", *clib.CFLAGS, "-fPIC", "-shared", "-I", str(clib.RUNTIME), "-I", str(folder),
                    "-o", str(library), *map(str, sources), *map(str, clib.kernel_sources()), "-lm"], check=True)
    return C.CDLL(str(library))


@pytest.mark.parametrize("quant,storage", [("int8", "int8"), ("int16x8", "int16"), ("int16x8", "int8")])
def test_generated_detector_equals_tflm_frame_for_frame(tmp_path, quant, storage):
    tflite = detector_tflite(quant)
    lib, context, plan = build_model_library(tflite, tmp_path / "gen", "det", storage, list(TINY_DETECTOR.classes))
    classes = len(TINY_DETECTOR.classes)
    assert context["output_kind"] == "frames" and context["classes"] == classes
    header = (tmp_path / "gen" / "det_model.h").read_text()
    assert "#define DET_CLASSES 4" in header and "uint32_t det_result(" in header and "det_flush" not in header
    dtype = DTYPES[quant]
    ctype = clib.CTYPE[np.dtype(dtype)]
    state = (C.c_uint8 * context["state_bytes"])()
    for seed in range(2):
        x = full_range(dtype, DETECTOR_LENGTH, seed + 20)
        want = np.asarray(run_tflm(tflite, [x.reshape(1, 1, -1, 1)], 1)[0][0]).reshape(-1, classes)
        lib.det_init(state)
        got, decisions, sums = [], [], np.zeros(classes, np.int32)
        frames = C.c_uint32()
        for t in range(DETECTOR_LENGTH // plan.hop):
            hop = np.ascontiguousarray(x[t * plan.hop:(t + 1) * plan.hop])
            logits = np.zeros(classes, dtype)
            lib.det_step(state, clib.ptr(hop, ctype), clib.ptr(logits, ctype))
            got.append(logits)
            decisions.append(lib.det_result(state, clib.ptr(sums, C.c_int32), C.byref(frames)))
        np.testing.assert_array_equal(np.stack(got), want, err_msg=f"{quant}/{storage} seed {seed}")
        np.testing.assert_array_equal(decisions, running_decisions(want))
        np.testing.assert_array_equal(sums, want.astype(np.int64).sum(axis=0))
        assert frames.value == want.shape[0]
    mean = (C.c_float * classes)()
    lib.det_mean_logits(state, mean)
    scale, zero = plan.outputs["logits"].scale, plan.outputs["logits"].zero_point
    np.testing.assert_allclose(np.array(mean), scale * (want.mean(axis=0) - zero), rtol=1e-5, atol=1e-6)


def build_window_library(tflite: bytes, folder, prefix: str, weight_storage: str):
    from afkd.export.codegen_window import build_window_context, render_window_model
    from afkd.export.window_plan import window_plan_from_tflite

    plan = window_plan_from_tflite(tflite)
    context = build_window_context(plan, prefix, 250, "beat.tflite", "0" * 64, weight_storage)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render_window_model(context).items():
        (folder / name).write_text(text)
    return _compile(folder, prefix), context, plan


@pytest.mark.parametrize("quant,storage", [("int8", "int8"), ("int8", "int16"), ("int16x8", "int16")])
def test_generated_beat_classifier_equals_tflm(tmp_path, quant, storage):
    from tiny_classifiers import TINY_BEAT, beat_tflite
    from tiny_tflite import ecg_like

    tflite = beat_tflite(quant)
    lib, context, plan = build_window_library(tflite, tmp_path / "gen", "beat", storage)
    classes, window = len(TINY_BEAT.classes), TINY_BEAT.window
    header = (tmp_path / "gen" / "beat_model.h").read_text()
    assert f"#define BEAT_WINDOW {window}" in header and "uint32_t beat_classify(" in header
    dtype = DTYPES[quant]
    ctype = clib.CTYPE[np.dtype(dtype)]
    scratch = (C.c_uint8 * context["scratch_bytes"])()
    inputs = [full_range(dtype, window, s) for s in range(3)]
    scale, zero = plan.input.scale, plan.input.zero_point
    inputs += [np.clip(np.round(x / scale) + zero, np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype)
               for x in ecg_like(3, window, 4)]
    micro = run_tflm(tflite, [x.reshape(1, 1, -1, 1) for x in inputs], 1)
    for i, (x, want) in enumerate(zip(inputs, micro)):
        want = np.asarray(want[0]).reshape(-1)
        logits = np.zeros(classes, dtype)
        best = lib.beat_classify(scratch, clib.ptr(np.ascontiguousarray(x), ctype), clib.ptr(logits, ctype))
        np.testing.assert_array_equal(logits, want, err_msg=f"{quant}/{storage} window {i}")
        assert best == int(np.argmax(want))
