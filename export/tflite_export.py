"""Full-integer TFLite export: Keras rebuild, calibration, conversion, checks, files.

Files in DIR (stable names): ``model_float32.tflite``, ``model_<quant>.tflite`` (``int8`` or
``int16x8``) and ``export.json``. The quantized graph has input ``ecg`` and outputs ``aa``,
``va``, each (1, 1, T, 1), integer codes with the scale/zero point listed in export.json
(``mV = scale * (q - zero_point)``).

Modes: ``int8`` (int8 activations, input, output) and ``int16x8`` (TFLite's 16x8: int16
activations/input/output, int8 weights, int64 bias). Weights are per-channel symmetric int8.
Calibration uses windows of T samples from a dataset directory (or synthetic ECG from the data
room's generator); the quantized-vs-float figures come from *other* windows.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from afkd.errors import AfkdError  # noqa: E402
from afkd.training.calibration_windows import dataset_windows, split_windows, synthetic_ecg  # noqa: E402,F401
from afkd.training.model import DTFENet  # noqa: E402

QUANT_MODES = ("int8", "int16x8")
DEFAULT_QUANT = "int16x8"
KERAS_TOLERANCE_MV = 1e-3
# Activation headroom per mode: the converter also calibrates on each window times this gain.
# int16 has range to spare, and real recordings swing far beyond the synthetic set (a CinC 2017 AF
# segment reaches 7.1 mV; its internal AA activations clipped at 2x and 4x). Measured on the
# FitNet student, AA SNR vs PyTorch (synthetic validation / 28 CinC AF segments): 2x 36.9/14.1 dB,
# 4x 36.3/23.3, 8x 35.9/31.9, 16x 33.5/30.5. int8 has no range to spare: its steps would coarsen.
DEFAULT_HEADROOM = {"int8": 1.0, "int16x8": 8.0}


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the converter's C++ log lines ("fully_quantize: 0, ...") on file descriptor 2.

    Conversion errors still reach the user: they come back as the exception's message.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def headroom_for(quant: str, headroom: float | None) -> float:
    """The calibration gain for ``quant``: the user's, checked, or the mode's default."""
    if headroom is None:
        return DEFAULT_HEADROOM[quant]
    if not math.isfinite(headroom) or headroom < 1.0:
        raise AfkdError(f"--headroom {headroom}: must be a finite gain of at least 1")
    return float(headroom)


def convert(keras_model, quant: str | None, calibration: list[np.ndarray], headroom: float = 1.0) -> bytes:
    """Convert with tf.lite.TFLiteConverter; ``quant`` None gives the float32 model.

    The quantizer's ranges are min/max over the representative data, so calibrating on each
    window and on ``headroom`` times it widens every activation's range by that gain.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if quant is not None:
        shape = (1, 1, -1, 1)

        gains = (1.0,) if headroom == 1.0 else (1.0, headroom)

        def representative():
            for x in calibration:
                for gain in gains:
                    yield [(gain * x).reshape(shape).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        if quant == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_type = tf.int8
        else:
            ops_16x8 = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            converter.target_spec.supported_ops = [ops_16x8]
            io_type = tf.int16
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    try:
        # Keras' export prints a page about the saved artifact; users want our lines only.
        with contextlib.redirect_stdout(io.StringIO()), _quiet_stderr(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Statistics for quantized inputs were expected..."
            return converter.convert()
    except Exception as err:  # the converter raises several types, with pages of log text
        lines = [ln for ln in str(err).splitlines() if ln.strip()]
        raise AfkdError(f"TFLite conversion ({quant or 'float32'}): {lines[-1][:300] if lines else err}") from None


def torch_outputs(model: DTFENet, x: np.ndarray) -> dict[str, np.ndarray]:
    """PyTorch float aa, va (length,) mV for one window."""
    with torch.no_grad():
        aa, va = model(torch.from_numpy(x.reshape(1, -1)))
    return {"aa": aa.numpy().reshape(-1), "va": va.numpy().reshape(-1)}


def keras_max_abs_err(keras_model, model: torch.nn.Module, windows: list[np.ndarray]) -> float:
    """Largest |Keras - PyTorch| over the outputs of ``windows`` (any family)."""
    from afkd.export.export_families import export_family
    from afkd.export.export_families import torch_outputs as family_outputs

    names = export_family(model).output_names
    worst = 0.0
    for x in windows:
        got = keras_model(x.reshape(1, 1, -1, 1), training=False)
        got = got if isinstance(got, (list, tuple)) else [got]
        want = family_outputs(model, x)
        for name, tensor in zip(names, got):
            worst = max(worst, float(np.abs(np.asarray(tensor).reshape(-1) - want[name]).max()))
    return worst


def quantized_figures(model_bytes: bytes, model: DTFENet, windows: list[np.ndarray], fs: int) -> dict:
    """Quantized (TFLite reference kernels) vs float PyTorch on validation windows.

    SNR per output over all windows; SC difference = mean |SC(quantized aa) - SC(float aa)|.
    Returns the figures and the integer inputs used (for the TFLM comparison).
    """
    from afkd.export import checks
    from afkd.export.keras_model import OUTPUT_NAMES

    it = checks.interpreter(model_bytes, reference=True)
    io = checks.io_quantization(it)
    order = checks.output_order(it, OUTPUT_NAMES)
    dtype = np.dtype(io["input"]["dtype"])
    q_inputs, got, want, sc_diff = [], {n: [] for n in OUTPUT_NAMES}, {n: [] for n in OUTPUT_NAMES}, []
    for x in windows:
        q = checks.quantize(x, io["input"]["scale"], io["input"]["zero_point"], dtype).reshape(io["input"]["shape"])
        raw = checks.run_tflite(it, q)
        ref = torch_outputs(model, x)
        for name, pos in zip(OUTPUT_NAMES, order):
            o = io["outputs"][pos]
            got[name].append(checks.dequantize(raw[pos], o["scale"], o["zero_point"]).reshape(-1))
            want[name].append(ref[name])
        sc_diff.append(abs(checks.spectral_concentration(got["aa"][-1], fs)
                           - checks.spectral_concentration(want["aa"][-1], fs)))
        q_inputs.append(q)
    figures = {f"{n}_snr_db": checks.snr_db(np.concatenate(want[n]), np.concatenate(got[n]))
               for n in OUTPUT_NAMES}
    figures["sc_abs_diff"] = float(np.mean(sc_diff))
    figures["sc_float_mean"] = float(np.mean([checks.spectral_concentration(w, fs) for w in want["aa"]]))
    input_range = float(max(np.abs(w).max() for w in windows))
    figures["input_step_uv"] = 1000.0 * io["input"]["scale"]
    figures["validation_input_peak_mv"] = input_range
    return {"figures": figures, "q_inputs": q_inputs, "io": io, "order": order}


def figures_for(model_bytes: bytes, model, windows: list[np.ndarray]) -> dict:
    """The quantized-vs-float figures of the model's kind: f-wave SNR/SC or classifier agreement."""
    from afkd.export.export_families import export_family

    if export_family(model).classifier:
        from afkd.export.classifier_checks import classifier_figures

        return classifier_figures(model_bytes, model, windows)
    return quantized_figures(model_bytes, model, windows, model.cfg.fs)


def headline_snr(figures: dict) -> float | None:
    """The one SNR export.json lists per mode: AA for the f-wave models, logits for classifiers."""
    return figures.get("aa_snr_db", figures.get("logits_snr_db"))


def export_tflite(checkpoint, out_dir, quant: str = DEFAULT_QUANT, calibration=None,
                  calibration_segments: int = 16, validation_segments: int = 4,
                  seconds: float | None = None, headroom: float | None = None) -> dict:
    """``afkd export --target tflite``: write the float32 and quantized .tflite and export.json.

    ``calibration`` is a dataset directory at the model rate (None: synthetic ECG). ``seconds``
    sets the fixed input length (None: the family's default; the beat CNN reads its window).
    Returns the manifest (export.json content). Raises AfkdError on bad input or an op the
    firmware cannot run; nothing is left in ``out_dir`` then.
    """
    from afkd.atomic import atomic_dir
    from afkd.export import checks, saturation
    from afkd.export.export_families import export_family, input_length
    from afkd.export.fold import load_folded
    from afkd.export.manifest import base_manifest, write_manifest

    if quant not in QUANT_MODES:
        raise AfkdError(f"--quant {quant!r}: choose one of {', '.join(QUANT_MODES)}")
    model, folded = load_folded(checkpoint)
    spec = export_family(model)
    cfg = model.cfg
    length = input_length(model, seconds)
    gain = headroom_for(quant, headroom)
    cal, val, source = split_windows(cfg, length, calibration, calibration_segments, validation_segments)

    # TFLite's 16x8 quantizer has no PRELU; LEAKY_RELU with the frozen slope is the same function.
    keras_model = spec.build_keras(folded, length, leaky_relu=(quant == "int16x8"))
    keras_err = keras_max_abs_err(keras_model, model, val[:1])
    if keras_err > KERAS_TOLERANCE_MV:
        raise AfkdError(f"Keras rebuild differs from PyTorch by {keras_err:.3g}"
                        f"{'' if spec.classifier else ' mV'} (> {KERAS_TOLERANCE_MV})")
    float_bytes = convert(keras_model, None, cal)
    check_supported_ops(float_bytes, quantized=False)
    float_figures = figures_for(float_bytes, model, val[:1])["figures"]
    quant_bytes = convert(keras_model, quant, cal, gain)
    ops = checks.check_supported_ops(quant_bytes, quantized=True)
    measured = figures_for(quant_bytes, model, val)
    clipping = saturation.measure(quant_bytes, measured["q_inputs"]).to_dict()
    exactness = checks.compare_reference_and_tflm(quant_bytes, measured["q_inputs"])
    exactness.update(checks.compare_stream_reference_and_tflm(quant_bytes, measured["q_inputs"]))
    # Every export measures both modes (the default is the one that meets 30 dB), and checks the
    # ONNX form of the same folded model, so export.json always compares the choices.
    other = next(m for m in QUANT_MODES if m != quant)
    try:
        other_keras = spec.build_keras(folded, length, leaky_relu=(other == "int16x8"))
        other_figures = figures_for(convert(other_keras, other, cal, DEFAULT_HEADROOM[other]), model, val)["figures"]
    except AfkdError as err:  # e.g. a negative PReLU slope has no 16x8 form; the chosen mode still exports
        other_figures = {"aa_snr_db": None, "error": str(err)}
    from afkd.export.onnx_export import check_onnx, onnx_bytes

    onnx_check = check_onnx(onnx_bytes(folded, length, dynamic=False), folded, val[:1])

    shape = [1, 1, length, 1]
    io, order = measured["io"], measured["order"]
    out_shape = io["outputs"][order[0]]["shape"]
    manifest = base_manifest("tflite", checkpoint, cfg, length, spec.input_name, spec.output_names, shape,
                             output_shape=None if spec.kind == "separator" else out_shape)
    manifest["quantization"] = {
        "mode": quant, "weights": "int8 per-channel symmetric",
        "bias": "int32" if quant == "int8" else "int64",
        "input": {k: io["input"][k] for k in ("dtype", "scale", "zero_point", "tensor_index")},
        "outputs": {name: {**{k: io["outputs"][pos][k] for k in ("dtype", "scale", "zero_point", "tensor_index")},
                           "subgraph_output_position": pos}
                    for name, pos in zip(spec.output_names, order)},
        "formula": "mV = scale * (q - zero_point)" if spec.kind == "separator" else "logit = scale * (q - zero_point)",
    }
    figures = measured["figures"]
    manifest.update({
        "ops": ops,
        "op_set": sorted({op["op"] for op in ops}),
        "keras_max_abs_err": keras_err,
        f"float32_tflite_{'logits' if spec.classifier else 'aa'}_snr_db": headline_snr(float_figures),
        f"tflite_{quant}_snr_db": headline_snr(figures),
        f"tflite_{other}_snr_db": headline_snr(other_figures),  # measured, not written: see "files"
        "modes": {quant: figures, other: other_figures},
        **onnx_check,
        "quantized_vs_float": figures,
        "clipping_on_validation": clipping,
        **exactness,
        "calibration": {"source": source, "windows": len(cal), "validation_windows": len(val),
                        "window_samples": length, "headroom": gain},
        "reference_kernels": "ai_edge_litert BUILTIN_REF",
        "tflm_vs_reference_kernels": checks.reference_agreement(exactness),
        "files": {"float32": "model_float32.tflite", quant: f"model_{quant}.tflite"},
    })
    if spec.kind == "detector":
        manifest["decision"] = ("argmax over classes of the running sum of the quantized frame logits "
                                "(the mean's argmax); a record of n samples has floor(n / hop) frames")
    with atomic_dir(out_dir) as tmp:
        (tmp / "model_float32.tflite").write_bytes(float_bytes)
        (tmp / f"model_{quant}.tflite").write_bytes(quant_bytes)
        write_manifest(tmp, manifest)
    return manifest


def check_supported_ops(model_bytes: bytes, quantized: bool) -> list[dict]:
    from afkd.export.checks import check_supported_ops as check

    return check(model_bytes, quantized=quantized)
