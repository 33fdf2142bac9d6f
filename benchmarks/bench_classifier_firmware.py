"""Classifier firmware speed and footprint on the STM32F4 build: a printed table.

    python -m benchmarks.bench_classifier_firmware [--work build/bench/classifier_fw]
        [--detector PT] [--beat PT] [--records 3]

The compact rhythm detector (RhythmTCN, the shipped size: hop 20 at 250 Hz) streams CinC 2017
records of ../shared/data (or synthetic ECG when they are absent) through ``afkd export
--target stm32`` and ``afkd validate --runner qemu``, in both quantization modes with the
classifiers' default int8 weight storage; the beat CNN classifies annotated MIT-BIH beats.
The models are the shipped ones (models/detector.pt, models/beat_cnn.pt) or, where a checkout
lacks them, seed-0 random with trained-looking BatchNorm statistics: speed and footprint do not
depend on the weight values. Instructions are counted by QEMU's
deterministic -icount around each step (the detector: per 80 ms hop; the beat CNN: per
window); CPU load assumes one instruction per cycle at 168 MHz (a lower bound on a real
Cortex-M4). "flash, model" is what an application embedding the model pays (constants,
generated code, kernels); the whole image adds afkd's UART harness, startup code and libc.
The targets are the issue's: the detector streams in < 5 % of a 168 MHz M4, fits 64 KB of
flash and 32 KB of RAM. The last row is the monitor (``afkd export --detector``): the f-wave
student (int16x8, int16 weights) and the detector in one image, one record streamed; it must fit
the STM32F405 (1 MB flash, 192 KB RAM).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TARGET_CPU_LOAD = 0.05
TARGET_FLASH_BYTES = 64 * 1024
TARGET_RAM_BYTES = 32 * 1024
# (model, mode, --optimize): the detector also compiled for size, the build that fits 64 KB of flash
ROWS = (("detector", "int16x8", "speed"), ("detector", "int16x8", "size"), ("detector", "int8", "speed"),
        ("beat", "int8", "speed"), ("beat", "int16x8", "speed"))


def _random_checkpoint(path: Path, which: str) -> Path:
    import torch
    from torch import nn

    from afkd.training.checkpoint import save_checkpoint
    from afkd.training.model_beat import BEAT_CNN, BeatCNN
    from afkd.training.model_detector import COMPACT_DETECTOR, RhythmTCN

    if not path.exists():
        torch.manual_seed(0)
        model = RhythmTCN(COMPACT_DETECTOR) if which == "detector" else BeatCNN(BEAT_CNN)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm1d):
                    m.running_var.uniform_(0.5, 2.0)
                if isinstance(m, nn.PReLU):
                    m.weight.uniform_(0.05, 0.4)
        save_checkpoint(path, model.eval())
    return path


def _data(which: str, work: Path) -> Path:
    shared = SHARED / ("cinc2017" if which == "detector" else "mitdb")
    if shared.exists():
        return shared
    from afkd import cli

    data = work / "synthetic"
    if not (data / "dataset.json").exists() and cli.main(["data", "synth", "--records", "3", "--seconds", "30",
                                                           "--dataset", "--out", str(data)]) != 0:
        raise SystemExit("afkd data synth failed")
    return data


def _measure(which: str, checkpoint: Path, mode: str, optimize: str, work: Path, records: int) -> dict:
    from afkd import cli

    name = f"{which}_{mode}" + ("" if optimize == "speed" else f"_{optimize}")
    build = work / name
    report = work / f"validate_{name}.json"
    if not (build / "export.json").exists() and cli.main(
            ["export", "--checkpoint", str(checkpoint), "--target", "stm32", "--quant", mode, "--optimize", optimize,
             "--out", str(build)]) != 0:
        raise SystemExit(f"afkd export {which} --quant {mode} failed")
    code = cli.main(["validate", "--build", str(build), "--runner", "qemu", "--data", str(_data(which, work)),
                     "--segments", str(records), "--windows-per-record", "20", "--json", str(report)])
    result = json.loads(report.read_text())
    if code != 0:
        print(f"warning: afkd validate exited {code} for {which} {mode}: {result['checks']['failures']}", file=sys.stderr)
    timing, footprint = result["timing"], result["footprint"]
    manifest = json.loads((build / "export.json").read_text())["firmware"]
    return {"model": which, "mode": mode, "weight_storage": manifest["weight_storage"], "optimize": optimize,
            "bit_exact": result["fidelity"]["vs_tflite"]["bit_exact"],
            "agreement_tflite": result["classification"]["agreement_tflite"],
            "items": result["classification"]["items"], "unit": result["classification"]["unit"],
            "macs": timing["macs_per_hop"], "instructions": timing["instructions_per_hop"],
            "per_mac": timing["instructions_per_mac"], "cpu_load": timing["cpu_load"] if which == "detector" else None,
            "flash": footprint["flash_bytes"], "model_flash": footprint["model_flash_bytes"],
            "constants": footprint["flash"]["weights"], "ram": footprint["ram_bytes"],
            "state": footprint["ram"]["model_state"], "stack": footprint["ram"]["stack"]}


def _monitor(detector: Path, work: Path) -> dict:
    """The monitor image (student + detector): footprint and instructions per extractor hop."""
    import numpy as np
    import torch

    from afkd import cli
    from afkd.export.checks import quantize
    from afkd.host_tools import classifier_inputs
    from afkd.host_tools.runners import open_runner
    from afkd.training.checkpoint import save_checkpoint
    from afkd.training.model import STUDENT, DTFENet

    shipped = REPO / "models" / "student_fitnet.pt"
    student = shipped if shipped.exists() else work / "student_seed0.pt"
    if not student.exists():
        torch.manual_seed(0)
        save_checkpoint(student, DTFENet(STUDENT).eval())
    build = work / "monitor"
    if not (build / "export.json").exists() and cli.main(
            ["export", "--checkpoint", str(student), "--detector", str(detector), "--target", "stm32",
             "--out", str(build)]) != 0:
        raise SystemExit("afkd export --detector (the monitor) failed")
    manifest = json.loads((build / "export.json").read_text())["monitor"]
    separator = manifest["models"]["separator"]
    record = classifier_inputs.records(_data("detector", work), manifest["fs"], 1)[0]
    n = (record.ecg.size // manifest["detector_hop"]) * manifest["detector_hop"]
    q = quantize(record.ecg[:n], separator["input"]["scale"], separator["input"]["zero_point"], np.dtype(np.int16))
    with open_runner("qemu", build / manifest["firmware"], timeout_s=60) as runner:
        runner.reset()
        _, counts = runner.run_values(q)
    fp = manifest["footprint"]
    hops_per_second = manifest["fs"] / manifest["hop"]
    return {"macs": manifest["macs_per_hop"], "instructions": float(counts.mean()), "worst": float(counts.max()),
            "cpu_load": float(counts.mean()) * hops_per_second / 168e6, "flash": fp["flash_bytes"],
            "model_flash": fp["model_flash_bytes"], "constants": fp["flash"]["weights"], "ram": fp["ram_bytes"],
            "state": fp["ram"]["model_state"], "stack": fp["ram"]["stack"], "student": str(student.name)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench" / "classifier_fw")
    parser.add_argument("--detector", type=Path, default=None,
                        help="rhythm detector checkpoint (default: the shipped models/detector.pt, else random)")
    parser.add_argument("--beat", type=Path, default=None,
                        help="beat CNN checkpoint (default: the shipped models/beat_cnn.pt, else random)")
    parser.add_argument("--records", type=int, default=3, help="records streamed per row (default 3)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    shipped = {name: REPO / "models" / f"{name}.pt" for name in ("detector", "beat_cnn")}
    checkpoints = {
        "detector": args.detector or (shipped["detector"] if shipped["detector"].exists()
                                      else _random_checkpoint(args.work / "detector_seed0.pt", "detector")),
        "beat": args.beat or (shipped["beat_cnn"] if shipped["beat_cnn"].exists()
                              else _random_checkpoint(args.work / "beat_seed0.pt", "beat"))}
    print("checkpoints: " + ", ".join(f"{k} {v}" for k, v in checkpoints.items()), file=sys.stderr)
    rows = [_measure(which, checkpoints[which], mode, optimize, args.work, args.records)
            for which, mode, optimize in ROWS]
    lines = ["| model | mode | weights, compiled for | bit-exact, decisions = TFLite | MACs per step | instructions per step | "
             "per MAC | CPU @168 MHz | flash, image (B) | flash, model (B) | constants | RAM (B) | state / stack |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        step = "hop" if r["model"] == "detector" else "beat"
        load = f"{100 * r['cpu_load']:.2f} %" if r["cpu_load"] is not None else "per beat"
        lines.append(f"| {r['model']} | {r['mode']} | {r['weight_storage']}, {r['optimize']} | "
                     f"{'yes' if r['bit_exact'] else 'NO'}, {r['agreement_tflite']:.0%} of {r['items']} {r['unit']}s | "
                     f"{r['macs']:,} / {step} | {r['instructions']:,.0f} | {r['per_mac']:.2f} | {load} | {r['flash']:,} | "
                     f"{r['model_flash']:,} | {r['constants']:,} | {r['ram']:,} | {r['state']:,} / {r['stack']:,} |")
    lines.append(f"| detector target | | | yes | | | | < {100 * TARGET_CPU_LOAD:.0f} % | <= {TARGET_FLASH_BYTES:,} | | | "
                 f"<= {TARGET_RAM_BYTES:,} | |")
    m = _monitor(checkpoints["detector"], args.work)
    rows.append({"model": "monitor", **m})
    lines.append(f"| monitor ({m['student']} + detector) | int16x8 | int16 + int8 | streamed | {m['macs']:,} / 40 ms hop | "
                 f"{m['instructions']:,.0f} (worst {m['worst']:,.0f}) | {m['instructions'] / m['macs']:.2f} | "
                 f"{100 * m['cpu_load']:.2f} % | {m['flash']:,} | {m['model_flash']:,} | {m['constants']:,} | {m['ram']:,} | "
                 f"{m['state']:,} / {m['stack']:,} |")
    lines.append("| monitor target (STM32F405) | | | | | | | | <= 1,048,576 | | | <= 196,608 | |")
    table = "\n".join(lines)
    print(table)
    (args.work / "classifier_firmware_table.md").write_text(table + "\n")
    (args.work / "classifier_firmware_table.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
