"""How far ahead the student's masks should look: a printed table, not a timed test.

    python -m benchmarks.bench_lookahead [--lookahead 0 4 8 12 16] [--epochs 24] [--work build/bench]

Trains the no-KD student once per lookahead D (everything else the shipped students' settings,
shorter: 24 epochs of 250 steps, the last 6 decaying) on the shipped models' training data
(400 synthetic records, seed 1), then evaluates each on the 200-segment validation set
(seed 2) that bench_models uses. The output of a model with lookahead D lags the ECG by D hops
and is compared with the truth it estimates. Two runs at a time, one thread each:
about 2 minutes a run on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def training_data(work: Path) -> Path:
    from afkd.training.data.synth import synth_dataset

    out = work / "train_seed1_400"
    if not (out / "dataset.json").exists():
        synth_dataset(out, 400, 30.0, 250.0, seed=1)
    return out


def train_one(lookahead: int, train: Path, val: Path, work: Path, epochs: int) -> str:
    from afkd.training.model import STUDENT
    from afkd.training.runs import train_model

    cfg = replace(STUDENT, lookahead=lookahead)
    return str(train_model(cfg, train, work / f"lookahead_{lookahead}", epochs=epochs, steps_per_epoch=250,
                           batch_size=4, crop_seconds=6.0, seed=0, val_dir=val, val_segments=40, threads=1,
                           progress=False, lr_decay_epochs=max(1, epochs // 4), role="student"))


def main() -> None:
    from benchmarks.bench_models import synthetic_validation

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookahead", type=int, nargs="+", default=[0, 4, 8, 12, 16])
    parser.add_argument("--epochs", type=int, default=24, help="epochs of 250 steps per run (default 24)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    args = parser.parse_args()
    from afkd.training.evaluate import evaluate
    from afkd.training.model import STUDENT

    hop_ms = 1000.0 * STUDENT.hop / STUDENT.fs
    work = args.work / "lookahead"
    train, val = training_data(args.work), synthetic_validation(args.work, 200)
    with ProcessPoolExecutor(max_workers=2) as pool:
        best = list(pool.map(train_one, args.lookahead, [train] * len(args.lookahead), [val] * len(args.lookahead),
                             [work] * len(args.lookahead), [args.epochs] * len(args.lookahead)))
    results = evaluate(best, val)
    lines = ["| lookahead (hops) | output lag (ms) | SNR_AA (dB) | NMSE_AA | SC synthetic |", "|---:|---:|---:|---:|---:|"]
    rows = []
    for lookahead, path in zip(args.lookahead, best):
        r = results[path]
        rows.append({"lookahead": lookahead, **{k: r[k] for k in ("snr_aa_db", "nmse_aa", "sc")}})
        lines.append(f"| {lookahead} | {lookahead * hop_ms:g} | {r['snr_aa_db']:.2f} | {r['nmse_aa']:.4f} | {r['sc']:.3f} |")
    table = "\n".join(lines)
    print(table)
    (args.work / "lookahead_table.md").write_text(table + "\n")
    (args.work / "lookahead_table.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
