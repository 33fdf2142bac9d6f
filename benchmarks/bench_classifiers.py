"""The classifiers' table: F1 per class, the challenge score, size, cost and training time.

    python -m benchmarks.bench_classifiers --cinc DIR [--mit-ds2 DIR] [--models models] [--work build/bench]

A printed table, not a timed test. Rhythm rows, on the validation split of the shipped
models (``models/cinc2017_val_records.txt``: 10 % of the 7,528 allowed CinC 2017 records,
stratified by label, seed 0; the other 90 % trained them): the compact detector, the dense
reference and the classical baseline (RR-interval + morphology features and gradient-boosted
trees, :mod:`afkd.training.rr_features`, trained here on the same 90 % with fixed settings).
Beat rows, when ``--mit-ds2`` is given: the beat CNN on DS2 (inter-patient: no DS2 record
trained it). ``--cinc`` is a ``--kind records`` import of the CinC training set without the
held-out records; ``--mit-ds2`` a ``--kind beats`` import of the DS2 records. Training
times come from each checkpoint's run log (sum of the epochs' step times, validation left
out); the baseline's is measured here. Writes the table as Markdown and JSON into --work.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RHYTHM_ROWS = [("compact detector", "detector.pt"), ("dense reference (ResNet-34, width-reduced)", "resnet34_narrow.pt")]
BEAT_ROWS = [("beat CNN, DS2 (inter-patient)", "beat_cnn.pt")]
CINC_CLASSES = ("N", "A", "O", "~")


def training_seconds(meta_log: dict | None) -> float | None:
    if not meta_log:
        return None
    return sum(r.get("seconds_per_step", 0.0) for r in meta_log["epochs"]) * meta_log["run"]["steps_per_epoch"]


def cinc_features(cinc: Path, work: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(record names, features (n, F), labels (n,)) of every labelled record, cached in --work."""
    from afkd.training.data.dataset import Dataset
    from afkd.training.rr_features import record_features

    cache = work / "cinc_features.npz"
    ds = Dataset(cinc)
    names = [s["record"] for s in ds.segments if s["label"] in CINC_CLASSES]
    if cache.is_file():
        data = np.load(cache)
        if list(data["names"]) == names:
            return names, data["x"], data["y"]
    rows = [i for i, s in enumerate(ds.segments) if s["label"] in CINC_CLASSES]
    x = np.stack([record_features(ds.segment(i)["ecg"], ds.fs) for i in rows])
    y = np.array([CINC_CLASSES.index(ds.segments[i]["label"]) for i in rows])
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cache, names=np.array(names), x=x, y=y)
    return names, x, y


def baseline_row(cinc: Path, val_names: set[str], work: Path) -> dict:
    from afkd.training.gbm import GradientBoosting, GBMSettings
    from afkd.training.metrics_classify import classification_summary
    from afkd.training.tasks.classifier import class_weights

    started = time.perf_counter()
    names, x, y = cinc_features(cinc, work)
    feature_seconds = time.perf_counter() - started
    val = np.array([n in val_names for n in names])
    weights = class_weights(np.bincount(y[~val], minlength=4), "sqrt")[y[~val]]
    started = time.perf_counter()
    model = GradientBoosting(GBMSettings()).fit(x[~val], y[~val], 4, weights)
    fit_seconds = time.perf_counter() - started
    result = classification_summary(y[val], model.predict(x[val]), CINC_CLASSES)
    result.update(params=sum(len(t.value) for r in model.trees for t in r), macs_per_second=None,
                  train_seconds=fit_seconds, feature_seconds=feature_seconds)
    return result


def model_row(path: Path, data: Path, records: list[str] | None) -> dict:
    from afkd.training.evaluate_classify import evaluate_classifier

    result = evaluate_classifier(path, data, records, batch_size=8)  # afkd eval's default: the same figures
    log = path.with_suffix(".log.json")
    result["train_seconds"] = training_seconds(json.loads(log.read_text())) if log.is_file() else None
    return result


