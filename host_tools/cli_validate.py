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

from afkd.argtypes import nonnegative_int, positive_float, positive_int
from afkd.errors import AfkdError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build", required=True,
                        help="directory written by `afkd export --target stm32|qemu|host` (holds export.json)")
    parser.add_argument("--runner", default="qemu",
                        help="where the firmware runs: host, qemu, renode or serial:PORT (default qemu)")
    parser.add_argument("--data", required=True,
                        help="dataset directory (afkd data synth/import) at the model rate; for a classifier also a "
                        "folder of WFDB records (whole records for a detector, labels from REFERENCE.csv; the .atr "
                        "beats for the beat CNN)")
    parser.add_argument("--segments", type=nonnegative_int, default=20,
                        help="segments (a classifier: records) to stream (default 20; 0 = all)")
    parser.add_argument("--windows-per-record", type=nonnegative_int, default=50,
                        help="beat CNN: beat windows per record (default 50; 0 = all)")
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
    parser.add_argument("--timeout", type=positive_float, default=20.0,
                        help="seconds to wait for any one firmware answer before giving up (default 20)")
    parser.add_argument("--baud", type=positive_int, default=115200, help="serial runner: baud rate (default 115200)")
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
    from afkd.host_tools.report import check_threshold_keys

    return check_threshold_keys(data, source=str(path))


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


def _footprint(build):
    fw = build.fw
    if fw["board"] == "host":
        return None
    from afkd.host_tools.footprint import FootprintRules, analyze
    from afkd.host_tools.stack_usage import harness_indirect_targets

    elf = build.firmware
    main_c = build.root / "afkd" / "harness" / "main.c"
    return analyze(elf, elf.with_suffix(".map"), sorted(elf.parent.rglob("*.ci")),
                   FootprintRules.for_prefix(fw["prefix"]), scratch_in_state=int(fw.get("scratch_bytes", 0)),
                   indirect_targets=harness_indirect_targets(main_c) if main_c.is_file() else ())


def validate_classifier(args: argparse.Namespace, build, thresholds: dict) -> dict:
    """A rhythm detector's or beat CNN's firmware: per record (window) decisions, bit-exact logits."""
    from afkd.export import saturation
    from afkd.host_tools import classifier_inputs, report
    from afkd.host_tools.validate_classifier import ClassifierValidator, classification_summary, compare_runs, run_items

    checkpoint = _checkpoint(args, build.manifest)
    torch_model = None
    if checkpoint is not None:
        from afkd.training.checkpoint import load_checkpoint

        torch_model, _ = load_checkpoint(checkpoint)
    validator = ClassifierValidator(build, torch_model)
    if validator.kind == "detector":
        items = classifier_inputs.records(args.data, validator.fs, args.segments)
    else:
        cfg = build.manifest["config"]
        items = classifier_inputs.beat_windows(args.data, validator.fs, int(cfg["before"]), int(cfg["after"]),
                                               args.segments, args.windows_per_record)
    unit = "records" if validator.kind == "detector" else "beat windows"
    print(f"validating {build.firmware} on {args.runner}: {len(items)} {unit} from {args.data}", file=sys.stderr)
    run = run_items(validator, args.runner, items, timeout_s=args.timeout,
                    progress=lambda n: print(f"  {n}/{len(items)}", file=sys.stderr) if n % 10 == 0 else None)
    vs_tflite, streaming = compare_runs(run)
    fw = build.fw
    clipped = saturation.measure(build.tflite, run["padded"], [q.size for q in run["inputs"]])
    timing = report.timing_from_run(run["counts"], run["info"], validator.fs,
                                    algorithmic_latency_samples=int(build.manifest["latency_samples"]))
    classification = classification_summary(run["rows"], validator.classes, validator.kind)
    meta = {"build": str(build.root), "firmware": str(build.firmware), "data": str(args.data),
            "model": run["info"].model_name, "model_hash": run["info"].model_hash, "kind": validator.kind,
            "classes": validator.classes, "mode": fw["mode"], "macs_per_hop": fw["macs_per_hop"],
            "reference": "TFLM Python interpreter (tflite-micro), one-shot on the zero-padded record",
            "torch_checkpoint": torch_model is not None}
    # The firmware's decisions must be TFLite's on every record: bit-exact logits imply it, the
    # check says it in the words.
    wanted = {"min_decision_agreement_tflite": 1.0, **thresholds}
    result = report.build_report(runner=args.runner, target=fw["board"], vs_tflite=vs_tflite, streaming=streaming,
                                 footprint=_footprint(build), timing=timing, saturation=clipped, thresholds=wanted,
                                 meta=meta, sections={"classification": classification})
    result["records"] = run["rows"]
    result.pop("quality", None)
    return result


