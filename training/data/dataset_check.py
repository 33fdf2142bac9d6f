"""Checks of a dataset directory when it is opened: the manifest's shape and finite samples.

A ``dataset.json`` edited by hand or cut short, or an array with NaN in it, would
otherwise surface later as a KeyError deep in training, or worse as a mean taken over the
clean segments only. Every problem is one AfkdError naming the file and the segment.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from afkd.errors import AfkdError

# segment field -> accepted types (bool is not an int here: JSON true is no length)
_SEGMENT_TYPES = {"offset": int, "length": int, "has_ground_truth": bool}
_CHUNK = 1 << 22  # samples per finite-check read of a memory-mapped array (16 MB)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_manifest(manifest: object, path: Path) -> None:
    """The top-level fields and every segment's offset, length and flags have usable types."""
    if not isinstance(manifest, dict):
        raise AfkdError(f"{path}: the manifest is a {type(manifest).__name__}, not a JSON object")
    fs = manifest.get("fs")
    if isinstance(fs, bool) or not isinstance(fs, (int, float)) or not math.isfinite(fs) or fs <= 0:
        raise AfkdError(f"{path}: fs {fs!r} is not a positive rate in Hz")
    signals = manifest.get("signals")
    if not isinstance(signals, list) or "ecg" not in signals or not set(signals) <= {"ecg", "aa", "va"}:
        raise AfkdError(f"{path}: signals {signals!r} must list ecg and optionally aa and va")
    segments = manifest.get("segments")
    if not isinstance(segments, list):
        raise AfkdError(f"{path}: segments must be a list")
    for i, seg in enumerate(segments):
        if not isinstance(seg, dict):
            raise AfkdError(f"{path}: segment {i} is a {type(seg).__name__}, not an object")
        for field, kind in _SEGMENT_TYPES.items():
            value = seg.get(field)
            if not (_is_int(value) if kind is int else isinstance(value, kind)):
                raise AfkdError(f"{path}: segment {i} ({seg.get('id', '?')}): {field} {value!r} "
                                f"is not a{'n integer' if kind is int else ' boolean'}")
        if seg["offset"] < 0 or seg["length"] <= 0:
            raise AfkdError(f"{path}: segment {i} ({seg.get('id', '?')}): offset {seg['offset']} / "
                            f"length {seg['length']} out of range")


def check_spans(segments: list[dict], total: int, path: Path) -> None:
    """Every segment lies inside the arrays."""
    for i, seg in enumerate(segments):
        if seg["offset"] + seg["length"] > total:
            raise AfkdError(f"{path}: segment {i} ({seg.get('id', '?')}) ends at sample "
                            f"{seg['offset'] + seg['length']}, the arrays hold {total}")


def _first_bad(array: np.ndarray, start: int, stop: int) -> tuple[int, int] | None:
    """(count, first index) of the NaN/infinite samples in array[start:stop], or None."""
    count, first = 0, None
    for lo in range(start, stop, _CHUNK):
        bad = ~np.isfinite(np.asarray(array[lo:min(stop, lo + _CHUNK)]))
        if bad.any():
            count += int(bad.sum())
            first = lo + int(np.argmax(bad)) if first is None else first
    return None if first is None else (count, first)


def check_finite(arrays: dict[str, np.ndarray], segments: list[dict], folder: Path) -> None:
    """ecg everywhere, aa/va in segments with ground truth: no NaN or infinity.

    (aa and va hold NaN by design where a segment has no ground truth.)
    """
    ecg = arrays["ecg"]
    found = _first_bad(ecg, 0, ecg.shape[0])
    if found:
        count, first = found
        owner = next((s for s in segments if s["offset"] <= first < s["offset"] + s["length"]), None)
        where = (f"segment {owner.get('id', '?')} sample {first - owner['offset']}" if owner
                 else f"sample {first}, outside every segment")
        raise AfkdError(f"{folder / 'ecg.npy'}: {count} NaN/infinite samples (first in {where})")
    for name in ("aa", "va"):
        if name not in arrays:
            continue
        for seg in segments:
            if seg["has_ground_truth"]:
                found = _first_bad(arrays[name], seg["offset"], seg["offset"] + seg["length"])
                if found:
                    raise AfkdError(f"{folder / (name + '.npy')}: {found[0]} NaN/infinite samples in segment "
                                    f"{seg.get('id', '?')} (first at sample {found[1] - seg['offset']})")
