"""The paper's Tables 2-4 for the shipped models: a printed table, not a timed test.

    python -m benchmarks.bench_models [--models models] [--work build/bench] [--cinc ../shared/data/cinc2017]

Rows: the shipped teacher and students (fine-tuned on the rhythm mixture, models/README.md), the
AF-only models they replaced (models/af_only/: teacher, student without KD, FitNet, AT at gamma =
beta = 1e3 and at the default 1e4, the no-interaction ablation), and average beat subtraction
(ABS); rows whose file is absent are left out. Columns: SNR_AA, NMSE_AA, SC on a fixed synthetic
validation set (200 segments of 30 s, seed 2: the training set used seed 1), SC on the AF
records of CinC 2017 (no ground truth there, so SC only), parameters and MACs per second.
A second table pairs the rows segment by segment: the mean SNR_AA difference of each comparison
the targets make (FitNet against the teacher, KD against no KD, each shipped model against its
AF-only predecessor, the ablation) with its 95 % confidence interval, so that "above" means more than the spread of a finite
validation set. Writes both as Markdown and JSON next to the work folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROWS = [("teacher", "teacher.pt"), ("student, no KD", "student_none.pt"), ("student, FitNet", "student_fitnet.pt"),
        ("student, AT (gamma = beta = 1e3)", "student_at.pt"),
        ("AF-only teacher", "af_only/teacher.pt"), ("AF-only student, no KD", "af_only/student_none.pt"),
        ("AF-only student, FitNet", "af_only/student_fitnet.pt"),
        ("AF-only student, AT (gamma = beta = 1e3)", "af_only/student_at.pt"),
        ("AF-only student, AT (gamma = beta = 1e4, the default)", "af_only/student_at_1e4.pt"),
        ("AF-only student, no KD, no interaction", "af_only/student_none_no_interaction.pt"),
        ("AF-only student, FitNet, structurally pruned", "student_fitnet_pruned.pt"),
        ("ABS (average beat subtraction)", "abs")]
# (row, row it is compared with): the comparisons behind the targets. The shipped models against
# each other and against the AF-only models they replaced (is AF no worse after the rhythms?).
PAIRS = [("student, FitNet", "teacher"), ("student, FitNet", "student, no KD"),
         ("student, FitNet", "AF-only student, FitNet"), ("student, no KD", "AF-only student, no KD"),
         ("teacher", "AF-only teacher"),
         ("AF-only student, FitNet", "AF-only teacher"), ("AF-only student, FitNet", "AF-only student, no KD"),
         ("AF-only student, AT (gamma = beta = 1e3)", "AF-only student, no KD"),
         ("AF-only student, AT (gamma = beta = 1e4, the default)", "AF-only student, no KD"),
         ("AF-only student, no KD, no interaction", "AF-only student, no KD"),
         ("AF-only student, FitNet, structurally pruned", "AF-only student, FitNet")]
REPO = Path(__file__).resolve().parents[1]


def synthetic_validation(work: Path, records: int) -> Path:
    from afkd.training.data.synth import synth_dataset

    out = work / f"val_seed2_{records}"
    if not (out / "dataset.json").exists():
        synth_dataset(out, records, 30.0, 250.0, seed=2)
    return out


def cinc_af(work: Path, cinc: Path) -> Path | None:
    """The AF-labelled CinC 2017 records at 250 Hz, as a dataset (None without the data)."""
    from afkd.training.data.dataset import Dataset, write_dataset
    from afkd.training.data.importer import ImportOptions, import_dataset

    if not (cinc / "REFERENCE.csv").exists():
        return None
    out = work / "cinc2017_af"
    if (out / "dataset.json").exists():
        return out
    every = work / "cinc2017_all"
    import_dataset(every, [cinc], ImportOptions(fs=250.0), warn=lambda line: None)
    data = Dataset(every)
    segments = [data.segment(i) for i in range(len(data)) if data.segment(i)["label"] == "A"]
    write_dataset(out, segments, fs=data.fs, segment_seconds=30.0)
    return out


KEPT = ("snr_aa_db", "nmse_aa", "sc", "params", "macs_per_second", "segments", "segment_snr_aa_db")


def result_of(work: Path, item: str, data: Path) -> dict:
    """The evaluate() figures this table keeps, for one checkpoint (or "abs") on one dataset (cached)."""
    from afkd.training.evaluate import evaluate
    from benchmarks.cache import cached

    return cached(work, item, data, "eval", lambda: {k: evaluate([item], data)[item].get(k) for k in KEPT})


def measure(models: Path, work: Path, cinc: Path, records: int) -> list[dict]:
    val = synthetic_validation(work, records)
    real = cinc_af(work, cinc)
    items = [(name, "abs" if file == "abs" else str(models / file)) for name, file in ROWS
             if file == "abs" or (models / file).exists()]
    rows = []
    for name, item in items:
        r = result_of(work, item, val)
        on_cinc = result_of(work, item, real) if real is not None else {}
        rows.append({"model": name, "snr_aa_db": r["snr_aa_db"], "nmse_aa": r["nmse_aa"], "sc": r["sc"],
                     "sc_cinc2017_af": on_cinc.get("sc"), "params": r.get("params"),
                     "macs_per_second": r.get("macs_per_second"), "segments": r["segments"],
                     "cinc_segments": on_cinc.get("segments"), "segment_snr_aa_db": r["segment_snr_aa_db"]})
    return rows


def paired(rows: list[dict]) -> list[dict]:
    """SNR_AA of each pair in PAIRS, segment by segment (pairs with a missing model are left out)."""
    from afkd.training.metrics import paired_difference

    by_name = {r["model"]: r["segment_snr_aa_db"] for r in rows}
    return [{"model": a, "against": b, **paired_difference(by_name[a], by_name[b])}
            for a, b in PAIRS if by_name.get(a) and by_name.get(b)]


def markdown(rows: list[dict]) -> str:
    def cell(value, fmt):
        return "-" if value is None else format(value, fmt)

    lines = ["| model | SNR_AA (dB) | NMSE_AA | SC synthetic | SC CinC 2017 AF | params | MACs/s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        macs = None if r["macs_per_second"] is None else r["macs_per_second"] / 1e6
        lines.append(f"| {r['model']} | {cell(r['snr_aa_db'], '.2f')} | {cell(r['nmse_aa'], '.4f')} | "
                     f"{cell(r['sc'], '.3f')} | {cell(r['sc_cinc2017_af'], '.3f')} | {cell(r['params'], ',d')} | "
                     f"{'-' if macs is None else f'{macs:.2f} M'} |")
    return "\n".join(lines)


def paired_markdown(pairs: list[dict]) -> str:
    lines = ["| model | against | SNR_AA difference (dB) | 95 % interval (dB) | segments |",
             "|---|---|---:|---:|---:|"]
    for p in pairs:
        lines.append(f"| {p['model']} | {p['against']} | {p['mean']:+.2f} | "
                     f"{p['low']:+.2f} to {p['high']:+.2f} | {p['n']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    parser.add_argument("--cinc", type=Path, default=REPO.parent / "shared" / "data" / "cinc2017")
    parser.add_argument("--records", type=int, default=200, help="synthetic validation segments (default 200)")
    args = parser.parse_args()
    rows = measure(args.models, args.work, args.cinc, args.records)
    pairs = paired(rows)
    table = markdown(rows) + "\n\nPaired by segment (synthetic validation set):\n\n" + paired_markdown(pairs)
    print(table)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "models_table.md").write_text(table + "\n")
    (args.work / "models_table.json").write_text(
        json.dumps({"models": rows, "paired_snr_aa_db": pairs}, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