def validate(args: argparse.Namespace, thresholds: dict | None = None) -> tuple[dict, list[dict]]:
    """Run, compare and report; ``thresholds`` (a dict) replaces ``--thresholds FILE``."""
    from afkd.host_tools import compare, report
    from afkd.host_tools.label_report import firmware_label_report
    from afkd.host_tools.validate import Validator, load_build, run_segments

    from afkd.host_tools.report import check_threshold_keys
    from afkd.host_tools.runners import check_runner_spec

    # Bad options first: a typo must not cost a firmware run.
    check_runner_spec(args.runner)
    thresholds = _thresholds(args.thresholds) if thresholds is None else check_threshold_keys(thresholds)
    build = load_build(args.build, args.runner)
    if build.manifest.get("kind") in ("detector", "window"):
        return validate_classifier(args, build, thresholds), []
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
    footprint = _footprint(build)
    saturation = _saturation(build, validator, run["inputs"])
    timing = report.timing_from_run(run["counts"], run["info"], validator.fs,
                                    algorithmic_latency_samples=int(build.manifest["latency_samples"]))
    meta = {"build": str(build.root), "firmware": str(build.firmware), "data": str(args.data),
            "model": run["info"].model_name, "model_hash": run["info"].model_hash,
            "mode": fw["mode"], "macs_per_hop": fw["macs_per_hop"],
            "reference": "TFLM Python interpreter (tflite-micro), one-shot",
            "torch_checkpoint": validator.torch_model is not None, "layer_trace": trace}
    result = report.build_report(runner=args.runner, target=fw["board"], segments=run["quality"],
                                 vs_tflite=vs_tflite, vs_torch=vs_torch, streaming=streaming,
                                 footprint=footprint, timing=timing, saturation=saturation, thresholds=thresholds,
                                 meta=meta)
    # Labelled records (CinC 2017, MIT-BIH): does the firmware's AA output carry the rhythm?
    by_label = firmware_label_report(run["used_segments"], run["firmware_mv"], validator.fs, validator.lookahead)
    if by_label is not None:
        result["by_label"] = by_label
    return result, run["traces"]


def run(args: argparse.Namespace) -> int:
    from afkd.host_tools import report, report_classifier
    from afkd.outdir import check_out_file

    inputs = (args.build, args.data, args.checkpoint, args.thresholds)
    for flag, path in (("--json", args.json_path), ("--md", args.md_path), ("--html", args.html_path)):
        check_out_file(path, inputs=inputs, flag=flag)
    result, traces = validate(args)
    classifier = "classification" in result
    if args.json_path:
        report.write_json(args.json_path, result)
    if args.md_path:
        (report_classifier if classifier else report).write_markdown(args.md_path, result)
    if args.html_path:
        if classifier:
            report_classifier.write_html(args.html_path, result)
        else:
            report.write_html(args.html_path, result, traces)
    for line in (report_classifier if classifier else report).summary_lines(result):
        print(line)
    for path in (args.json_path, args.md_path, args.html_path):
        if path:
            print(f"wrote {path}")
    return 0 if result["checks"]["passed"] else 1
