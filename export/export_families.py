"""What the exporters need to know per model family: graph builder, tensor names, lengths.

Three kinds of deployable graph share ONNX, TFLite, the checks and the firmware route:

- ``separator`` (DT-FENet): ECG (1, 1, T, 1) -> ``aa``, ``va`` (1, 1, T, 1) mV, streamed hop
  by hop with overlap-add decoders.
- ``detector`` (RhythmTCN): ECG (1, 1, T, 1) -> frame ``logits`` (1, 1, T/S, classes),
  streamed hop by hop; the decision is the argmax of the running mean of the frame logits.
- ``window`` (BeatCNN): one beat window (1, 1, W, 1) -> ``logits`` (1, classes), one call.

The dense ResNet reference has no deployable graph (its 'same' padding looks ahead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from afkd.errors import AfkdError

#: the export's default input length per kind when the user gives no --seconds: the f-wave
#: models' 30 s segments; 64 s for a detector, longer than any CinC 2017 record (9-61 s), so
#: one fixed-length graph covers a whole record zero-padded (the detector is causal).
DEFAULT_SECONDS = {"separator": 30.0, "detector": 64.0}


@dataclass(frozen=True)
class ExportFamily:
    family: str  # afkd.training.families name
    kind: str  # separator | detector | window
    input_name: str
    output_names: tuple[str, ...]
    build_keras: Callable[..., object]  # (folded model, length, leaky_relu=) -> keras.Model

    @property
    def classifier(self) -> bool:
        return self.kind in ("detector", "window")


def export_family(model: nn.Module | object) -> ExportFamily:
    """The export description of ``model``'s family; AfkdError for one without a graph."""
    from afkd.training.families import family_of

    name = family_of(model).name
    if name == "dtfenet":
        from afkd.export import keras_model as k

        return ExportFamily(name, "separator", k.INPUT_NAME, k.OUTPUT_NAMES, k.build_keras_model)
    if name == "rhythm_tcn":
        from afkd.export import keras_detector as k

        return ExportFamily(name, "detector", k.INPUT_NAME, k.OUTPUT_NAMES, k.build_detector_keras)
    if name == "beat_cnn":
        from afkd.export import keras_beat as k

        return ExportFamily(name, "window", k.INPUT_NAME, k.OUTPUT_NAMES, k.build_beat_keras)
    raise AfkdError(f"model family {name}: no deployable graph (the dense reference is evaluated in PyTorch; "
                    "export the compact detector rhythm_tcn instead)")


def input_length(model: nn.Module, seconds: float | None) -> int:
    """Samples of the fixed-length graph: the beat window, or ``seconds`` (the kind's default)
    at the model rate, a positive multiple of the hop."""
    spec = export_family(model)
    cfg = model.cfg
    if spec.kind == "window":
        return int(cfg.window)
    seconds = DEFAULT_SECONDS[spec.kind] if seconds is None else seconds
    length = int(round(seconds * cfg.fs))
    if seconds <= 0 or length <= 0 or length % cfg.hop:
        raise AfkdError(f"--seconds {seconds}: {length} samples at {cfg.fs} Hz is not a positive "
                        f"multiple of the hop ({cfg.hop} samples)")
    return length


@torch.no_grad()
def torch_outputs(model: nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    """Float PyTorch outputs for one input (length,) in the TFLite graph's layout, flattened:
    aa, va (T,); detector logits (frames * classes,) frame-major; beat logits (classes,)."""
    spec = export_family(model)
    tensor = torch.from_numpy(np.asarray(x, dtype=np.float32).reshape(1, -1))
    if spec.kind == "separator":
        aa, va = model(tensor)
        return {"aa": aa.numpy().reshape(-1), "va": va.numpy().reshape(-1)}
    logits = model(tensor)[0]  # detector (classes, frames), beat (classes,)
    if spec.kind == "detector":
        logits = logits.T  # (frames, classes): NHWC order
    return {"logits": logits.numpy().reshape(-1)}
