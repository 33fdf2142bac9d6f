"""ONNX export of a folded DT-FENet, checked with onnxruntime against PyTorch.

Graph contract: input ``ecg`` (1, 1, T) float32 mV; outputs ``aa`` and ``va`` (1, 1, T) mV.
T is fixed (``seconds * fs``) or, with ``dynamic=True``, any multiple of the hop.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch

from afkd.errors import AfkdError
from afkd.training.model import DTFENet

OPSET = 17
INPUT_NAME = "ecg"
OUTPUT_NAMES = ("aa", "va")


class _OnnxWrapper(torch.nn.Module):
    """(1, 1, T) -> aa, va each (1, 1, T): the model with the contract's shapes."""

    def __init__(self, model: DTFENet):
        super().__init__()
        self.model = model

    def forward(self, ecg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        aa, va = self.model(ecg)
        return aa.unsqueeze(1), va.unsqueeze(1)


def onnx_bytes(folded: DTFENet, length: int, dynamic: bool) -> bytes:
    """Serialize the (already folded, eval-mode) model to ONNX, opset 17."""
    example = torch.zeros(1, 1, length)
    axes = {name: {2: "samples"} for name in (INPUT_NAME, *OUTPUT_NAMES)} if dynamic else None
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the shape checks in _input
        torch.onnx.export(
            _OnnxWrapper(folded).eval(), (example,), buffer, input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES), dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )
    return buffer.getvalue()


def check_onnx(model_bytes: bytes, folded: DTFENet, signals: list[np.ndarray]) -> dict:
    """Run each signal (T,) mV through onnxruntime and PyTorch; max |difference| over aa and va."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    worst, peak, lengths = 0.0, 0.0, []
    for x in signals:
        x = np.asarray(x, dtype=np.float32).reshape(1, 1, -1)
        got = dict(zip(OUTPUT_NAMES, session.run(list(OUTPUT_NAMES), {INPUT_NAME: x})))
        with torch.no_grad():
            want = dict(zip(OUTPUT_NAMES, folded(torch.from_numpy(x))))
        for name in OUTPUT_NAMES:
            ref = want[name].numpy().reshape(-1)
            # max() would skip a NaN (nan > x is False) and report 0 mV: name it instead.
            for who, y in (("onnxruntime", got[name]), ("PyTorch", ref)):
                if not np.isfinite(y).all():
                    raise AfkdError(f"{who} output {name} holds {int((~np.isfinite(y)).sum())} NaN/infinite "
                                    f"values at input length {x.shape[-1]}")
            worst = max(worst, float(np.abs(got[name].reshape(-1) - ref).max()))
            peak = max(peak, float(np.abs(ref).max()))
        lengths.append(int(x.shape[-1]))
    return {"onnx_max_abs_err": worst, "onnx_output_peak": peak, "onnx_checked_lengths": lengths}


def check_lengths(hop: int, fs: int, length: int, dynamic: bool) -> list[int]:
    """Input lengths the export checks: the fixed one, or a spread for a dynamic graph."""
    if not dynamic:
        return [length]
    candidates = {length, 2 * fs // hop * hop, 7 * hop, 37 * hop, length + 3 * hop}
    return sorted(c for c in candidates if c > 0)


def write_onnx(folded: DTFENet, path: Path, length: int, dynamic: bool,
               signals: list[np.ndarray], reference: DTFENet | None = None) -> dict:
    """Write ``path`` and return the check figures (max abs error against PyTorch, in mV).

    ``signals`` are float32 mV test signals; each is cut or tiled to the checked lengths.
    """
    data = onnx_bytes(folded, length, dynamic)
    cfg = folded.cfg
    tests = []
    for i, n in enumerate(check_lengths(cfg.hop, cfg.fs, length, dynamic)):
        source = np.asarray(signals[i % len(signals)], dtype=np.float32)
        tests.append(np.resize(source, n))  # np.resize repeats the signal when n is longer
    figures = check_onnx(data, reference if reference is not None else folded, tests)
    if not np.isfinite(figures["onnx_max_abs_err"]) or figures["onnx_max_abs_err"] > 1e-3:
        raise AfkdError(f"{path.name}: onnxruntime differs from PyTorch by "
                        f"{figures['onnx_max_abs_err']:.3g} mV (> 1e-3)")
    path.write_bytes(data)
    figures.update({"opset": OPSET, "dynamic": dynamic})
    return figures


def export_onnx(checkpoint, out_dir, seconds: float = 30.0, dynamic: bool = False) -> dict:
    """``afkd export --target onnx``: write DIR/model.onnx and DIR/export.json; returns the manifest.

    The graph is the BatchNorm-folded model; it is checked with onnxruntime against the
    (unfolded) checkpoint's PyTorch model on synthetic ECG, fixed length ``seconds * fs`` or,
    with ``dynamic``, at several lengths. Nothing is left in ``out_dir`` on error.
    """
    from afkd.atomic import atomic_dir
    from afkd.export.fold import load_folded
    from afkd.export.manifest import base_manifest, write_manifest
    from afkd.export.tflite_export import fixed_length, synthetic_ecg

    model, folded = load_folded(checkpoint)
    length = fixed_length(model.cfg, seconds)
    signals = synthetic_ecg(model.cfg.fs, max(length, 2 * model.cfg.fs) + 3 * model.cfg.hop, count=2, seed=7)
    shape = [1, 1, None if dynamic else length]
    manifest = base_manifest("onnx", checkpoint, model.cfg, None if dynamic else length,
                             INPUT_NAME, OUTPUT_NAMES, shape)
    with atomic_dir(out_dir) as tmp:
        # Against the unfolded model: the check then covers folding and export together.
        figures = write_onnx(folded, tmp / "model.onnx", length, dynamic, signals, reference=model)
        manifest.update(figures)
        manifest["files"] = {"onnx": "model.onnx"}
        write_manifest(tmp, manifest)
    return manifest
