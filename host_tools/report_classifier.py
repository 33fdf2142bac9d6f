"""The validation report of a classifier firmware, for people: terminal lines and Markdown.

The dict is :func:`afkd.host_tools.report.build_report`'s with a ``classification`` part
(:func:`afkd.host_tools.validate_classifier.classification_summary`) and one row per record or
window in ``records`` (id, label, samples, frames, the firmware's, TFLite's and PyTorch's class).
"""

from __future__ import annotations

import html
from typing import Mapping

from afkd.atomic import atomic_write_text
from afkd.host_tools.report import _count, _fmt, _get


def summary_lines(report: Mapping) -> list[str]:
    g = lambda *p: _get(report, p)  # noqa: E731
    c = report.get("classification") or {}
    unit = g("timing", "unit") or "instructions"
    per = "hop" if c.get("unit") == "record" else "classification"
    lines = [
        f"afkd validate: {'PASS' if g('checks', 'passed') else 'FAIL'} ({report.get('runner')} on {report.get('target')}, "
        f"{_count(report.get('records'), c.get('unit', 'record'))})",
        f"  vs TFLite: bit-exact {_fmt(g('fidelity', 'vs_tflite', 'bit_exact'))}, "
        f"max {_fmt(g('fidelity', 'vs_tflite', 'max_abs_lsb'))} LSB over {_fmt(g('fidelity', 'vs_tflite', 'samples'))} logits"
        + (f", streaming == one-shot {_fmt(g('fidelity', 'streaming', 'equal'))}" if g("fidelity", "streaming") else ""),
        f"  decisions: equal to TFLite's on {_fmt(c.get('agreement_tflite'), '.2%')}, to PyTorch's on "
        f"{_fmt(c.get('agreement_torch'), '.2%')} of {_fmt(c.get('items'))} {c.get('unit', 'record')}s",
    ]
    if c.get("labelled"):
        f1 = " ".join(f"{k} {_fmt(v, '.3f')}" for k, v in (c.get("f1") or {}).items())
        lines.append(f"  vs labels ({_fmt(c['labelled'])}): accuracy {_fmt(c.get('accuracy'), '.3f')}, F1 {f1}"
                     + (f", challenge score {_fmt(c.get('challenge_score'), '.3f')}" if c.get("challenge_score") is not None else ""))
    lines.append(f"  footprint: flash {_fmt(g('footprint', 'flash_bytes'), unit=' B')}, "
                 f"RAM {_fmt(g('footprint', 'ram_bytes'), unit=' B')}")
    if report.get("timing"):
        lines.append(f"  time: {_fmt(g('timing', 'per_hop_mean'), '.0f')} {unit}/{per} (max {_fmt(g('timing', 'per_hop_max'), '.0f')}), "
                     f"{_fmt(g('timing', f'{unit}_per_mac'), '.2f')} per MAC"
                     + (f", CPU load {_fmt(g('timing', 'cpu_load'), '.2%')} at "
                        f"{_fmt((g('timing', 'clock_hz') or 0) / 1e6 or None, '.0f', ' MHz')} streaming at "
                        f"{_fmt(g('timing', 'fs'), '.0f', ' Hz')}" if per == "hop" else ""))
    else:
        lines.append("  time: not measured (this runner has no counter)")
    if report.get("range"):
        from afkd.export.saturation import range_line

        lines.append(f"  range: {range_line(report['range'])}")
    lines += [f"  FAILED {f}" for f in (g("checks", "failures") or [])]
    return lines


def to_markdown(report: Mapping) -> str:
    g = lambda *p: _get(report, p)  # noqa: E731
    c = report.get("classification") or {}
    unit = c.get("unit", "record")
    out = [f"## afkd validation: {'PASS' if g('checks', 'passed') else 'FAIL'}", "",
           f"Runner `{report.get('runner')}`, target `{report.get('target')}`, {_count(report.get('records'), unit)}.", ""]
    if g("checks", "failures"):
        out += ["**Failed checks**", ""] + [f"- {f}" for f in g("checks", "failures")] + [""]
    out += ["| Fidelity | Value |", "|---|---|",
            f"| logits bit-exact vs TFLite (TFLM) | {_fmt(g('fidelity', 'vs_tflite', 'bit_exact'))} |",
            f"| mismatching logits | {_fmt(g('fidelity', 'vs_tflite', 'mismatches'))} of {_fmt(g('fidelity', 'vs_tflite', 'samples'))} |",
            f"| streaming == one-shot (frames, running sums) | {_fmt(g('fidelity', 'streaming', 'equal'))} |",
            f"| decisions equal to TFLite's | {_fmt(c.get('agreement_tflite'), '.2%')} |",
            f"| decisions equal to PyTorch's | {_fmt(c.get('agreement_torch'), '.2%')} |", ""]
    if c.get("labelled"):
        out += [f"| Against the labels ({c['labelled']} {unit}s) | Value |", "|---|---|",
                f"| accuracy | {_fmt(c.get('accuracy'), '.3f')} |"]
        out += [f"| F1 {k} | {_fmt(v, '.3f')} |" for k, v in (c.get("f1") or {}).items()]
        if c.get("challenge_score") is not None:
            out.append(f"| challenge score (mean F1 of N, A, O) | {_fmt(c['challenge_score'], '.3f')} |")
        out.append("")
    for region in ("flash", "ram"):
        parts = g("footprint", region) or {}
        out += [f"| {region.upper()} | bytes |", "|---|---|"]
        out += [f"| {k.replace('_', ' ')} | {_fmt(v)} |" for k, v in parts.items()]
        out += [f"| **total** | **{_fmt(g('footprint', f'{region}_bytes'))}** |", ""]
    t = report.get("timing") or {}
    tu = t.get("unit", "instructions")
    per = "hop" if unit == "record" else "classification"
    out += ["| Time | Value |", "|---|---|",
            f"| {tu} per {per} (mean / max) | {_fmt(t.get('per_hop_mean'), '.0f')} / {_fmt(t.get('per_hop_max'), '.0f')} |",
            f"| {tu} per MAC | {_fmt(t.get(f'{tu}_per_mac'), '.2f')} |"]
    if per == "hop":
        out.append(f"| CPU load at {_fmt((t.get('clock_hz') or 0) / 1e6 or None, '.0f', ' MHz')} (mean / worst hop) | "
                   f"{_fmt(t.get('cpu_load'), '.2%')} / {_fmt(t.get('cpu_load_worst'), '.2%')} |")
    out.append("")
    rows = report.get("records") or []
    out += [f"| {unit.capitalize()} | label | firmware | TFLite | PyTorch |", "|---|---|---|---|---|"]
    out += [f"| {r['id']} | {r.get('label') or ''} | {r['firmware']} | {r['tflite']} | {r.get('torch') or 'n/a'} |"
            for r in rows[:200]]
    if len(rows) > 200:
        out.append(f"\n({len(rows) - 200} more in the JSON report)")
    return "\n".join(out).rstrip() + "\n"


def write_markdown(path, report: Mapping) -> None:
    atomic_write_text(path, to_markdown(report))


def write_html(path, report: Mapping) -> None:
    """A self-contained page holding the Markdown report (classifiers have no signal plots)."""
    body = html.escape(to_markdown(report))
    atomic_write_text(path, f"<!doctype html><html><head><meta charset='utf-8'><title>afkd validation</title></head>"
                            f"<body><pre>{body}</pre></body></html>\n")
