"""Compare firmware outputs with their references: TFLite (bit for bit), PyTorch (float), one-shot.

Three questions, three functions:

* :func:`compare_exact` - does the firmware give the same integers as the TFLite int8 (or int16x8)
  reference?  Answers bit-exact or not, the largest difference in LSB, how many samples differ and
  the first one that does (segment, output name, index, actual, expected), the way CMSIS-NN's tests
  print a mismatch. :func:`first_mismatching_layer` does the same for per-layer dumps.
* :func:`compare_float` - how close is the dequantized firmware output to the float PyTorch model?
  SNR, RMSE, MAE and cosine similarity, the table X-CUBE-AI's ``validate`` prints.
* :func:`compare_streaming` - does hop-by-hop streaming give the one-shot output exactly?

A "segment" throughout is a mapping ``output name -> 1-D array`` (for example ``{"aa": ..., "va": ...}``,
each of shape (T,)); a run is a sequence of segments in the same order on both sides.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from afkd.errors import AfkdError

Segment = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Mismatch:
    """One sample where the two sides differ (values are the raw integers, not dequantized)."""

    segment: str  # segment id (or its position as a string when no ids were given)
    output: str  # output or layer name, e.g. "aa"
    index: int  # flat index into that output
    actual: int  # firmware
    expected: int  # reference


@dataclass(frozen=True)
class ExactComparison:
    """Result of an integer comparison; ``max_abs_lsb`` is 0 exactly when ``bit_exact``."""

    bit_exact: bool
    max_abs_lsb: int
    mismatches: int  # number of differing samples over all segments and outputs
    samples: int  # number of samples compared
    first: Mismatch | None  # first differing sample in segment, output, index order
    first_layer: str | None = None  # first differing layer when layer dumps were compared

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FloatComparison:
    """Float agreement of ``actual`` with ``reference`` over all samples (mV when signals are mV).

    snr_db = 10 log10(sum ref^2 / sum (ref - act)^2); +inf when identical.
    cosine = <act, ref> / (|act| |ref|); NaN when either side is all zeros.
    """

    snr_db: float
    rmse: float
    mae: float
    max_abs: float
    cosine: float
    samples: int
    per_output: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StreamingComparison:
    """Streaming (hop by hop) against one-shot output."""

    equal: bool
    first: Mismatch | None
    max_abs_diff: float

    def to_dict(self) -> dict:
        return asdict(self)


def _segments(run: Segment | Sequence[Segment]) -> list[Segment]:
    return [run] if isinstance(run, Mapping) else list(run)


def _check_pair(name: str, actual: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        raise AfkdError(f"{name}: firmware output has shape {a.shape} but the reference has {e.shape}")
    return a, e


def _to_int(name: str, x: np.ndarray) -> np.ndarray:
    if not np.issubdtype(x.dtype, np.integer):
        raise AfkdError(f"{name}: expected integer samples for a bit-exact comparison, got {x.dtype}")
    return x.astype(np.int64).ravel()  # int64 so that int8 - int8 cannot wrap


def compare_exact(actual: Segment | Sequence[Segment], expected: Segment | Sequence[Segment],
                  segment_ids: Sequence[str] | None = None) -> ExactComparison:
    """Compare integer outputs segment by segment, output by output (in ``expected``'s key order).

    ``actual`` and ``expected`` are one segment or equal-length sequences of segments; every
    output of ``expected`` must exist in ``actual`` with the same shape and an integer dtype.
    """
    act_segs, exp_segs = _segments(actual), _segments(expected)
    if len(act_segs) != len(exp_segs):
        raise AfkdError(f"comparison: firmware gave {len(act_segs)} segments, reference has {len(exp_segs)}")
    ids = [str(i) for i in range(len(exp_segs))] if segment_ids is None else [str(s) for s in segment_ids]
    if len(ids) != len(exp_segs):
        raise AfkdError(f"comparison: {len(ids)} segment ids for {len(exp_segs)} segments")
    max_lsb, count, samples, first = 0, 0, 0, None
    for seg_id, act, exp in zip(ids, act_segs, exp_segs):
        for name, e in exp.items():
            if name not in act:
                raise AfkdError(f"segment {seg_id}: firmware output {name!r} is missing")
            a, e = _check_pair(f"segment {seg_id} output {name}", act[name], e)
            a, e = _to_int(f"segment {seg_id} firmware {name}", a), _to_int(f"segment {seg_id} reference {name}", e)
            diff = np.abs(a - e)
            samples += diff.size
            bad = np.flatnonzero(diff)
            if bad.size:
                count += int(bad.size)
                max_lsb = max(max_lsb, int(diff.max()))
                if first is None:
                    i = int(bad[0])
                    first = Mismatch(seg_id, name, i, int(a[i]), int(e[i]))
    return ExactComparison(count == 0, max_lsb, count, samples, first)


def first_mismatching_layer(actual_layers: Mapping[str, np.ndarray],
                            expected_layers: Mapping[str, np.ndarray]) -> ExactComparison:
    """Walk per-layer dumps in ``expected_layers`` order (the execution order) and stop at the first
    layer that differs; ``first_layer`` names it and ``first`` gives its first differing element.

    The counts cover the layers walked up to and including the first differing one: later layers
    inherit the error and would only repeat it.
    """
    max_lsb, count, samples = 0, 0, 0
    for name, exp in expected_layers.items():
        if name not in actual_layers:
            raise AfkdError(f"layer {name}: the firmware dump has no such layer")
        result = compare_exact({name: actual_layers[name]}, {name: exp}, segment_ids=["layers"])
        samples += result.samples
        if not result.bit_exact:
            return ExactComparison(False, result.max_abs_lsb, result.mismatches, samples, result.first, name)
    return ExactComparison(True, max_lsb, count, samples, None, None)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite affine dequantization r = scale * (q - zero_point), as float64."""
    if not scale > 0:
        raise AfkdError(f"dequantize: scale must be positive, got {scale}")
    return scale * (np.asarray(q, dtype=np.float64) - float(zero_point))


def _float_metrics(a: np.ndarray, r: np.ndarray) -> dict[str, float]:
    err = a - r
    sig, noise = float(np.sum(r * r)), float(np.sum(err * err))
    if noise == 0.0:
        snr = math.inf
    elif sig == 0.0:
        snr = -math.inf
    else:
        snr = 10.0 * math.log10(sig / noise)
    norm = float(np.linalg.norm(a) * np.linalg.norm(r))
    n = max(a.size, 1)
    return {
        "snr_db": snr,
        "rmse": math.sqrt(noise / n),
        "mae": float(np.sum(np.abs(err)) / n),
        "max_abs": float(np.max(np.abs(err))) if a.size else 0.0,
        "cosine": float(np.dot(a, r) / norm) if norm > 0 else math.nan,
        "samples": int(a.size),
    }


def compare_float(actual: Segment | Sequence[Segment], reference: Segment | Sequence[Segment]) -> FloatComparison:
    """Float metrics of (already dequantized) firmware outputs against the PyTorch outputs.

    Pooled over all segments and outputs (the figure the summary reports), with the same metrics
    per output name in ``per_output``.
    """
    act_segs, ref_segs = _segments(actual), _segments(reference)
    if len(act_segs) != len(ref_segs):
        raise AfkdError(f"comparison: firmware gave {len(act_segs)} segments, reference has {len(ref_segs)}")
    pooled_a: list[np.ndarray] = []
    pooled_r: list[np.ndarray] = []
    by_name: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for i, (act, ref) in enumerate(zip(act_segs, ref_segs)):
        for name, r in ref.items():
            if name not in act:
                raise AfkdError(f"segment {i}: firmware output {name!r} is missing")
            a, r = _check_pair(f"segment {i} output {name}", act[name], r)
            a, r = np.asarray(a, np.float64).ravel(), np.asarray(r, np.float64).ravel()
            pooled_a.append(a)
            pooled_r.append(r)
            by_name.setdefault(name, ([], []))
            by_name[name][0].append(a)
            by_name[name][1].append(r)
    if not pooled_a:
        raise AfkdError("comparison: no outputs to compare")
    total = _float_metrics(np.concatenate(pooled_a), np.concatenate(pooled_r))
    per_output = {k: _float_metrics(np.concatenate(v[0]), np.concatenate(v[1])) for k, v in by_name.items()}
    return FloatComparison(**total, per_output=per_output)


def compare_streaming(streaming: Segment | Sequence[Segment], one_shot: Segment | Sequence[Segment],
                      segment_ids: Sequence[str] | None = None) -> StreamingComparison:
    """Exact equality of streaming and one-shot outputs (integers or floats), else the first difference.

    Float outputs must match exactly too: the streaming plan promises the same arithmetic, not a
    close one. ``first.actual``/``expected`` are then the float values (streaming, one-shot).
    """
    str_segs, one_segs = _segments(streaming), _segments(one_shot)
    if len(str_segs) != len(one_segs):
        raise AfkdError(f"streaming comparison: {len(str_segs)} streamed segments, {len(one_segs)} one-shot")
    ids = [str(i) for i in range(len(one_segs))] if segment_ids is None else [str(s) for s in segment_ids]
    first, max_diff = None, 0.0
    for seg_id, s, o in zip(ids, str_segs, one_segs):
        for name, expected in o.items():
            if name not in s:
                raise AfkdError(f"segment {seg_id}: streamed output {name!r} is missing")
            a, e = _check_pair(f"segment {seg_id} output {name}", s[name], expected)
            a, e = a.ravel(), e.ravel()
            diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
            bad = np.flatnonzero(a != e)
            if bad.size:
                max_diff = max(max_diff, float(np.nanmax(diff)) if np.any(np.isfinite(diff)) else math.inf)
                if first is None:
                    i = int(bad[0])
                    cast = int if np.issubdtype(a.dtype, np.integer) else float
                    first = Mismatch(seg_id, name, i, cast(a[i]), cast(e[i]))
    return StreamingComparison(first is None, first, max_diff)
