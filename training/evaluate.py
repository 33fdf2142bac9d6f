"""Evaluate checkpoints and the ABS baseline on a dataset directory: metrics, size and cost.

For every model (a checkpoint path) or method (``"abs"``) the result holds the dataset means
of :mod:`afkd.training.metrics` (``snr_aa_db, snr_va_db, nmse_aa, nmse_va, sc``, None when
no segment has ground truth) and the cost of the model: ``params``, ``macs_per_second``
(multiply-accumulates per second of ECG at the model rate), ``size_bytes`` (float32
weights, 4 bytes a parameter) and ``checkpoint_bytes`` (the file). ABS has no parameters:
those are None. ``segment_snr_aa_db`` lists the SNR_AA of each segment with ground truth, in
dataset order, so that two models can be compared segment by segment
(:func:`afkd.training.metrics.paired_difference`).

Segments of any length are evaluated whole: the ECG is zero-padded on the right to a
multiple of the hop and the outputs cropped back.

Where segments name their rhythm (synthetic data), ``by_rhythm`` holds the same means per
rhythm. Where the dataset holds two labels or more (CinC 2017, MIT-BIH rhythm annotations,
synthetic mixtures), ``by_label`` holds the statistics of the extracted atrial signal per label
and how well each separates AF from normal rhythm (:mod:`afkd.training.atrial_stats`), which
needs no ground truth.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from afkd.errors import AfkdError
from afkd.training.abs_baseline import average_beat_subtraction
from afkd.training.atrial_stats import label_report, r_peaks_of
from afkd.training.checkpoint import load_checkpoint
from afkd.training.metrics import segment_metrics, summarize
from afkd.training.model import DTFENet, count_parameters, macs_per_second

METHODS = ("abs",)


@torch.no_grad()
def predict(model: DTFENet, ecgs: Sequence[np.ndarray], device: torch.device | str = "cpu",
            batch_size: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run the model on each ECG (T_i,) mV; returns [(aa_hat, va_hat)] float32 (T_i,), same order.

    Segments are batched by padded length; padding is zeros on the right up to the hop, plus
    the model's lookahead (its lag, fed as silence as a stream would be flushed), so
    that the estimates are aligned with the ECG sample for sample.
    The caller sets train/eval mode (evaluation wants ``model.eval()``).
    """
    hop, lag = model.cfg.hop, model.cfg.lookahead_samples
    results: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(ecgs)
    by_length: dict[int, list[int]] = {}
    for i, x in enumerate(ecgs):
        padded = -(-(len(x) + lag) // hop) * hop
        by_length.setdefault(padded, []).append(i)
    for padded, members in by_length.items():
        for lo in range(0, len(members), batch_size):
            chunk = members[lo : lo + batch_size]
            x = np.zeros((len(chunk), padded), dtype=np.float32)  # (batch, T padded)
            for row, i in enumerate(chunk):
                x[row, : len(ecgs[i])] = ecgs[i]
            aa, va = model(torch.from_numpy(x).to(device))
            aa, va = aa.float().cpu().numpy(), va.float().cpu().numpy()
            for row, i in enumerate(chunk):
                n = len(ecgs[i])
                results[i] = (aa[row, lag : lag + n].copy(), va[row, lag : lag + n].copy())
    return results  # type: ignore[return-value]


def load_segments(data_dir: str | os.PathLike, segments: int | None = None) -> tuple[list[dict], float]:
    """The first ``segments`` segments (all when None) of a dataset, and its rate in Hz."""
    from afkd.training.data.dataset import Dataset

    ds = Dataset(data_dir)
    if segments is not None and segments <= 0:
        raise AfkdError(f"--segments {segments}: must be positive")
    count = len(ds) if segments is None else min(segments, len(ds))
    if count == 0:
        raise AfkdError(f"{data_dir}: the dataset has no segments")
    return [ds.segment(i) for i in range(count)], ds.fs


def _truth(seg: dict) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not seg.get("has_ground_truth"):
        return None, None
    return seg["aa"], seg["va"]


def score(segs: Iterable[dict], estimates: Iterable[tuple[np.ndarray, np.ndarray]], fs: float,
          r_peaks: list[np.ndarray] | None = None) -> dict:
    """Dataset means of the metrics for estimates aligned with segments, and each SNR_AA.

    Adds ``by_rhythm`` when segments carry a rhythm, ``by_label`` when ``r_peaks`` are given.
    """
    segs, estimates = list(segs), list(estimates)
    for seg, (aa_hat, va_hat) in zip(segs, estimates):
        # A mean that skipped a NaN segment would be a wrong answer reported as a result.
        for name, x in (("AA", aa_hat), ("VA", va_hat)):
            if not np.isfinite(x).all():
                raise AfkdError(f"the {name} estimate of segment {seg.get('id', '?')} holds "
                                f"{int((~np.isfinite(x)).sum())} NaN/infinite samples")
    rows = [segment_metrics(seg["ecg"], aa_hat, va_hat, fs, *_truth(seg))
            for seg, (aa_hat, va_hat) in zip(segs, estimates)]
    result = summarize(rows)
    result["segment_snr_aa_db"] = [r["snr_aa_db"] for r in rows if "snr_aa_db" in r]
    rhythms = sorted({s["rhythm"] for s in segs if s.get("rhythm")})
    if rhythms:
        result["by_rhythm"] = {}
        for rhythm in rhythms:
            mine = [r for s, r in zip(segs, rows) if s.get("rhythm") == rhythm]
            result["by_rhythm"][rhythm] = {**summarize(mine),
                                           "segment_snr_aa_db": [r["snr_aa_db"] for r in mine if "snr_aa_db" in r]}
    if r_peaks is not None:
        result["by_label"] = label_report(segs, estimates, fs, r_peaks)
    return result


def wants_label_report(segs: list[dict]) -> bool:
    """Two labels or more among the segments: the per-label statistics say something."""
    return len({s.get("label") for s in segs} - {None}) >= 2


def evaluate_model(model: DTFENet, segs: list[dict], fs: float, device: torch.device | str = "cpu",
                   batch_size: int = 8, r_peaks: list[np.ndarray] | None = None) -> dict:
    """Metrics of one in-memory model on loaded segments (no cost figures)."""
    if abs(model.cfg.fs - fs) > 1e-6:
        raise AfkdError(f"model rate {model.cfg.fs} Hz differs from the dataset rate {fs} Hz")
    was_training = model.training
    model.eval()
    try:
        estimates = predict(model, [s["ecg"] for s in segs], device, batch_size)
    finally:
        model.train(was_training)
    return score(segs, estimates, fs, r_peaks)


def evaluate_abs(segs: list[dict], fs: float, r_peaks: list[np.ndarray] | None = None) -> dict:
    estimates = [average_beat_subtraction(s["ecg"], fs) for s in segs]
    result = score(segs, estimates, fs, r_peaks)
    result.update(kind="method", method="abs", params=None, macs_per_second=None, size_bytes=None,
                  checkpoint_bytes=None)
    return result


def evaluate_checkpoint(path: str | os.PathLike, segs: list[dict], fs: float,
                        device: torch.device | str = "cpu", batch_size: int = 8,
                        r_peaks: list[np.ndarray] | None = None) -> dict:
    model, meta = load_checkpoint(path)
    model.to(device)
    try:
        result = evaluate_model(model, segs, fs, device, batch_size, r_peaks)
    except AfkdError as err:
        raise AfkdError(f"{path}: {err}") from None
    params = count_parameters(model)
    result.update(kind="model", path=str(path), role=meta.get("role"), params=params,
                  macs_per_second=float(macs_per_second(model.cfg)), size_bytes=4 * params,
                  checkpoint_bytes=Path(path).stat().st_size, config=model.cfg.to_dict())
    return result


def evaluate(models_or_methods: Sequence[str | os.PathLike], data_dir: str | os.PathLike,
             segments: int | None = None, device: torch.device | str | None = None,
             batch_size: int = 8, labels: bool | None = None,
             r_peaks: list[np.ndarray] | None = None) -> dict[str, dict]:
    """{name: result} for each checkpoint path or method name (``"abs"``), in the order given.

    The name is the argument as given (a path or ``abs``). See the module docstring for
    the keys of a result. ``labels``: report per label (None: when the data holds two labels
    or more); ``r_peaks``: the segments' R peaks when already known (XQRS is the slow part).
    """
    if not models_or_methods:
        raise AfkdError("eval: give at least one --model or --method")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    segs, fs = load_segments(data_dir, segments)
    if labels is None:
        labels = wants_label_report(segs)
    if labels and r_peaks is None:
        r_peaks = r_peaks_of(segs, fs)  # once for every model
    elif not labels:
        r_peaks = None
    results: dict[str, dict] = {}
    for item in models_or_methods:
        name = str(item)
        if name in results:
            continue
        if name in METHODS:
            results[name] = evaluate_abs(segs, fs, r_peaks)
        elif Path(name).is_file():
            results[name] = evaluate_checkpoint(name, segs, fs, device, batch_size, r_peaks)
        else:
            raise AfkdError(f"{name}: neither a checkpoint file nor a method ({', '.join(METHODS)})")
    return results


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(results: dict[str, dict]) -> str:
    """A fixed-width text table, one row per model or method."""
    header = ["model/method", "SNR_AA dB", "SNR_VA dB", "NMSE_AA", "NMSE_VA", "SC", "params", "MMAC/s", "bytes"]
    rows = [header]
    for name, r in results.items():
        macs = None if r.get("macs_per_second") is None else r["macs_per_second"] / 1e6
        rows.append([name, _cell(r["snr_aa_db"], ".2f"), _cell(r["snr_va_db"], ".2f"),
                     _cell(r["nmse_aa"], ".4f"), _cell(r["nmse_va"], ".4f"), _cell(r["sc"], ".3f"),
                     _cell(r.get("params"), "d"), _cell(macs, ".2f"), _cell(r.get("size_bytes"), "d")])
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)

