"""Does the extractor tell the truth on every rhythm? Printed tables for the shipped models.

    python -m benchmarks.bench_rhythms [--models models] [--work build/bench] [--no-firmware]

1. Synthetic, with ground truth: SNR_AA of each model per rhythm on a balanced rhythm set
   (280 records of 30 s, seed 5, every rhythm of ``afkd data synth --rhythms`` equally likely;
   training used seed 1) and on the AF validation set of bench_models (200 records, seed 2).
2. Real, without ground truth: the 150 CinC 2017 records of ``../shared/data/cinc2017`` (30 s
   segments at 250 Hz, REFERENCE.csv labels) and MIT-BIH record 100 (sinus rhythm, 30 s
   segments, labels from its rhythm annotations): per label, statistics of the extracted atrial
   signal (RMS inside and outside the QRS windows, SC, dominant frequency, organization index;
   :mod:`afkd.training.atrial_stats`) and, on CinC, the AUC of each for AF against normal rhythm.
3. Unless ``--no-firmware``: the shipped FitNet student exported for the host (``afkd export
   --target host``: the C of the STM32 build, bit-exact with it) and run by ``afkd validate``
   over the same CinC segments: the AUC of its output's statistics.

Rows: the shipped models (trained on the rhythm mixture) and the AF-only models they replaced
(``models/af_only/``), when present, and average beat subtraction. Writes Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROWS = [("teacher", "teacher.pt"), ("student, FitNet", "student_fitnet.pt"), ("student, no KD", "student_none.pt"),
        ("student, AT (gamma = beta = 1e3)", "student_at.pt"),
        ("AF-only teacher", "af_only/teacher.pt"), ("AF-only student, FitNet", "af_only/student_fitnet.pt"),
        ("AF-only student, no KD", "af_only/student_none.pt"), ("ABS (average beat subtraction)", "abs")]
RHYTHM_ORDER = ("sinus", "sinus_arrhythmia", "ectopy", "flutter", "af", "af_fine", "noise")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def rhythm_set(work: Path, records: int = 280) -> Path:
    from afkd.training.data.synth import SynthConfig, synth_dataset

    out = work / f"rhythms_seed5_{records}"
    if not (out / "dataset.json").exists():
        mixture = tuple((name, 1.0 / len(RHYTHM_ORDER)) for name in RHYTHM_ORDER)
        synth_dataset(out, records, 30.0, 250.0, seed=5, config=SynthConfig(mixture=mixture))
    return out


def imported(work: Path, name: str, source: Path) -> Path | None:
    """``source`` imported at 250 Hz in 30 s segments (None without the data)."""
    from afkd.training.data.importer import ImportOptions, import_dataset

    if not source.exists():
        return None
    out = work / name
    if not (out / "dataset.json").exists():
        import_dataset(out, [source], ImportOptions(fs=250.0), warn=lambda line: None)
    return out


def measure(models: Path, work: Path, cinc: Path, mitdb: Path) -> dict:
    from afkd.training.evaluate import evaluate
    from benchmarks.bench_models import result_of, synthetic_validation
    from benchmarks.cache import cached

    items = [(name, "abs" if f == "abs" else str(models / f)) for name, f in ROWS
             if f == "abs" or (models / f).exists()]
    out = {"models": [name for name, _ in items], "synthetic": {}, "af_set": {}, "cinc2017": {}, "mitdb_100": {}}
    rhythms, af_set = rhythm_set(work), synthetic_validation(work, 200)
    cinc_data = imported(work, "cinc2017_all", cinc)
    mitdb_data = imported(work, "mitdb_100", mitdb / "100.hea")
    for name, item in items:
        out["synthetic"][name] = cached(work, item, rhythms, "snr_by_rhythm", lambda: {
            k: m["snr_aa_db"] for k, m in evaluate([item], rhythms, labels=False)[item]["by_rhythm"].items()})
        out["af_set"][name] = result_of(work, item, af_set)["snr_aa_db"]  # bench_models' figure, shared
        if cinc_data is not None:
            out["cinc2017"][name] = cached(work, item, cinc_data, "labels", lambda: _labels(
                evaluate([item], cinc_data, labels=True, r_peaks=peaks_of(work, cinc_data))[item]))
        if mitdb_data is not None:  # one label only: evaluate() reports labels from two up; ask directly
            out["mitdb_100"][name] = cached(work, item, mitdb_data, "labels", lambda: _single_label(work, item, mitdb_data))
    return out


def peaks_of(work: Path, data: Path) -> list:
    """XQRS R peaks of every segment of ``data``, computed once and kept beside the cache."""
    import numpy as np

    from afkd.training.atrial_stats import r_peaks_of
    from afkd.training.evaluate import load_segments

    path = work / "cache" / f"r_peaks_{data.name}.npz"
    if path.exists():
        stored = np.load(path)
        return [stored[f"s{i}"] for i in range(len(stored.files))]
    segs, fs = load_segments(data)
    peaks = r_peaks_of(segs, fs)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"s{i}": p for i, p in enumerate(peaks)})
    return peaks


def _labels(result: dict) -> dict:
    return {"labels": result["by_label"]["labels"], "auc": result["by_label"]["auc"]}


def _single_label(work: Path, item: str, data: Path) -> dict:
    from afkd.training.abs_baseline import average_beat_subtraction
    from afkd.training.atrial_stats import label_report
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.evaluate import load_segments, predict

    segs, fs = load_segments(data)
    if item == "abs":
        estimates = [average_beat_subtraction(s["ecg"], fs) for s in segs]
    else:
        model, _ = load_checkpoint(item)
        estimates = predict(model.eval(), [s["ecg"] for s in segs])
    return _labels({"by_label": label_report(segs, estimates, fs, peaks_of(work, data))})


def firmware(work: Path, models: Path, cinc_data: Path | None) -> dict | None:
    """AUC of the host firmware's output statistics on the CinC segments (the shipped FitNet)."""
    from afkd import cli

    checkpoint = models / "student_fitnet.pt"
    if cinc_data is None or not checkpoint.exists():
        return None
    build, report = work / "fw_host_rhythms", work / "validate_host_cinc2017.json"
    if cli.main(["export", "--checkpoint", str(checkpoint), "--target", "host", "--out", str(build)]) != 0:
        raise SystemExit("afkd export --target host failed")
    code = cli.main(["validate", "--build", str(build), "--runner", "host", "--data", str(cinc_data),
                     "--segments", "0", "--checkpoint", str(checkpoint), "--json", str(report)])
    result = json.loads(report.read_text())
    return {"exit_code": code, "bit_exact": result["fidelity"]["vs_tflite"]["bit_exact"],
            "by_label": result.get("by_label")}


