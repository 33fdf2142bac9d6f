"""The monitor build: the f-wave extractor and the rhythm detector on one ECG stream, one
firmware, one UART protocol, one footprint report.

What a wearable ships: the ECG arrives once, in the extractor's input quantization, hop by hop
(its hop, e.g. 10 samples); the extractor answers each aa/va hop, and every detector-hop's worth
of samples, requantized to the detector's input (TFLite's QUANTIZE arithmetic, the NumPy twin
``intops.requantize_values``), steps the detector (its hop must be a multiple of the
extractor's). Each model is generated as on its own (its prefix, its weights file); the
templates ``monitor.[ch].j2`` join them and ``monitor_glue.[ch].j2`` binds the pair to the
harness (protocol kind "monitor": aa, va and the latest detector logits per hop; RESULT).

    out/  CMakeLists.txt, model/ (both models' C, monitor.[ch], glue), afkd/, build/,
          both .tflite files, export.json {"monitor": ..., "separator": ..., "detector": ...}
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from afkd import __version__
from afkd.errors import AfkdError
from afkd.export.codegen import TEMPLATE_SOURCE, _environment
from afkd.export.boards import TARGET_BOARDS
from afkd.export.firmware_project import build_project, default_weight_storage, plan_and_render, write_build_files
from afkd.export.intops_params import requantize_params

_GLUE = ("afkd_model_glue.h", "afkd_model_glue.c")


def monitor_context(sep: dict, det: dict, prefix: str, weights16_only: bool, sep_input, det_input) -> dict[str, Any]:
    """The monitor templates' context from the two models' contexts and input buffers (plan.input)."""
    if sep.get("output_kind") != "decoded" or det.get("output_kind") != "frames":
        raise AfkdError("monitor: needs an f-wave extractor and a rhythm detector")
    if sep["fs"] != det["fs"]:
        raise AfkdError(f"monitor: the extractor runs at {sep['fs']} Hz, the detector at {det['fs']} Hz")
    if det["hop"] % sep["hop"]:
        raise AfkdError(f"monitor: the detector's hop ({det['hop']}) is not a multiple of the extractor's ({sep['hop']})")
    if det["sample_bytes"] > sep["sample_bytes"]:
        raise AfkdError(f"monitor: the detector's {det['mode']} logits do not fit the extractor's {sep['mode']} samples "
                        "(export the detector in the extractor's mode or narrower)")
    input_offset, output_offset, multiplier, shift = requantize_params(
        sep_input.scale, sep_input.zero_point, det_input.scale, det_input.zero_point)
    ratio = det["hop"] // sep["hop"]
    digest = hashlib.sha256((sep["source_sha256"] + det["source_sha256"]).encode()).hexdigest()
    real = float(np.float32(sep_input.scale)) / float(np.float32(det_input.scale))
    return {"prefix": prefix, "PREFIX": prefix.upper(), "version": __version__, "sep": sep, "det": det,
            "ratio": ratio, "source_sha256": digest, "weights16_only": weights16_only,
            "weights8_only": sep.get("weights8_only", False) and det.get("weights8_only", False),
            "s8_weights16_only": sep.get("s8_weights16_only", False) and det.get("s8_weights16_only", False),
            "s16_w8_wide": sep.get("s16_w8_wide", True) or det.get("s16_w8_wide", True),
            "macs_per_hop": int(round(sep["macs_per_hop"] + det["macs_per_hop"] / ratio)),
            "requant": {"multiplier": multiplier, "shift": shift, "real_text": f"{real:.9g}",
                        "input_offset": input_offset, "output_offset": output_offset}}


def render_monitor(context: dict[str, Any]) -> dict[str, str]:
    env = _environment()
    names = {"monitor.h.j2": f"{context['prefix']}.h", "monitor.c.j2": f"{context['prefix']}.c",
             "monitor_glue.h.j2": "afkd_model_glue.h", "monitor_glue.c.j2": "afkd_model_glue.c"}
    return {name: env.get_template(t).render(template_source=TEMPLATE_SOURCE, template=t, **context)
            for t, name in names.items()}


def export_monitor(separator_tflite: Path, detector_tflite: Path, out_dir: Path, target: str,
                   separator_prefix: str = "dtfe", detector_prefix: str = "rhythm", prefix: str = "monitor",
                   class_names: list[str] | None = None, build: bool = True, fs: int = 250,
                   separator_manifest: dict | None = None, detector_manifest: dict | None = None) -> dict[str, Any]:
    """Generate (and build) the monitor project for ``target`` from the two quantized .tflite files."""
    from afkd.atomic import atomic_dir
    from afkd.export.manifest import write_manifest

    if target not in TARGET_BOARDS:
        raise AfkdError(f"--target {target!r}: choose one of {', '.join(TARGET_BOARDS)}")
    if len({separator_prefix, detector_prefix, prefix}) != 3:
        raise AfkdError("monitor: the extractor, the detector and the monitor need three different prefixes")
    paths = {"separator": Path(separator_tflite), "detector": Path(detector_tflite)}
    for path in paths.values():
        if not path.is_file():
            raise AfkdError(f"{path}: no such .tflite file")
    models = {role: path.read_bytes() for role, path in paths.items()}
    made = {}
    for role, tflite in models.items():
        name = paths[role].name
        storage = default_weight_storage(tflite, name)
        plan, context, files = plan_and_render(tflite, separator_prefix if role == "separator" else detector_prefix,
                                               fs, name, storage, class_names if role == "detector" else None)
        made[role] = (plan, context, {k: v for k, v in files.items() if k not in _GLUE})
    sep, det = made["separator"][1], made["detector"][1]
    weights16_only = sep["weights16_only"] and det["weights16_only"]
    context = monitor_context(sep, det, prefix, weights16_only, made["separator"][0].input, made["detector"][0].input)
    files = {**made["separator"][2], **made["detector"][2], **render_monitor(context)}
    board = TARGET_BOARDS[target]
    manifest: dict[str, Any] = {}

    def build_in_place(project: Path) -> None:
        # CMake records absolute paths: the project is built where it stays (afkd.atomic).
        firmware = build_project(project, board) if build else None
        footprint = None
        if firmware is not None and board != "host":
            from afkd.host_tools.footprint import FootprintRules, analyze

            b = project / "build"
            names = "|".join(sorted({separator_prefix, detector_prefix, prefix}))
            rules = FootprintRules.for_prefix(prefix, state_symbols=rf"^({names})_(instance|state|latest)$",
                                              generated_objects=FootprintRules.generated_objects
                                              + rf"|(^|[/\\])({names})[^/\\]*\.o(bj)?$")
            footprint = analyze(b / "firmware.elf", b / "firmware.map", sorted(b.rglob("*.su")), rules,
                                scratch_in_state=sep["scratch_bytes"] + det["scratch_bytes"]).to_dict()
        manifest.update({
            "target": target, "board": board, "prefix": prefix, "kind": "monitor", "fs": sep["fs"],
            "hop": sep["hop"], "detector_hop": det["hop"], "ratio": context["ratio"],
            "classes": det["classes"], "class_names": class_names,
            "macs_per_hop": context["macs_per_hop"],
            "requantize": context["requant"],
            "models": {role: {"prefix": made[role][1]["prefix"], "mode": made[role][1]["mode"],
                              "tflite": f"{role}_{paths[role].name}", "tflite_sha256": made[role][1]["source_sha256"],
                              "macs_per_hop": made[role][1]["macs_per_hop"], "state_bytes": made[role][1]["state_bytes"],
                              "weight_bytes": made[role][1]["weight_bytes"],
                              "weight_storage": made[role][1]["weight_storage"],
                              "input": {"scale": float(made[role][0].input.scale),
                                        "zero_point": int(made[role][0].input.zero_point)}}
                       for role in paths},
            "firmware": None if firmware is None else str(firmware.relative_to(project.resolve())),
            "footprint": footprint,
        })
        write_manifest(project, {"format": "afkd-export", "version": 1, "afkd_version": __version__,
                                 "monitor": manifest, "separator": separator_manifest, "detector": detector_manifest})

    with atomic_dir(out_dir, finish=build_in_place) as tmp:
        write_build_files(tmp, files, target, prefix, f"{sep['mode']}+{det['mode']}",
                          f"{paths['separator'].name} and {paths['detector'].name}", "-O2", weights16_only,
                          (["AFKD_S16_WEIGHTS16_ONLY=1"] if weights16_only else [])
                          + (["AFKD_S8_WEIGHTS8_ONLY=1"] if context["weights8_only"] else [])
                          + (["AFKD_S8_WEIGHTS16_ONLY=1"] if context["s8_weights16_only"] else [])
                          + ([] if context["s16_w8_wide"] else ["AFKD_S16_W8_WIDE=0"]))
        for role, path in paths.items():
            shutil.copy(path, tmp / f"{role}_{path.name}")
    return manifest


def requantize_for_detector(q: np.ndarray, manifest: dict[str, Any], dtype) -> np.ndarray:
    """The detector's input the monitor computes from the extractor's (the firmware's NumPy twin)."""
    from afkd.export.intops import requantize_values

    r = manifest["requantize"]
    return requantize_values(q, -r["input_offset"], r["multiplier"], r["shift"], r["output_offset"], dtype)
