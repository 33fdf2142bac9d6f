"""``DIR/export.json``: what a user or the firmware generator needs to use an exported model.

Common fields (every target)::

    format "afkd-export", version 1, afkd_version, target, checkpoint {path, sha256},
    family (dtfenet | rhythm_tcn | beat_cnn), kind (separator | detector | window), config (the
    family's), fs, hop (null for the beat CNN), lookahead_samples (the outputs estimate the signal
    this many samples earlier), latency_samples (a stream's: one hop + lookahead for the separator,
    one hop for the detector, the window for the beat CNN), input_samples (null = dynamic),
    input {name, shape, units "mV"}, outputs [{name, shape, units}], files {role: file name};
    classifiers add classes (the logits' order).

The targets add their check figures and, for TFLite, ``quantization`` and ``ops``.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from afkd import __version__
from afkd.atomic import atomic_write_text

FORMAT = "afkd-export"
VERSION = 1
MANIFEST_NAME = "export.json"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def base_manifest(target: str, checkpoint: str | Path, cfg: Any, length: int | None,
                  input_name: str, output_names: tuple[str, ...], shape: list,
                  output_shape: list | None = None) -> dict[str, Any]:
    """The fields every export shares; ``shape`` is the input tensor shape (None for dynamic
    axes), ``output_shape`` the outputs' (default: the input's, as for the f-wave models)."""
    from afkd.export.export_families import export_family
    from afkd.training.families import family_of

    kind = export_family(cfg).kind
    hop = getattr(cfg, "hop", None)
    lookahead = getattr(cfg, "lookahead_samples", 0)
    if kind == "separator":
        # The outputs lag the ECG by the masks' lookahead (one-shot too), and a stream emits hop
        # t-1 when hop t arrives (the decoder's overlap): see the model docstring.
        latency = hop + lookahead
    elif kind == "detector":
        latency = hop  # frame t is complete with the hop that ends it
    else:
        latency = cfg.window  # a beat is classified once its window is complete
    manifest = {
        "format": FORMAT, "version": VERSION, "afkd_version": __version__, "target": target,
        "checkpoint": {"path": str(checkpoint), "sha256": sha256_file(checkpoint)},
        "family": family_of(cfg).name, "kind": kind,
        "config": cfg.to_dict(),
        "fs": cfg.fs, "hop": hop,
        "lookahead_samples": lookahead,
        "latency_samples": latency, "latency_seconds": latency / cfg.fs,
        "input_samples": length,
        "input": {"name": input_name, "shape": shape, "units": "mV"},
        "outputs": [{"name": n, "shape": output_shape or shape, "units": "logits" if kind != "separator" else "mV"}
                    for n in output_names],
        "files": {},
    }
    if kind != "separator":
        manifest["classes"] = list(cfg.classes)
    return manifest


def _json_safe(value):
    """inf/nan are not JSON: write them as strings so the file stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_manifest(out_dir: Path, manifest: dict) -> None:
    atomic_write_text(out_dir / MANIFEST_NAME, json.dumps(_json_safe(manifest), indent=2) + "\n")
