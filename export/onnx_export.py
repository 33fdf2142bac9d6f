"""ONNX export of a folded model, checked with onnxruntime against PyTorch.

Graph contracts (float32, mV), per kind (:mod:`afkd.export.export_families`):
- DT-FENet: input ``ecg`` (1, 1, T); outputs ``aa`` and ``va`` (1, 1, T).
- rhythm detector: input ``ecg`` (1, 1, T); output ``logits`` (1, classes, T/S), frame logits.
- beat CNN: input ``beat`` (1, 1, W); output ``logits`` (1, classes).
T is fixed (``seconds * fs``) or, with ``dynamic=True``, any multiple of the hop (not for the
beat CNN, whose window is fixed).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch

from afkd.errors import AfkdError
from afkd.export.export_families import export_family

OPSET = 17
INPUT_NAME = "ecg"  # the f-wave models' and the detector's; the beat CNN's is "beat"
OUTPUT_NAMES = ("aa", "va")


class _OnnxWrapper(torch.nn.Module):
    """(1, 1, T) -> the outputs with the contract's shapes (a tuple in output-name order)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.separator = export_family(model).kind == "separator"

    def forward(self, ecg: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.separator:
            aa, va = self.model(ecg)
            return aa.unsqueeze(1), va.unsqueeze(1)
        return (self.model(ecg),)


def _dynamic_axes(kind: str, input_name: str, output_names: tuple[str, ...]) -> dict:
    if kind == "window":
        raise AfkdError("--dynamic: the beat CNN reads windows of a fixed length")
    axes = {input_name: {2: "samples"}}
    axes.update({name: {2: "samples" if kind == "separator" else "frames"} for name in output_names})
    return axes


def onnx_bytes(folded: torch.nn.Module, length: int, dynamic: bool) -> bytes:
    """Serialize the (already folded, eval-mode) model to ONNX, opset 17."""
    spec = export_family(folded)
    example = torch.zeros(1, 1, length)
    axes = _dynamic_axes(spec.kind, spec.input_name, spec.output_names) if dynamic else None
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the shape checks in _input
        torch.onnx.export(
            _OnnxWrapper(folded).eval(), (example,), buffer, input_names=[spec.input_name],
            output_names=list(spec.output_names), dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )
    return buffer.getvalue()


def check_onnx(model_bytes: bytes, folded: torch.nn.Module, signals: list[np.ndarray]) -> dict:
    """Run each signal (T,) mV through onnxruntime and PyTorch; max |difference| over the outputs
    (mV for the f-wave models, logits for the classifiers)."""
    import onnxruntime as ort

    spec = export_family(folded)
    names = spec.output_names
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    worst, peak, lengths = 0.0, 0.0, []
    for x in signals:
        x = np.asarray(x, dtype=np.float32).reshape(1, 1, -1)
        got = dict(zip(names, session.run(list(names), {spec.input_name: x})))
        with torch.no_grad():
            want = dict(zip(names, _OnnxWrapper(folded).eval()(torch.from_numpy(x))))
        for name in names:
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
    if not dynamic or hop is None:
        return [length]
    candidates = {length, 2 * fs // hop * hop, 7 * hop, 37 * hop, length + 3 * hop}
    return sorted(c for c in candidates if c > 0)


def write_onnx(folded: torch.nn.Module, path: Path, length: int, dynamic: bool,
               signals: list[np.ndarray], reference: torch.nn.Module | None = None) -> dict:
    """Write ``path`` and return the check figures (max abs error against PyTorch, in mV).

    ``signals`` are float32 mV test signals; each is cut or tiled to the checked lengths.
    """
    data = onnx_bytes(folded, length, dynamic)
    cfg = folded.cfg
    tests = []
    for i, n in enumerate(check_lengths(getattr(cfg, "hop", None), cfg.fs, length, dynamic)):
        source = np.asarray(signals[i % len(signals)], dtype=np.float32)
        tests.append(np.resize(source, n))  # np.resize repeats the signal when n is longer
    figures = check_onnx(data, reference if reference is not None else folded, tests)
    if not np.isfinite(figures["onnx_max_abs_err"]) or figures["onnx_max_abs_err"] > 1e-3:
        units = "" if export_family(folded).classifier else " mV"
        raise AfkdError(f"{path.name}: onnxruntime differs from PyTorch by "
                        f"{figures['onnx_max_abs_err']:.3g}{units} (> 1e-3)")
    path.write_bytes(data)
    figures.update({"opset": OPSET, "dynamic": dynamic})
    return figures


def export_onnx(checkpoint, out_dir, seconds: float | None = None, dynamic: bool = False) -> dict:
    """``afkd export --target onnx``: write DIR/model.onnx and DIR/export.json; returns the manifest.

    The graph is the BatchNorm-folded model; it is checked with onnxruntime against the
    (unfolded) checkpoint's PyTorch model on synthetic ECG, fixed length ``seconds * fs`` (the
    family's default when None; the beat CNN's window) or, with ``dynamic``, at several
    lengths. Nothing is left in ``out_dir`` on error.
    """
    from afkd.atomic import atomic_dir
    from afkd.export.export_families import input_length
    from afkd.export.fold import load_folded
    from afkd.export.manifest import base_manifest, write_manifest
    from afkd.export.tflite_export import synthetic_ecg

    model, folded = load_folded(checkpoint)
    spec = export_family(model)
    length = input_length(model, seconds)
    if dynamic:
        _dynamic_axes(spec.kind, spec.input_name, spec.output_names)  # refuses the beat CNN first
    hop = getattr(model.cfg, "hop", 0)
    signals = synthetic_ecg(model.cfg.fs, max(length, 2 * model.cfg.fs) + 3 * hop, count=2, seed=7)
    shape = [1, 1, None if dynamic else length]
    manifest = base_manifest("onnx", checkpoint, model.cfg, None if dynamic else length,
                             spec.input_name, spec.output_names, shape)
    with atomic_dir(out_dir) as tmp:
        # Against the unfolded model: the check then covers folding and export together.
        figures = write_onnx(folded, tmp / "model.onnx", length, dynamic, signals, reference=model)
        manifest.update(figures)
        manifest["files"] = {"onnx": "model.onnx"}
        write_manifest(tmp, manifest)
    return manifest
