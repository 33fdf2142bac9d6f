"""``afkd validate``: run a built firmware on segments, compare, report, check thresholds.

Exit 0 when every threshold holds (bit-exact with the TFLite reference by default), 1 when
one does not, 2 on bad input (missing build, an ELF for another target, a dataset at
another rate, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from afkd.errors import AfkdError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build", required=True,
                        help="directory written by `afkd export --target stm32|qemu|host` (holds export.json)")
    parser.add_argument("--runner", default="qemu",
                        help="where the firmware runs: host, qemu, renode or serial:PORT (default qemu)")
    parser.add_argument("--data", required=True, help="dataset directory (afkd data synth/import) at the model rate")
    parser.add_argument("--segments", type=int, default=20, help="segments to stream (default 20; 0 = all)")
    parser.add_argument("--checkpoint", default=None,
                        help="PyTorch checkpoint for the float comparison (default: the one export.json names, "
                        "if it is still there and unchanged)")
    parser.add_argument("--json", dest="json_path", default=None, help="write the report as JSON (for CI)")
    parser.add_argument("--md", dest="md_path", default=None, help="write the report as Markdown (for a pull request)")
    parser.add_argument("--html", dest="html_path", default=None, help="write a self-contained HTML page with plots")
    parser.add_argument("--thresholds", default=None,
                        help="JSON file of thresholds, e.g. {\"bit_exact\": true, \"max_ram_bytes\": 16384, "
                        "\"max_cpu_load\": 0.02, \"max_activation_clipped_fraction\": 0}; default: bit-exact, "
                        "streaming equal, no heap")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds to wait for any one firmware answer before giving up (default 20)")
    parser.add_argument("--baud", type=int, default=115200, help="serial runner: baud rate (default 115200)")
    parser.add_argument("--no-trace", action="store_true",
                        help="when the firmware is not bit-exact, do not rebuild a host trace build to name "
                        "the first differing layer")


def _checkpoint(args: argparse.Namespace, manifest: dict) -> str | None:
    if args.checkpoint:
        return args.checkpoint
    recorded = manifest.get("checkpoint") or {}
    path = Path(recorded.get("path", ""))
    if path.is_file():
        from afkd.export.manifest import sha256_file

        if sha256_file(path) == recorded.get("sha256"):
            return str(path)
    return None


def _thresholds(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise AfkdError(f"{path}: no such thresholds file") from None
    except json.JSONDecodeError as err:
        raise AfkdError(f"{path}: not valid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise AfkdError(f"{path}: thresholds must be a JSON object")
    return data


def _segments(data: str, fs: int, limit: int) -> list[dict]:
    from afkd.training.data.dataset import Dataset

    dataset = Dataset(data)
    if int(round(dataset.fs)) != fs:
        raise AfkdError(f"{data}: dataset at {dataset.fs:g} Hz, the firmware runs at {fs} Hz "
                        f"(re-import with --fs {fs})")
    count = len(dataset) if limit <= 0 else min(limit, len(dataset))
    return [dataset.segment(i) for i in range(count)]


def _trace_first_layer(build, validator, run, vs_tflite):
    """Rebuild for the host with the layer trace, rerun the first bad segment, name the first bad layer."""
    import dataclasses

    from afkd.host_tools.layer_trace import first_differing_layer

    segment = run["ids"].index(vs_tflite.first.segment) if vs_tflite.first else 0
    print(f"not bit-exact: tracing segment {run['ids'][segment]} layer by layer in a host build", file=sys.stderr)
    layers = first_differing_layer(build.root, validator.stream_ref, run["inputs"][segment])
    trace = {"segment": run["ids"][segment], "first_layer": layers.first_layer,
             "first": None if layers.first is None else dataclasses.asdict(layers.first),
             "verdict": (f"the generated C differs first at layer {layers.first_layer}" if layers.first_layer else
                         "the generated C matches the reference layer by layer: the difference is in the tested "
                         "binary (changed bytes, another compiler or a target-specific kernel path)")}
    return dataclasses.replace(vs_tflite, first_layer=layers.first_layer), trace


def _saturation(build, validator, inputs: list):
    """Clipping at the input and every activation over the segments (padded as TFLM saw them)."""
    from afkd.export import saturation

    padded = []
    for q in inputs:
        x = np.full(validator.length, validator.in_zp, dtype=validator.dtype)
        x[: q.size] = q
        padded.append(x)
    return saturation.measure(build.tflite, padded, [q.size for q in inputs])


def validate(args: argparse.Namespace) -> tuple[dict, list[dict]]:
    from afkd.host_tools import compare, report
    from afkd.host_tools.label_report import firmware_label_report
    from afkd.host_tools.validate import Validator, load_build, run_segments

    build = load_build(args.build, args.runner)
    thresholds = _thresholds(args.thresholds)
    segments = _segments(args.data, int(build.manifest["fs"]), args.segments)
    validator = Validator(build, _checkpoint(args, build.manifest))
    print(f"validating {build.firmware} on {args.runner}: {len(segments)} segments from {args.data}", file=sys.stderr)
    run = run_segments(validator, args.runner, segments, timeout_s=args.timeout,
                       progress=lambda n: print(f"  segment {n}/{len(segments)}", file=sys.stderr))
    vs_tflite = compare.compare_exact(run["firmware"], run["reference"], run["ids"])
    trace = None
    if not vs_tflite.bit_exact and not args.no_trace:
        vs_tflite, trace = _trace_first_layer(build, validator, run, vs_tflite)
    streaming = compare.compare_streaming(run["firmware"], run["reference"], run["ids"])
    vs_torch = compare.compare_float(run["firmware_mv"], run["torch"]) if run["torch"] else None
    fw = build.fw
    footprint = None
    if fw["board"] != "host":
        from afkd.host_tools.footprint import FootprintRules, analyze

        elf = build.firmware
        footprint = analyze(elf, elf.with_suffix(".map"), sorted(elf.parent.rglob("*.su")),
                            FootprintRules.for_prefix(fw["prefix"]),
                            scratch_in_state=int(fw.get("scratch_bytes", 0)))
    saturation = _saturation(build, validator, run["inputs"])
    timing = report.timing_from_run(run["counts"], run["info"], validator.fs,
                                    algorithmic_latency_samples=int(build.manifest["latency_samples"]))
    meta = {"build": str(build.root), "firmware": str(build.firmware), "data": str(args.data),
            "model": run["info"].model_name, "model_hash": run["info"].model_hash,
            "mode": fw["mode"], "macs_per_hop": fw["macs_per_hop"],
            "reference": "TFLM Python interpreter (tflite-micro), one-shot",
            "torch_checkpoint": validator.torch_model is not None, "layer_trace": trace}
    result = report.build_report(runner=args.runner, target=fw["board"], records=run["records"],
                                 vs_tflite=vs_tflite, vs_torch=vs_torch, streaming=streaming,
                                 footprint=footprint, timing=timing, saturation=saturation, thresholds=thresholds,
                                 meta=meta)
    # Labelled records (CinC 2017, MIT-BIH): does the firmware's AA output carry the rhythm?
    by_label = firmware_label_report(run["segments"], run["firmware_mv"], validator.fs, validator.lookahead)
    if by_label is not None:
        result["by_label"] = by_label
    return result, run["traces"]


def run(args: argparse.Namespace) -> int:
    from afkd.host_tools import report

    result, traces = validate(args)
    if args.json_path:
        report.write_json(args.json_path, result)
    if args.md_path:
        report.write_markdown(args.md_path, result)
    if args.html_path:
        report.write_html(args.html_path, result, traces)
    for line in report.summary_lines(result):
        print(line)
    for path in (args.json_path, args.md_path, args.html_path):
        if path:
            print(f"wrote {path}")
    return 0 if result["checks"]["passed"] else 1
