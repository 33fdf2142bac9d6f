"""Per-label statistics of the firmware's extracted atrial signal, and their AF-vs-normal AUC.

The same statistics as ``afkd eval`` on labelled records (:mod:`afkd.training.atrial_stats`),
taken on what the firmware streamed out: its AA output estimates the signal ``lag`` samples
earlier (the model's lookahead), so it is realigned with the ECG before the QRS windows are
placed. Reported when the validated segments carry two labels or more (CinC 2017, MIT-BIH).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from afkd.training.atrial_stats import FEATURES, label_report, r_peaks_of
from afkd.training.evaluate import wants_label_report


def firmware_label_report(segments: Sequence[Mapping], firmware_mv: Sequence[Mapping], fs: float,
                          lag: int) -> dict | None:
    """``label_report`` of the firmware outputs (float mV) of ``segments``; None with fewer than 2 labels."""
    if not wants_label_report(list(segments)):
        return None
    aligned, estimates = [], []
    for seg, out in zip(segments, firmware_mv):
        n = np.asarray(out["aa"]).size
        aligned.append({"ecg": np.asarray(seg["ecg"][: n - lag], dtype=np.float32), "label": seg.get("label")})
        estimates.append((np.asarray(out["aa"])[lag:], np.asarray(out["va"])[lag:]))
    report = label_report(aligned, estimates, fs, r_peaks_of(aligned, fs))
    report.pop("segment_features")
    return report


def summary_line(report: Mapping) -> str:
    aucs = ", ".join(f"{k} {report['auc'][k]:.3f}" for k in FEATURES if report["auc"].get(k) is not None)
    return f"  AF vs normal (AUC of the AA output's statistics, {report['positive']} vs {report['negative']}): {aucs or '-'}"


def markdown(report: Mapping) -> str:
    from afkd.training.eval_tables import FEATURE_TITLES

    fmt = {"rms_in_qrs_uv": ".1f", "rms_out_qrs_uv": ".1f", "sc": ".3f", "df_hz": ".2f", "oi": ".3f"}
    cell = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    lines = ["## Extracted atrial signal per label", "",
             "| label | segments | " + " | ".join(FEATURE_TITLES[k] for k in FEATURES) + " |",
             "|---|---:|" + "---:|" * len(FEATURES)]
    for label, stats in report["labels"].items():
        lines.append(f"| {label} | {stats['segments']} | " + " | ".join(cell(stats[k], fmt[k]) for k in FEATURES) + " |")
    lines.append(f"| AUC {report['positive']} vs {report['negative']} | | "
                 + " | ".join(cell(report["auc"][k], ".3f") for k in FEATURES) + " |")
    return "\n".join(lines)
