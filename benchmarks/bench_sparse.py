"""Flash against instructions for sparse weight storage: a printed table.

    python -m benchmarks.bench_sparse [--work build/bench/sparse] [--checkpoint PT] [--sparsity 0.5]
                                      [--modes int16x8 int8]

The shipped FitNet student (models/student_fitnet.pt; a seed-0 random STUDENT when absent) has
the weights of each of its 1x1 convs magnitude-pruned to ``--sparsity`` (per layer, smallest
|w| zeroed, NO retraining: the figures are for the footprint and the speed, which do not
depend on how good the pruned model is; the encoders stay dense). The pruned checkpoint is
exported with ``afkd export --target stm32`` in each quantization mode with each weight storage
(int16, int8, sparse) and run with ``afkd validate --runner qemu`` on one 30 s synthetic
segment, as benchmarks/bench_firmware.py does: bit-exactness against TFLM, instructions per hop
(QEMU -icount), flash of the whole image, of the model and of its constants.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STORAGES = ("int16", "int8", "sparse")


def prune_pointwise(model, sparsity: float):
    """Zero the smallest-magnitude ``sparsity`` of each 1x1 conv's weights; the fraction zeroed."""
    import torch

    zeroed = total = 0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv1d) and module.kernel_size == (1,) and module.groups == 1:
                w = module.weight
                k = int(sparsity * w.numel())
                if k:
                    cut = w.abs().flatten().kthvalue(k).values
                    w.mul_((w.abs() > cut).to(w.dtype))
                zeroed += int((w == 0).sum())
                total += w.numel()
    return zeroed / max(total, 1)


def _pruned_checkpoint(source: Path | None, sparsity: float, work: Path) -> tuple[Path, float]:
    import torch

    from afkd.training.checkpoint import load_checkpoint, save_checkpoint
    from afkd.training.model import STUDENT, DTFENet

    if source is not None:
        model, meta = load_checkpoint(source)
    else:
        torch.manual_seed(0)
        model, meta = DTFENet(STUDENT).eval(), {}
    achieved = prune_pointwise(model, sparsity)
    path = work / f"student_pruned_{round(100 * sparsity)}.pt"
    save_checkpoint(path, model, {**meta, "pruned_pointwise": achieved})
    return path, achieved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench" / "sparse",
                        help="folder for the pruned checkpoint, data, firmware builds and reports")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="student checkpoint (default: models/student_fitnet.pt, else a seed-0 random STUDENT)")
    parser.add_argument("--sparsity", type=float, default=0.5,
                        help="fraction of each 1x1 conv's weights zeroed (0: keep the checkpoint's own zeros, "
                        "e.g. an afkd prune --method lth ticket)")
    parser.add_argument("--modes", nargs="+", choices=("int16x8", "int8"), default=["int16x8", "int8"])
    args = parser.parse_args()
    from afkd import cli
    from benchmarks.bench_firmware import _measure

    args.work.mkdir(parents=True, exist_ok=True)
    shipped = REPO / "models" / "student_fitnet.pt"
    source = args.checkpoint or (shipped if shipped.exists() else None)
    checkpoint, achieved = _pruned_checkpoint(source, args.sparsity, args.work)
    data = args.work / "data"
    if not (data / "dataset.json").exists():
        if cli.main(["data", "synth", "--records", "2", "--seconds", "30", "--dataset", "--out", str(data)]) != 0:
            raise SystemExit("afkd data synth failed")
    rows = [_measure(checkpoint, data, args.work, mode, storage) for mode in args.modes for storage in STORAGES]
    how = (f"after magnitude pruning to {100 * args.sparsity:.0f} %, not retrained" if args.sparsity > 0
           else "as the checkpoint has them")
    print(f"{source.name if source else 'seed-0 STUDENT'}: 1x1 conv weights {100 * achieved:.1f} % zero ({how})")
    lines = ["| mode | weights stored as | bit-exact | instructions/hop | per MAC | flash, whole image (B) "
             "| flash, model (B) | of which constants |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['weight_storage']} | {'yes' if r['bit_exact'] else 'NO'} | "
                     f"{r['instructions_per_hop']:,.0f} | {r['per_mac']:.2f} | {r['flash']:,} | "
                     f"{r['model_flash']:,} | {r['flash_constants']:,} |")
    table = "\n".join(lines)
    print(table)
    (args.work / "sparse_table.md").write_text(table + "\n")
    (args.work / "sparse_table.json").write_text(json.dumps({"sparsity": achieved, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
