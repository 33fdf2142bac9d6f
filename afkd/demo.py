"""``afkd demo``: the whole job on embedded defaults, in a few minutes on 2 cores.

synthesize AF ECG -> train a tiny teacher -> distil a causal student (FitNet) -> evaluate
(teacher, student, ABS) -> export the student for STM32F4 (TFLite reference + C project +
firmware.elf) -> validate the ELF on QEMU (netduinoplus2) against TFLM and PyTorch -> report.

Every stage is the same code path as its own command; the demo only picks small sizes. It lives
in afkd/, above the stages, because it runs all of them.

PASS means more than bit-exact here: the validation also holds the demo's quality thresholds
(:data:`DEMO_THRESHOLDS`), which the demo's own small student meets and an untrained one fails.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from afkd.argtypes import nonnegative_int, positive_int
from afkd.compute import add_compute_arguments

# A teacher small enough to train in a minute or two on 2 cores, still non-causal and wider
# than the student: what `afkd train --preset teacher` is, scaled down.
DEMO_TEACHER = {"enc_channels": 64, "bottleneck": 32, "hidden": 64, "blocks": 5, "repeats": 2,
                "causal": False, "norm": "gln"}


#: What `afkd demo` calls a pass, besides the default checks (bit-exact, streaming equal, no
#: heap): the separated f-waves must beat returning nothing (0 dB) on the demo's own validation
#: data. Measured with the defaults (tests/test_demo.py runs both): the demo's student 2.55 dB
#: SNR_AA on the STM32 firmware, an untrained student of the same size -2.91 dB.
DEMO_THRESHOLDS = {"min_snr_aa_db": 1.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="build/demo", help="working directory (default build/demo)")
    parser.add_argument("--records", type=positive_int, default=48, help="synthetic training records of 30 s (default 48)")
    parser.add_argument("--val-records", type=positive_int, default=10,
                        help="synthetic validation records of 30 s, another seed (default 10)")
    parser.add_argument("--steps", type=positive_int, default=150, help="training steps per epoch (default 150)")
    parser.add_argument("--epochs", type=positive_int, default=2, help="epochs for teacher and student (default 2)")
    parser.add_argument("--quant", choices=("int16x8", "int8"), default="int16x8",
                        help="firmware quantization (default int16x8, the mode that meets 30 dB)")
    parser.add_argument("--runner", default="qemu", help="where the firmware runs (default qemu)")
    add_compute_arguments(parser, device=False)
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of data, weights and crops (default 0)")
    parser.add_argument("--force", action="store_true",
                        help="use --out even when it holds files that are not an earlier demo's")


def _stage(name: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:6.1f} s] {name}", flush=True)


def run(args: argparse.Namespace) -> int:
    from afkd.export import cli as export_cli
    from afkd.host_tools import cli_validate, report
    from afkd.training.data.synth import synth_dataset
    from afkd.training.evaluate import evaluate, format_table
    from afkd.training.runs import distill_student, train_model

    from afkd.atomic import atomic_write_text
    from afkd.outdir import DEMO, check_out_dir

    from afkd.host_tools.runners import check_runner_spec

    check_runner_spec(args.runner)
    check_out_dir(args.out, DEMO, force=args.force)
    out = Path(args.out)
    # Marks the folder as the demo's, so that a later demo may reuse it (afkd.outdir).
    atomic_write_text(out / "demo.json", json.dumps({"format": "afkd-demo", "version": 1, "seed": args.seed}) + "\n")
    t0 = time.perf_counter()
    common = dict(epochs=args.epochs, steps_per_epoch=args.steps, batch_size=4, crop_seconds=6.0,
                  seed=args.seed, threads=args.threads, progress=False, val_segments=args.val_records)

    _stage(f"synthesizing {args.records} + {args.val_records} AF records of 30 s at 250 Hz", t0)
    train = synth_dataset(out / "data" / "train", args.records, 30.0, 250.0, seed=1 + 1000 * args.seed)
    val = synth_dataset(out / "data" / "val", args.val_records, 30.0, 250.0, seed=2 + 1000 * args.seed)

    _stage("training a tiny non-causal teacher", t0)
    teacher = train_model(DEMO_TEACHER, train, out / "teacher", val_dir=val, role="teacher", **common)

    _stage("distilling the causal student from it (FitNet)", t0)
    student = distill_student(teacher, "fitnet", train, out / "student", val_dir=val, **common)

    _stage("evaluating teacher, student and average beat subtraction on the validation set", t0)
    results = evaluate([str(teacher), str(student), "abs"], val)
    print(format_table(results))
    (out / "eval.json").write_text(json.dumps({"data": str(val), "results": results}, indent=2, default=str))

    _stage(f"exporting the student for STM32F4 ({args.quant}) and building firmware.elf", t0)
    build = out / "firmware"
    # Parsed by `afkd export`'s own parser, so the demo takes every export default as a user would.
    export_parser = argparse.ArgumentParser(prog="afkd export")
    export_cli.add_arguments(export_parser)
    export_args = export_parser.parse_args(["--checkpoint", str(student), "--target", "stm32", "--out", str(build),
                                            "--quant", args.quant, "--calibration", str(train)])
    for line in export_cli.summary_lines(export_cli.TARGETS["stm32"](export_args)):
        print("  " + line)

    _stage(f"validating the ELF on {args.runner}", t0)
    validate_args = argparse.Namespace(
        build=str(build), runner=args.runner, data=str(val), segments=args.val_records, checkpoint=str(student),
        json_path=str(out / "report.json"), md_path=str(out / "report.md"), html_path=str(out / "report.html"),
        thresholds=None, timeout=30.0, baud=115200, no_trace=False)
    result, traces = cli_validate.validate(validate_args, thresholds=DEMO_THRESHOLDS)
    report.write_json(validate_args.json_path, result)
    report.write_markdown(validate_args.md_path, result)
    report.write_html(validate_args.html_path, result, traces)
    _stage("done", t0)
    print()
    for line in report.summary_lines(result):
        print(line)
    print(f"report: {Path(validate_args.html_path).resolve()}  (also report.json, report.md)")
    return 0 if result["checks"]["passed"] else 1
