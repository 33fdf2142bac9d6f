"""The per-rhythm and per-label tables of ``afkd eval`` (text) and of the benchmarks (Markdown).

Both read the results of :func:`afkd.training.evaluate.evaluate`: ``by_rhythm`` (SNR/NMSE per
synthetic rhythm) and ``by_label`` (statistics of the extracted atrial signal per label, and
their AUC for AF against normal rhythm).
"""

from __future__ import annotations

from afkd.training.atrial_stats import FEATURES

FEATURE_TITLES = {"rms_in_qrs_uv": "RMS in QRS (uV)", "rms_out_qrs_uv": "RMS outside QRS (uV)", "sc": "SC",
                  "df_hz": "DF (Hz)", "oi": "OI"}
_FORMATS = {"rms_in_qrs_uv": ".1f", "rms_out_qrs_uv": ".1f", "sc": ".3f", "df_hz": ".2f", "oi": ".3f"}


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def rhythm_rows(results: dict[str, dict]) -> list[list[str]]:
    """[model, rhythm, SNR_AA, NMSE_AA, SNR_VA, SC, segments] for every model with ``by_rhythm``."""
    rows = []
    for name, r in results.items():
        for rhythm, m in r.get("by_rhythm", {}).items():
            rows.append([name, rhythm, _cell(m["snr_aa_db"], ".2f"), _cell(m["nmse_aa"], ".4f"),
                         _cell(m["snr_va_db"], ".2f"), _cell(m["sc"], ".3f"), str(m["segments"])])
    return rows


RHYTHM_HEADER = ["model/method", "rhythm", "SNR_AA dB", "NMSE_AA", "SNR_VA dB", "SC", "segments"]


def label_rows(results: dict[str, dict]) -> list[list[str]]:
    """[model, label, segments, each feature's mean] then [model, AUC A vs N, -, each AUC]."""
    rows = []
    for name, r in results.items():
        report = r.get("by_label")
        if not report:
            continue
        for label, stats in report["labels"].items():
            rows.append([name, label, str(stats["segments"]),
                         *(_cell(stats[k], _FORMATS[k]) for k in FEATURES)])
        rows.append([name, f"AUC {report['positive']} vs {report['negative']}", "",
                     *(_cell(report["auc"][k], ".3f") for k in FEATURES)])
    return rows


LABEL_HEADER = ["model/method", "label", "segments", *(FEATURE_TITLES[k] for k in FEATURES)]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Fixed-width columns, the first two left-aligned."""
    table = [header, *rows]
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if c < 2 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
             for row in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if c < 2 else "---:" for c in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def format_extra_tables(results: dict[str, dict]) -> str:
    """The per-rhythm and per-label text tables that apply ('' when neither does)."""
    parts = []
    rows = rhythm_rows(results)
    if rows:
        parts.append("Per rhythm (synthetic ground truth):\n" + text_table(RHYTHM_HEADER, rows))
    rows = label_rows(results)
    if rows:
        parts.append("Extracted atrial signal per label (R peaks by XQRS; AUC: P(AF value > normal value)):\n"
                     + text_table(LABEL_HEADER, rows))
    return "\n\n".join(parts)
