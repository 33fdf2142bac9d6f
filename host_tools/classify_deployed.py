"""``afkd classify`` with a deployed rhythm detector: its quantized .tflite (run in TFLM, the
firmware's reference) or its firmware build (run on a runner: host, qemu, renode, serial).

Both answer one label per record, the argmax of the mean of the record's frame logits; each
record is read as ``afkd data import --kind records`` reads it (``cli_classify.read_preprocessed``:
one lead, resampled to the model rate, the 0.01 Hz high-pass). A .tflite needs the export.json
written beside it (class names, rate, quantization); a build is the directory ``afkd export
--target`` wrote. These are the deployment kinds of ``afkd classify --model`` (its
``MODEL_KINDS``); the checkpoint route (PyTorch) is the command's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from afkd.decisions import record_decision
from afkd.errors import AfkdError


def deployed_kind(path: str | Path) -> str | None:
    """"tflite" for a .tflite file, "build" for a firmware build directory, None otherwise."""
    path = Path(path)
    if path.is_file() and path.suffix == ".tflite":
        return "tflite"
    if path.is_dir() and (path / "export.json").is_file():
        manifest = _manifest(path / "export.json")
        return "build" if isinstance(manifest.get("firmware"), dict) else "tflite"
    return None


def _manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise AfkdError(f"{path}: not a readable export.json ({err})") from None


def _detector_manifest(manifest: dict, where: Path) -> dict:
    if manifest.get("kind") != "detector":
        what = manifest.get("kind") or "f-wave separator"
        raise AfkdError(f"{where}: a {what} model; afkd classify answers per record with a rhythm detector")
    return manifest


def _tflite_and_manifest(path: Path) -> tuple[bytes, dict]:
    if path.is_dir():
        manifest = _manifest(path / "export.json")
        mode = manifest.get("quantization", {}).get("mode")
        name = manifest.get("files", {}).get(mode) if mode else None
        if not name or not (path / name).is_file():
            raise AfkdError(f"{path}: export.json names no quantized .tflite in this folder")
        return (path / name).read_bytes(), _detector_manifest(manifest, path)
    beside = path.parent / "export.json"
    if not beside.is_file():
        raise AfkdError(f"{path}: no export.json beside it (it holds the class names and the input rate)")
    return path.read_bytes(), _detector_manifest(_manifest(beside), path)


def _quantize(manifest: dict, mv: np.ndarray) -> np.ndarray:
    from afkd.export.checks import quantize

    q = manifest["quantization"]["input"]
    return quantize(mv, float(q["scale"]), int(q["zero_point"]), np.dtype(q["dtype"]))


def _records(records: list[Path], fs: int, lead: str | None):
    from afkd.host_tools.classifier_inputs import Item
    from afkd.host_tools.cli_classify import read_preprocessed

    for base in records:
        yield Item(Path(base).name, read_preprocessed(Path(base), fs, lead), None)


def classify_tflite(model: str | Path, records: list[Path], lead: str | None = None, **_) -> list[str]:
    """The label of each record (WFDB base paths), from the quantized graph run in TFLM."""
    from afkd.export.checks import run_tflm

    tflite, manifest = _tflite_and_manifest(Path(model))
    classes, hop = list(manifest["classes"]), int(manifest["hop"])
    length = int(manifest["input"]["shape"][2])
    zero = int(manifest["quantization"]["input"]["zero_point"])
    inputs, frames = [], []
    for item in _records(records, int(manifest["fs"]), lead):
        n = (item.ecg.size // hop) * hop
        if n == 0:
            raise AfkdError(f"record {item.id}: shorter than one hop ({hop} samples)")
        if n > length:
            raise AfkdError(f"record {item.id}: {n / manifest['fs']:g} s is longer than the graph's "
                            f"{length / manifest['fs']:g} s (export with a larger --seconds)")
        x = np.full(length, zero, dtype=np.dtype(manifest["quantization"]["input"]["dtype"]))
        x[:n] = _quantize(manifest, item.ecg[:n])
        inputs.append(x.reshape(1, 1, -1, 1))
        frames.append(n // hop)
    outputs = run_tflm(tflite, inputs, 1) if inputs else []
    return [classes[record_decision(np.asarray(out[0]).reshape(-1, len(classes)), count)]
            for out, count in zip(outputs, frames)]


def classify_firmware(build: str | Path, records: list[Path], lead: str | None = None, runner: str = "host",
                      timeout_s: float = 20.0, **_) -> list[str]:
    """The label of each record, from the firmware's own running answer (RESULT) at its end."""
    from afkd.host_tools.runners import open_runner
    from afkd.host_tools.validate import load_build

    loaded = load_build(build, runner)
    manifest = _detector_manifest(loaded.manifest, Path(build))
    classes, hop = list(manifest["classes"]), int(manifest["hop"])
    answers = []
    with open_runner(runner, loaded.firmware, timeout_s=timeout_s) as fw:
        if fw.info().model_kind != "detector":
            raise AfkdError(f"{loaded.firmware}: the firmware is a {fw.info().model_kind}, not a rhythm detector")
        for item in _records(records, int(manifest["fs"]), lead):
            n = (item.ecg.size // hop) * hop
            if n == 0:
                raise AfkdError(f"record {item.id}: shorter than one hop ({hop} samples)")
            fw.reset()
            fw.run_values(_quantize(manifest, item.ecg[:n]))
            answers.append(classes[fw.result().decision])
    return answers


def is_tflite(path: Path) -> bool:
    return deployed_kind(path) == "tflite"


def is_build(path: Path) -> bool:
    return deployed_kind(path) == "build"