def detector_footprint(path: Path) -> list[str]:
    """The compact detector's budget, computed from its config (estimates, not firmware measurements:
    those are afkd validate's, once the detector is exported)."""
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.model_detector import detector_macs_per_frame, detector_ring_frames

    model, _ = load_checkpoint(path)
    cfg = model.cfg
    import torch

    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    weights = sum(m.weight.numel() for m in convs)  # after BatchNorm folding: the convolutions only
    biases = sum(m.out_channels for m in convs)  # folding gives every convolution a bias
    slopes = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.PReLU))
    macs = detector_macs_per_frame(cfg) * cfg.fs / cfg.hop
    lines = ["| quantity | value |", "|---|---:|",
             f"| trained parameters (BatchNorm and PReLU included) | {sum(p.numel() for p in model.parameters()):,} |",
             f"| after BatchNorm folding: conv weights / biases / PReLU slopes | {weights:,} / {biases:,} / {slopes} |",
             f"| int8 weights + int32 biases | {weights + 4 * biases:,} bytes |",
             f"| MACs per second of ECG (250 Hz, {cfg.fs / cfg.hop:g} frames/s) | {macs / 1e6:.3f} M |",
             f"| ring buffers ({detector_ring_frames(cfg)} frames x {cfg.hidden}) int8 / int16 | "
             f"{detector_ring_frames(cfg) * cfg.hidden:,} / {2 * detector_ring_frames(cfg) * cfg.hidden:,} bytes |",
             f"| receptive field | {cfg.receptive_field_frames * cfg.hop / cfg.fs:.1f} s |"]
    for per_mac in (1.5, 3.5):
        lines.append(f"| CPU of a 168 MHz Cortex-M4 at {per_mac} instructions/MAC | {100 * macs * per_mac / 168e6:.2f} % |")
    return lines


def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[tuple[str, dict]], classes: tuple[str, ...], challenge: bool) -> list[str]:
    head = ["model", "params", "MMAC/s" if challenge else "MMAC/beat", *[f"F1 {c}" for c in classes],
            "challenge" if challenge else "accuracy", "train min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows:
        macs = r.get("macs_per_second") if challenge else r.get("macs_per_beat")
        cells = [name, fmt(r.get("params"), ","), fmt(None if macs is None else macs / 1e6, ".2f"),
                 *[fmt(r["f1"].get(c), ".3f") for c in classes],
                 fmt(r.get("challenge_score") if challenge else r.get("accuracy"), ".3f"),
                 fmt(None if r.get("train_seconds") is None else r["train_seconds"] / 60, ".0f")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cinc", type=Path, help="CinC 2017 records dataset (--kind records)")
    parser.add_argument("--mit-ds2", type=Path, help="MIT-BIH DS2 beats dataset (--kind beats)")
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench_classifiers")
    parser.add_argument("--no-baseline", action="store_true", help="skip the gradient-boosting baseline")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from afkd.training.evaluate_classify import read_record_list
    from afkd.training.metrics_classify import format_confusion

    if (args.models / "detector.pt").is_file():
        print("Compact detector footprint (computed from its config):\n")
        print("\n".join(detector_footprint(args.models / "detector.pt")) + "\n")
    if args.cinc is None:
        print("(rhythm and beat tables skipped: give --cinc, a --kind records import of the CinC 2017 "
              "training set without the held-out records, and --mit-ds2)")
        return
    val_names = read_record_list(args.models / "cinc2017_val_records.txt")
    rows = [(name, model_row(args.models / f, args.cinc, val_names))
            for name, f in RHYTHM_ROWS if (args.models / f).is_file()]
    if not args.no_baseline:
        rows.append(("RR + morphology, gradient boosting (baseline)", baseline_row(args.cinc, set(val_names), args.work)))
    lines = [f"Rhythm, CinC 2017 validation split ({len(val_names)} records):", "",
             *table(rows, CINC_CLASSES, challenge=True)]
    for name, r in rows:
        lines += ["", f"{name}: confusion (rows true, columns predicted)", *format_confusion(r)]
    beat_rows = []
    if args.mit_ds2 is not None:
        beat_rows = [(name, model_row(args.models / f, args.mit_ds2, None))
                     for name, f in BEAT_ROWS if (args.models / f).is_file()]
        lines += ["", "Beats, MIT-BIH DS2 (de Chazal inter-patient test set):", "",
                  *table(beat_rows, ("N", "S", "V", "F", "Q"), challenge=False)]
        for name, r in beat_rows:
            lines += ["", f"{name}: confusion", *format_confusion(r)]
    text = "\n".join(lines)
    print(text)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "classifiers.md").write_text(text + "\n")
    (args.work / "classifiers.json").write_text(json.dumps(dict(rows + beat_rows), indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
