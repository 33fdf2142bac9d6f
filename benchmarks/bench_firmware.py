"""Firmware speed and footprint of the student on the STM32F4 build: a printed table.

    python -m benchmarks.bench_firmware [--work build/bench/firmware] [--checkpoint PT]

The student (DT-FENet STUDENT config: N = B = H = 32, 5 blocks, kernel 3, hop 10 at 250 Hz, lookahead 8,
30,144 MACs per hop, both paths; seed-0 random weights unless --checkpoint names trained
ones: speed and footprint do not depend on the weight values) is exported with
``afkd export --target stm32`` in both quantization modes, each with both weight storages
(int16, the default, and the compact int8), plus 16x8 with mixed storage (int8 1x1 and encoder
weights, int16 depthwise and decoder taps) compiled for speed and for size (the pruned student's
shipped build), and run with ``afkd validate --runner qemu`` on one 30 s synthetic segment. Instructions are counted by
QEMU's deterministic -icount SysTick around each model step; CPU load assumes one
instruction per cycle at 168 MHz (a lower bound on a real Cortex-M4: loads, branches and
flash wait states cost more). "flash, model" is what an application embedding the model
pays (constants, generated step code, runtime kernels); the whole image adds afkd's UART test
harness, startup code and libc. The targets are those of the firmware performance issue.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: (quantization, weight storage, --optimize) rows: the default first.
CONFIGS = (("int16x8", "int16", "speed"), ("int16x8", "int8", "speed"), ("int8", "int16", "speed"),
           ("int8", "int8", "speed"), ("int16x8", "mixed", "speed"), ("int16x8", "mixed", "size"))
TARGET_INSTRUCTIONS_PER_MAC = 1.5
TARGET_CPU_LOAD = 0.02
TARGET_RAM_BYTES = 16 * 1024
FLASH_MARGIN_BYTES = 12 * 1024


def _student_checkpoint(path: Path) -> Path:
    import torch

    from afkd.training.checkpoint import save_checkpoint
    from afkd.training.model import STUDENT, DTFENet

    if not path.exists():
        torch.manual_seed(0)
        save_checkpoint(path, DTFENet(STUDENT).eval())
    return path


def _measure(checkpoint: Path, data: Path, work: Path, mode: str, storage: str, optimize: str = "speed") -> dict:
    from afkd import cli

    name = f"{mode}_{storage}" + ("" if optimize == "speed" else f"_{optimize}")
    build = work / f"fw_{name}"
    report = work / f"validate_{name}.json"
    if cli.main(["export", "--checkpoint", str(checkpoint), "--target", "stm32", "--quant", mode,
                 "--weight-storage", storage, "--optimize", optimize, "--out", str(build)]) != 0:
        raise SystemExit(f"afkd export --quant {mode} --weight-storage {storage} failed")
    code = cli.main(["validate", "--build", str(build), "--runner", "qemu", "--data", str(data),
                     "--segments", "1", "--json", str(report)])
    result = json.loads(report.read_text())
    if code != 0:
        print(f"warning: afkd validate exited {code} for {mode}")
    timing, footprint = result["timing"], result["footprint"]
    return {"mode": mode, "weight_storage": storage, "optimize": optimize, "bit_exact": result["fidelity"]["vs_tflite"]["bit_exact"],
            "model_flash": footprint["model_flash_bytes"],
            "instructions_per_hop": timing["instructions_per_hop"], "per_mac": timing["instructions_per_mac"],
            "cpu_load": timing["cpu_load"], "flash": footprint["flash_bytes"],
            "flash_constants": footprint["flash"]["weights"], "ram": footprint["ram_bytes"],
            "state": footprint["ram"]["model_state"], "stack": footprint["ram"]["stack"],
            "stack_bound": footprint["stack"]["worst_bytes"],
            "macs": timing["macs_per_hop"]}


def _bytes(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench" / "firmware",
                        help="folder for the checkpoint, data, firmware builds and reports")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="student checkpoint (default: the shipped models/student_fitnet.pt, else a "
                        "seed-0 random STUDENT)")
    args = parser.parse_args()
    from afkd import cli

    args.work.mkdir(parents=True, exist_ok=True)
    shipped = REPO / "models" / "student_fitnet.pt"
    checkpoint = args.checkpoint or (shipped if shipped.exists() else _student_checkpoint(args.work / "student_seed0.pt"))
    data = args.work / "data"
    if not (data / "dataset.json").exists():
        if cli.main(["data", "synth", "--records", "2", "--seconds", "30", "--dataset", "--out", str(data)]) != 0:
            raise SystemExit("afkd data synth failed")
    rows = [_measure(checkpoint, data, args.work, *config) for config in CONFIGS]
    weight_bytes = rows[0]["macs"]  # one int8 weight per MAC in this network (no weight reuse)
    flash_budget = weight_bytes + FLASH_MARGIN_BYTES
    lines = ["| mode | weights stored as | compiled for | bit-exact | instructions/hop | per MAC | CPU @168 MHz "
             "| flash, whole image (B) | flash, model (B) | of which constants | RAM (B) | state / stack (bound) |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['weight_storage']} | {r['optimize']} | {'yes' if r['bit_exact'] else 'NO'} | "
                     f"{r['instructions_per_hop']:,.0f} | {r['per_mac']:.2f} | {100 * r['cpu_load']:.2f} % | "
                     f"{r['flash']:,} | {r['model_flash']:,} | {r['flash_constants']:,} | "
                     f"{r['ram']:,} | {r['state']:,} / {r['stack']:,} ({_bytes(r['stack_bound'])}) |")
    lines.append(f"| target | | | yes | | <= {TARGET_INSTRUCTIONS_PER_MAC} | < {100 * TARGET_CPU_LOAD:.0f} % | "
                 f"<= {flash_budget:,} | | | <= {TARGET_RAM_BYTES:,} | |")
    table = "\n".join(lines)
    print(table)
    (args.work / "firmware_table.md").write_text(table + "\n")
    (args.work / "firmware_table.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
