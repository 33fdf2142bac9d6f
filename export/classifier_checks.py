"""Quantized-vs-float checks for the classifiers (rhythm detector, beat CNN).

The f-wave models are judged by SNR and spectral concentration of their outputs
(``tflite_export.quantized_figures``); a classifier by its logits and, what counts, its
decisions: the quantized graph (TFLite reference kernels) against float PyTorch on validation
windows. For the detector every frame's running decision is compared too (the firmware can be
asked for an answer at any time).
"""

from __future__ import annotations

import numpy as np
import torch

from afkd.decisions import record_decision, running_decisions
from afkd.export import checks
from afkd.export.export_families import export_family, torch_outputs


def classifier_figures(model_bytes: bytes, model: torch.nn.Module, windows: list[np.ndarray]) -> dict:
    """Figures of the quantized (or float) ``model_bytes`` against ``model`` on ``windows`` (mV).

    Returns {"figures", "q_inputs", "io", "order"} like ``tflite_export.quantized_figures``:
    logits SNR (dB, all windows), decision agreement per window and, for a detector, per frame.
    """
    spec = export_family(model)
    classes = len(model.cfg.classes)
    it = checks.interpreter(model_bytes, reference=True)
    io = checks.io_quantization(it)
    order = checks.output_order(it, spec.output_names)
    out = io["outputs"][order[0]]
    dtype = np.dtype(io["input"]["dtype"])
    q_inputs, got, want = [], [], []
    agree = frames_agree = frames_total = 0
    for x in windows:
        q = checks.quantize(x, io["input"]["scale"], io["input"]["zero_point"], dtype).reshape(io["input"]["shape"])
        raw = checks.run_tflite(it, q)[order[0]].reshape(-1, classes)  # (frames or 1, classes)
        ref = torch_outputs(model, x)["logits"].reshape(-1, classes)
        got.append(checks.dequantize(raw, out["scale"], out["zero_point"]))
        want.append(ref)
        # Integer codes for the quantized graph (its rule), floats for a float graph.
        codes = raw if out["scale"] else got[-1]
        agree += record_decision(codes) == record_decision(ref)
        if spec.kind == "detector":
            frames_agree += int(np.sum(running_decisions(codes) == running_decisions(ref)))
            frames_total += ref.shape[0]
        q_inputs.append(q)
    figures = {
        "logits_snr_db": checks.snr_db(np.concatenate([w.reshape(-1) for w in want]),
                                       np.concatenate([g.reshape(-1) for g in got])),
        "decision_agreement": agree / len(windows),
        "windows": len(windows),
        "input_step_uv": 1000.0 * io["input"]["scale"],
        "validation_input_peak_mv": float(max(np.abs(w).max() for w in windows)),
    }
    if spec.kind == "detector":
        figures["frame_decision_agreement"] = frames_agree / frames_total
    return {"figures": figures, "q_inputs": q_inputs, "io": io, "order": order}