def tables(out: dict, fw: dict | None) -> str:
    from afkd.training.atrial_stats import FEATURES
    from afkd.training.eval_tables import FEATURE_TITLES

    def cell(value, fmt):
        return "-" if value is None else format(value, fmt)

    lines = ["SNR_AA (dB) per rhythm, synthetic (280 records, seed 5), and on the AF validation set (200, seed 2):", "",
             "| model | " + " | ".join(RHYTHM_ORDER) + " | AF set (seed 2) |",
             "|---|" + "---:|" * (len(RHYTHM_ORDER) + 1)]
    for name in out["models"]:
        row = out["synthetic"][name]
        lines.append(f"| {name} | " + " | ".join(cell(row.get(r), ".2f") for r in RHYTHM_ORDER)
                     + f" | {cell(out['af_set'][name], '.2f')} |")
    fmts = {"rms_in_qrs_uv": ".1f", "rms_out_qrs_uv": ".1f", "sc": ".3f", "df_hz": ".2f", "oi": ".3f"}
    header = "| model | label | segments | " + " | ".join(FEATURE_TITLES[k] for k in FEATURES) + " |"
    rule = "|---|---|---:|" + "---:|" * len(FEATURES)
    for key, title in (("cinc2017", "CinC 2017, 150 records (30 s segments)"), ("mitdb_100", "MIT-BIH record 100")):
        if not out[key]:
            continue
        lines += ["", f"Extracted atrial signal per label, {title}:", "", header, rule]
        for name, rep in out[key].items():
            for label, stats in rep["labels"].items():
                lines.append(f"| {name} | {label} | {stats['segments']} | "
                             + " | ".join(cell(stats[k], fmts[k]) for k in FEATURES) + " |")
            if key == "cinc2017":
                lines.append(f"| {name} | AUC A vs N | | " + " | ".join(cell(rep["auc"][k], ".3f") for k in FEATURES) + " |")
    if fw and fw.get("by_label"):
        auc = fw["by_label"]["auc"]
        lines += ["", f"Through the firmware (host build of the STM32 C, bit-exact with TFLM: {fw['bit_exact']}), "
                  "CinC 2017, AUC A vs N:", "", "| " + " | ".join(FEATURE_TITLES[k] for k in FEATURES) + " |",
                  "|" + "---:|" * len(FEATURES), "| " + " | ".join(cell(auc[k], ".3f") for k in FEATURES) + " |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    parser.add_argument("--cinc", type=Path, default=SHARED / "cinc2017")
    parser.add_argument("--mitdb", type=Path, default=SHARED / "mitdb")
    parser.add_argument("--no-firmware", dest="firmware", action="store_false",
                        help="leave out the host firmware run over the CinC records")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    out = measure(args.models, args.work, args.cinc, args.mitdb)
    fw = firmware(args.work, args.models, imported(args.work, "cinc2017_all", args.cinc)) if args.firmware else None
    text = tables(out, fw)
    print(text)
    (args.work / "rhythms_table.md").write_text(text + "\n")
    (args.work / "rhythms_table.json").write_text(json.dumps({**out, "firmware": fw}, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
