"""The validation report: one plain dict, written as JSON (CI), Markdown (a pull request) and HTML.

:func:`build_report` assembles the dict from the pieces the other host tools measure; the writers
never compute anything. Layout (every number a plain int/float, None where not measured)::

    {"format": "afkd-validation", "version": 1, "runner": "qemu", "target": "mps2_an386",
     "segments": [{"id", "label", "fs", "samples", "sc", "snr_aa_db", "nmse_aa", ...}, ...],
     "quality":   {"sc", "snr_aa_db", "nmse_aa", "snr_va_db", "nmse_va", "segments",
                   "segments_with_ground_truth"},
     "fidelity":  {"vs_tflite": {"bit_exact", "max_abs_lsb", "mismatches", "samples", "first",
                                 "first_layer"},
                   "vs_torch":  {"snr_db", "rmse", "mae", "max_abs", "cosine", "samples", "per_output"},
                   "streaming": {"equal", "first", "max_abs_diff"}},
     "footprint": {"flash_bytes", "ram_bytes", "flash": {...}, "ram": {...}, "stack": {...},
                   "heap": {...}, "static_ram_bytes"},
     "timing":    {"unit", "hop", "fs", "hops", "per_hop_mean", "per_hop_max",
                   "instructions_per_hop", "cycles_per_hop", "instructions_per_mac",
                   "cycles_per_mac", "macs_per_hop", "clock_hz", "cpu_load", "cpu_load_worst",
                   "algorithmic_latency_ms", "compute_ms_worst", "latency_ms"},
     "range":     {"input_clipped", "input_samples", "input_fraction", "input_range_mv": [low, high],
                   "worst_layer", "worst_fraction", "layers": [{"layer", "op", "clipped", "values",
                   "fraction"}, ...]},
     "checks":    {"thresholds": {...}, "failures": [...], "passed": bool},
     "warnings":  ["...", ...],  # what the figures cannot show (no AF in the data, ...)
     "created":   {"afkd_version", "date"},
     "meta":      {...}}

In memory an identical float comparison keeps ``snr_db = inf``; the JSON writer turns every
non-finite number into null (JSON has no infinity).
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import is_dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from afkd import __version__
from afkd.atomic import atomic_write_text
from afkd.errors import AfkdError
from afkd.training import metrics

DEFAULT_THRESHOLDS: dict[str, Any] = {
    "bit_exact": True,  # firmware == TFLite reference, bit for bit
    "streaming_equal": True,  # streaming == one-shot when it was compared
    "no_heap": True,  # no allocator linked in
}
# Optional numeric limits: key -> (path in the report, "min" or "max").
LIMITS: dict[str, tuple[tuple[str, ...], str]] = {
    "min_vs_torch_snr_db": (("fidelity", "vs_torch", "snr_db"), "min"),
    "min_vs_torch_cosine": (("fidelity", "vs_torch", "cosine"), "min"),
    "max_abs_lsb": (("fidelity", "vs_tflite", "max_abs_lsb"), "max"),
    "min_sc": (("quality", "sc"), "min"),
    "min_snr_aa_db": (("quality", "snr_aa_db"), "min"),
    "max_flash_bytes": (("footprint", "flash_bytes"), "max"),
    "max_ram_bytes": (("footprint", "ram_bytes"), "max"),
    "max_cpu_load": (("timing", "cpu_load_worst"), "max"),
    "max_latency_ms": (("timing", "latency_ms"), "max"),
    "max_input_clipped_fraction": (("range", "input_fraction"), "max"),
    "max_activation_clipped_fraction": (("range", "worst_fraction"), "max"),
    # classifiers (host_tools/validate_classifier.py): decisions per record or window
    "min_decision_agreement_tflite": (("classification", "agreement_tflite"), "min"),
    "min_decision_agreement_torch": (("classification", "agreement_torch"), "min"),
    "min_accuracy": (("classification", "accuracy"), "min"),
    "min_challenge_score": (("classification", "challenge_score"), "min"),
}


def _plain(x: Any) -> Any:
    """Numpy scalars/arrays and dataclasses (with ``to_dict``) to plain Python."""
    if is_dataclass(x) and hasattr(x, "to_dict"):
        return _plain(x.to_dict())
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    return x


def segment_quality(segment_id: str, aa: np.ndarray, fs: float, *, va: np.ndarray | None = None,
                    aa_true: np.ndarray | None = None,
                    va_true: np.ndarray | None = None, label: str | None = None, lag: int = 0) -> dict:
    """Quality of one segment's firmware output (float mV, shape (T,)): SC always, SNR/NMSE with
    ground truth. Uses :mod:`afkd.training.metrics` so the numbers match ``afkd eval``.

    ``lag``: output sample i estimates truth sample i - lag (a model with lookahead); the
    SNR is taken over the T - lag samples both cover."""
    aa = np.asarray(aa, dtype=np.float64)
    out: dict[str, Any] = {"id": str(segment_id), "label": label, "fs": float(fs), "samples": int(aa.size)}
    out.update(dict.fromkeys(metrics.METRIC_KEYS))
    try:
        out["sc"] = metrics.spectral_concentration(aa, fs)
        for name, estimate, truth in (("aa", aa, aa_true), ("va", va, va_true)):
            if estimate is not None and truth is not None and np.all(np.isfinite(truth)):
                truth, estimate = np.asarray(truth)[: len(truth) - lag], np.asarray(estimate)[lag:]
                out[f"snr_{name}_db"] = metrics.snr_db(truth, estimate)
                out[f"nmse_{name}"] = metrics.nmse(truth, estimate)
    except ValueError as e:
        raise AfkdError(f"segment {segment_id}: {e}") from None
    return out


def summarize_quality(segments: Sequence[Mapping]) -> dict:
    """Mean over segments (dB as dB, NMSE as ratios), via :func:`afkd.training.metrics.summarize`."""
    rows = [{k: v for k, v in r.items() if k in metrics.METRIC_KEYS and v is not None} for r in segments]
    return metrics.summarize(rows)


def timing_metrics(counts_per_hop: Sequence[int] | np.ndarray, *, hop: int, fs: float, clock_hz: float,
                   macs_per_hop: int | None = None, unit: str = "instructions",
                   algorithmic_latency_samples: int | None = None) -> dict:
    """Time figures from one count per hop (instructions on an emulator, DWT cycles on a board).

    cpu_load = count per hop * hops per second / clock (an instruction count treated as one cycle
    each: a lower bound on a real M4). latency = algorithmic latency (one hop unless given) +
    the worst hop's compute time at ``clock_hz``.
    """
    if unit not in ("instructions", "cycles"):
        raise AfkdError(f"timing: unit must be 'instructions' or 'cycles', got {unit!r}")
    counts = np.asarray(counts_per_hop, dtype=np.float64).ravel()
    if counts.size == 0 or hop <= 0 or fs <= 0 or clock_hz <= 0:
        raise AfkdError("timing: need at least one hop count and positive hop, fs and clock_hz")
    mean, worst = float(counts.mean()), float(counts.max())
    hops_per_second = fs / hop
    per_mac = mean / macs_per_hop if macs_per_hop else None
    latency_samples = hop if algorithmic_latency_samples is None else algorithmic_latency_samples
    return {
        "unit": unit, "hop": int(hop), "fs": float(fs), "hops": int(counts.size),
        "per_hop_mean": mean, "per_hop_max": worst,
        "instructions_per_hop": mean if unit == "instructions" else None,
        "cycles_per_hop": mean if unit == "cycles" else None,
        "instructions_per_mac": per_mac if unit == "instructions" else None,
        "cycles_per_mac": per_mac if unit == "cycles" else None,
        "macs_per_hop": macs_per_hop, "clock_hz": float(clock_hz),
        "cpu_load": mean * hops_per_second / clock_hz,
        "cpu_load_worst": worst * hops_per_second / clock_hz,
        "algorithmic_latency_ms": 1000.0 * latency_samples / fs,
        "compute_ms_worst": 1000.0 * worst / clock_hz,
        "latency_ms": 1000.0 * latency_samples / fs + 1000.0 * worst / clock_hz,
    }


# The firmware's counter (protocol FirmwareInfo.counter_kind) -> the unit of its counts.
COUNTER_UNITS = {"qemu_instructions": "instructions", "renode_instructions": "instructions", "dwt_cycles": "cycles"}


def timing_from_run(counts_per_hop: Sequence[int] | np.ndarray, info: Any, fs: float,
                    algorithmic_latency_samples: int | None = None) -> dict | None:
    """:func:`timing_metrics` from a runner's counts and its ``FirmwareInfo`` (uses ``hop``,
    ``macs_per_hop``, ``clock_hz``, ``counter_kind``); None when the firmware has no counter."""
    unit = COUNTER_UNITS.get(getattr(info, "counter_kind", "none"))
    if unit is None:
        return None
    return timing_metrics(counts_per_hop, hop=info.hop, fs=fs, clock_hz=info.clock_hz,
                          macs_per_hop=info.macs_per_hop or None, unit=unit,
                          algorithmic_latency_samples=algorithmic_latency_samples)


def _get(report: Mapping, path: Sequence[str]) -> Any:
    node: Any = report
    for key in path:
        if not isinstance(node, Mapping) or node.get(key) is None:
            return None
        node = node[key]
    return node


def check_threshold_keys(thresholds: Mapping[str, Any], source: str = "thresholds") -> dict:
    """``thresholds`` if every key is known and every value of its kind (true/false for the
    switches, a number for the limits), else an AfkdError naming the key: checked before the
    firmware runs."""
    unknown = sorted(set(thresholds) - set(DEFAULT_THRESHOLDS) - set(LIMITS))
    if unknown:
        raise AfkdError(f"{source}: unknown key(s) {', '.join(unknown)} (known: "
                        f"{', '.join([*DEFAULT_THRESHOLDS, *LIMITS])})")
    for key, value in thresholds.items():
        if key in DEFAULT_THRESHOLDS and not isinstance(value, bool):
            raise AfkdError(f"{source}: {key} must be true or false, not {value!r}")
        if key in LIMITS and value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                                    or not math.isfinite(value)):
            raise AfkdError(f"{source}: {key} must be a number, not {value!r}")
    return dict(thresholds)


def check_thresholds(report: Mapping, thresholds: Mapping[str, Any] | None = None) -> list[str]:
    """Failures (one line each) of ``thresholds`` (defaults: :data:`DEFAULT_THRESHOLDS`, updated by
    the given ones; set a boolean to False to switch it off). A limit whose figure was not measured
    is a failure, so a missing measurement never passes silently."""
    wanted = dict(DEFAULT_THRESHOLDS)
    wanted.update(check_threshold_keys(thresholds or {}))
    failures = []
    if wanted["bit_exact"]:
        exact = _get(report, ("fidelity", "vs_tflite"))
        if exact is None:
            failures.append("bit_exact: the firmware was not compared with the TFLite reference")
        elif not exact.get("bit_exact"):
            f = exact.get("first") or {}
            failures.append(f"bit_exact: {exact.get('mismatches')} samples differ (max {exact.get('max_abs_lsb')} LSB); "
                            f"first at segment {f.get('segment')} {f.get('output')}[{f.get('index')}]: "
                            f"firmware {f.get('actual')}, TFLite {f.get('expected')}")
    streaming = _get(report, ("fidelity", "streaming"))
    if wanted["streaming_equal"] and streaming is not None and not streaming.get("equal"):
        f = streaming.get("first") or {}
        failures.append(f"streaming_equal: streaming differs from one-shot at segment {f.get('segment')} "
                        f"{f.get('output')}[{f.get('index')}]")
    heap = _get(report, ("footprint", "heap"))
    if wanted["no_heap"] and heap is not None and heap.get("uses_heap"):
        failures.append(f"no_heap: allocator linked in ({', '.join(heap.get('allocator_symbols', []))})")
    for key, (path, kind) in LIMITS.items():
        limit = wanted.get(key)
        if limit is None:
            continue
        value = _get(report, path)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            failures.append(f"{key}: {'.'.join(path)} was not measured")
        elif (kind == "min" and value < limit) or (kind == "max" and value > limit):
            failures.append(f"{key}: {'.'.join(path)} = {value:.6g}, limit {limit:.6g}")
    return failures


def build_report(*, runner: str, target: str, segments: Sequence[Mapping] = (),
                 vs_tflite: Any = None, vs_torch: Any = None, streaming: Any = None,
                 footprint: Any = None, timing: Mapping | None = None, saturation: Any = None,
                 thresholds: Mapping[str, Any] | None = None, meta: Mapping | None = None,
                 sections: Mapping[str, Any] | None = None) -> dict:
    """The report dict (layout in the module docstring). Comparison and footprint arguments may be
    the dataclasses of :mod:`.compare` / :mod:`.footprint` or their ``to_dict()`` forms; ``segments``
    are :func:`segment_quality` rows; ``timing`` is :func:`timing_metrics`' dict; ``saturation`` is
    :class:`afkd.export.saturation.Saturation` or its ``to_dict()``; ``sections`` are further
    top-level parts (a classifier's "classification"), there before the thresholds are checked."""
    report = {
        "format": "afkd-validation", "version": 1,
        "runner": str(runner), "target": str(target),
        "segments": _plain(list(segments)),
        "quality": summarize_quality(segments) if segments else
        {k: None for k in metrics.METRIC_KEYS} | {"segments": 0, "segments_with_ground_truth": 0},
        "fidelity": {"vs_tflite": _plain(vs_tflite), "vs_torch": _plain(vs_torch), "streaming": _plain(streaming)},
        "footprint": _plain(footprint),
        "timing": _plain(dict(timing)) if timing is not None else None,
        "range": _plain(saturation.to_dict() if hasattr(saturation, "to_dict") else saturation),
        "meta": _plain(dict(meta or {})),
    }
    report.update(_plain(dict(sections or {})))
    used = dict(DEFAULT_THRESHOLDS) | dict(thresholds or {})
    failures = check_thresholds(report, used)
    report["checks"] = {"thresholds": used, "failures": failures, "passed": not failures}
    report["warnings"] = data_warnings(report["segments"])
    report["created"] = {"afkd_version": __version__,
                         "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    return report


#: The rhythm label of atrial fibrillation in afkd datasets (CinC 2017's "A"; the importer's AF episodes).
AF_LABEL = "A"


def data_warnings(segments: Sequence[Mapping]) -> list[str]:
    """What the figures cannot show about these data: SC is no evidence of f-wave extraction
    on data without AF (on sinus rhythm the extracted signal's 3-12 Hz share is high too)."""
    if segments and not any(s.get("label") == AF_LABEL for s in segments):
        labels = sorted({str(s.get("label")) for s in segments})
        return [f"no segment is labelled AF ({AF_LABEL}); labels here: {', '.join(labels)}. SC is high on "
                "sinus rhythm too, so on these data it does not show that f-waves were extracted"]
    return []


def to_json(report: Mapping) -> str:
    return json.dumps(_json_safe(_plain(report)), indent=2, allow_nan=False) + "\n"


def write_json(path, report: Mapping) -> None:
    atomic_write_text(path, to_json(report))


def _fmt(value: Any, spec: str = ".4g", unit: str = "") -> str:
    """A figure for people: n/a for missing, yes/no, thousands separators for counts."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isinf(value):
        return "inf" + unit
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value:{spec}}{unit}"


def _count(items: Sequence | None, noun: str) -> str:
    n = len(items or [])
    return f"{n} {noun}" + ("" if n == 1 else "s")


def summary_lines(report: Mapping) -> list[str]:
    """A few lines for the terminal: verdict, fidelity, quality, footprint, time."""
    g = lambda *p: _get(report, p)  # noqa: E731 - a short accessor reads better here
    unit = g("timing", "unit") or "instructions"
    lines = [
        f"afkd validate: {'PASS' if g('checks', 'passed') else 'FAIL'} ({report.get('runner')} on {report.get('target')}, "
        f"{_count(report.get('segments'), 'segment')})",
        f"  vs TFLite: bit-exact {_fmt(g('fidelity', 'vs_tflite', 'bit_exact'))}, "
        f"max {_fmt(g('fidelity', 'vs_tflite', 'max_abs_lsb'))} LSB, "
        f"{_fmt(g('fidelity', 'vs_tflite', 'mismatches'))} mismatches",
        f"  vs PyTorch: SNR {_fmt(g('fidelity', 'vs_torch', 'snr_db'), '.2f', ' dB')}, "
        f"cosine {_fmt(g('fidelity', 'vs_torch', 'cosine'), '.6f')}, RMSE {_fmt(g('fidelity', 'vs_torch', 'rmse'))}",
        f"  quality: SC {_fmt(g('quality', 'sc'), '.3f')}, SNR_AA {_fmt(g('quality', 'snr_aa_db'), '.2f', ' dB')}, "
        f"NMSE_AA {_fmt(g('quality', 'nmse_aa'), '.3f')}",
        f"  footprint: flash {_fmt(g('footprint', 'flash_bytes'), unit=' B')}, RAM {_fmt(g('footprint', 'ram_bytes'), unit=' B')}",
        f"  time: {_fmt(g('timing', 'per_hop_mean'), '.0f')} {unit}/hop, {_fmt(g('timing', f'{unit}_per_mac'), '.2f')} per MAC, "
        f"CPU load {_fmt(g('timing', 'cpu_load'), '.2%')} at {_fmt((g('timing', 'clock_hz') or 0) / 1e6 or None, '.0f', ' MHz')}, "
        f"latency {_fmt(g('timing', 'latency_ms'), '.1f', ' ms')}",
    ]
    if report.get("range"):
        from afkd.export.saturation import range_line

        lines.append(f"  range: {range_line(report['range'])}")
    lines += [f"  WARNING {w}" for w in (report.get("warnings") or [])]
    if report.get("by_label"):
        from afkd.host_tools.label_report import summary_line

        lines.append(summary_line(report["by_label"]))
    lines += [f"  FAILED {f}" for f in (g("checks", "failures") or [])]
    return lines



def to_markdown(report: Mapping) -> str:
    """GitHub-flavoured Markdown: verdict, then one table per part."""
    g = lambda *p: _get(report, p)  # noqa: E731
    verdict = "PASS" if g("checks", "passed") else "FAIL"
    out = [f"## afkd validation: {verdict}", "",
           f"Runner `{report.get('runner')}`, target `{report.get('target')}`, {_count(report.get('segments'), 'segment')}.", ""]
    if g("checks", "failures"):
        out += ["**Failed checks**", ""] + [f"- {f}" for f in g("checks", "failures")] + [""]
    if report.get("warnings"):
        out += ["**Warnings**", ""] + [f"- {w}" for w in report["warnings"]] + [""]
    out += ["| Fidelity | Value |", "|---|---|",
            f"| bit-exact vs TFLite | {_fmt(g('fidelity', 'vs_tflite', 'bit_exact'))} |",
            f"| max abs difference | {_fmt(g('fidelity', 'vs_tflite', 'max_abs_lsb'))} LSB |",
            f"| mismatching samples | {_fmt(g('fidelity', 'vs_tflite', 'mismatches'))} of {_fmt(g('fidelity', 'vs_tflite', 'samples'))} |",
            f"| first mismatching layer | {g('fidelity', 'vs_tflite', 'first_layer') or 'n/a'} |",
            f"| streaming == one-shot | {_fmt(g('fidelity', 'streaming', 'equal'))} |", ""]
    out += ["| vs PyTorch float | SNR (dB) | RMSE | MAE | cosine |", "|---|---|---|---|---|"]
    torch = g("fidelity", "vs_torch") or {}
    for name, m in [("all outputs", torch)] + list((torch.get("per_output") or {}).items()):
        out.append(f"| {name} | {_fmt(m.get('snr_db'), '.2f')} | {_fmt(m.get('rmse'))} | {_fmt(m.get('mae'))} | {_fmt(m.get('cosine'), '.6f')} |")
    out += ["", "| Quality | Value |", "|---|---|",
            f"| SC (3-12 Hz share of AA power) | {_fmt(g('quality', 'sc'), '.3f')} |",
            f"| SNR_AA | {_fmt(g('quality', 'snr_aa_db'), '.2f', ' dB')} |",
            f"| NMSE_AA | {_fmt(g('quality', 'nmse_aa'), '.4f')} |",
            f"| segments (with ground truth) | {_fmt(g('quality', 'segments'))} ({_fmt(g('quality', 'segments_with_ground_truth'))}) |", ""]
    for region in ("flash", "ram"):
        parts = g("footprint", region) or {}
        total = g("footprint", f"{region}_bytes")
        out += [f"| {region.upper()} | bytes |", "|---|---|"]
        out += [f"| {k.replace('_', ' ')} | {_fmt(v)} |" for k, v in parts.items()]
        out += [f"| **total** | **{_fmt(total)}** |", ""]
    t = report.get("timing") or {}
    unit = t.get("unit", "instructions")
    out += ["| Time | Value |", "|---|---|",
            f"| {unit} per hop (mean / max) | {_fmt(t.get('per_hop_mean'), '.0f')} / {_fmt(t.get('per_hop_max'), '.0f')} |",
            f"| {unit} per MAC | {_fmt(t.get(f'{unit}_per_mac'), '.2f')} |",
            f"| CPU load at {_fmt((t.get('clock_hz') or 0) / 1e6 or None, '.0f', ' MHz')} (mean / worst hop) | "
            f"{_fmt(t.get('cpu_load'), '.2%')} / {_fmt(t.get('cpu_load_worst'), '.2%')} |",
            f"| latency (algorithmic + compute) | {_fmt(t.get('latency_ms'), '.2f', ' ms')} |", ""]
    r = report.get("range")
    if r:
        from afkd.export.saturation import mv_range

        out += ["| Range (values at the ends of a quantized range) | clipped | of | share |", "|---|---|---|---|",
                f"| input ({mv_range(r['input_range_mv'])}) | {_fmt(r['input_clipped'])} | {_fmt(r['input_samples'])} | "
                f"{r['input_fraction']:.4%} |"]
        out += [f"| {x['layer']} ({x['op']}) | {_fmt(x['clipped'])} | {_fmt(x['values'])} | {x['fraction']:.4%} |"
                for x in r["layers"][:10]]
        if len(r["layers"]) > 10:
            out.append(f"| ({len(r['layers']) - 10} more layers in the JSON report) | | | |")
        out.append("")
    if report.get("by_label"):
        from afkd.host_tools.label_report import markdown

        out += [markdown(report["by_label"]), ""]
    segments = report.get("segments") or []
    if segments:
        out += ["| Segment | label | SC | SNR_AA (dB) | NMSE_AA |", "|---|---|---|---|---|"]
        out += [f"| {r.get('id')} | {r.get('label') or ''} | {_fmt(r.get('sc'), '.3f')} | {_fmt(r.get('snr_aa_db'), '.2f')} | "
                f"{_fmt(r.get('nmse_aa'), '.4f')} |" for r in segments[:50]]
        if len(segments) > 50:
            out.append(f"\n({len(segments) - 50} more segments in the JSON report)")
    return "\n".join(out).rstrip() + "\n"


def write_markdown(path, report: Mapping) -> None:
    atomic_write_text(path, to_markdown(report))


def write_html(path, report: Mapping, traces: Sequence[Mapping] = ()) -> None:
    """Self-contained HTML page with plots (see :mod:`.report_html`)."""
    from afkd.host_tools.report_html import render_html

    atomic_write_text(path, render_html(report, traces))
