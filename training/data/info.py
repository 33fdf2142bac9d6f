"""``afkd data info``: what a dataset holds, in numbers and in one PNG of histograms."""

from __future__ import annotations

import io
import os
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import signal

from afkd.atomic import atomic_write_bytes
from afkd.training.data.dataset import Dataset

F0_BAND_HZ = (3.0, 12.0)


def dominant_frequency(x: np.ndarray, fs: float, band: tuple[float, float] = F0_BAND_HZ) -> float:
    """Frequency (Hz) of the Welch power peak inside ``band``; x is (n,) with n >= 1 s.

    4 s windows (0.25 Hz bins) when the signal is long enough, parabolic interpolation
    of the peak to get below the bin width.
    """
    x = np.asarray(x, dtype=np.float64)
    nperseg = int(min(x.size, 4 * fs))
    f, p = signal.welch(x - x.mean(), fs=fs, nperseg=nperseg, nfft=max(nperseg, int(8 * fs)))
    inside = np.flatnonzero((f >= band[0]) & (f <= band[1]))
    k = inside[np.argmax(p[inside])]
    if 0 < k < p.size - 1:
        a, b, c = p[k - 1], p[k], p[k + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom != 0 else 0.0
        return float(f[k] + shift * (f[1] - f[0]))
    return float(f[k])


def dataset_stats(ds: Dataset) -> dict:
    """Counts, durations, label mix, per-segment ECG RMS (mV), aa RMS (uV) and f0 (Hz)."""
    lengths = np.array([s["length"] for s in ds.segments])
    ecg_rms, aa_rms, f0 = [], [], []
    for i in range(len(ds)):
        seg = ds.segment(i)
        ecg_rms.append(float(np.sqrt(np.mean(seg["ecg"].astype(np.float64) ** 2))))
        if seg["has_ground_truth"]:
            aa = seg["aa"].astype(np.float64)
            aa_rms.append(float(np.sqrt(np.mean(aa**2))) * 1e3)
            if aa.size >= ds.fs:
                f0.append(dominant_frequency(aa, ds.fs))
    return {
        "segments": len(ds),
        "records": len({(s["source"], s["record"]) for s in ds.segments}),
        "fs": ds.fs,
        "seconds_total": float(lengths.sum() / ds.fs),
        "seconds_min": float(lengths.min() / ds.fs),
        "seconds_max": float(lengths.max() / ds.fs),
        "sources": dict(Counter(s["source"] for s in ds.segments)),
        "labels": dict(Counter(str(s["label"]) for s in ds.segments)),
        "with_ground_truth": int(sum(s["has_ground_truth"] for s in ds.segments)),
        "ecg_rms_mv": ecg_rms,
        "aa_rms_uv": aa_rms,
        "f0_hz": f0,
        **left_out(ds.manifest),
    }


def left_out(manifest: dict) -> dict:
    """What the import left out: records skipped and segments rejected, counted by reason."""
    from afkd.training.data.segment_quality import reason_kind

    rejected = [r for r in manifest.get("rejected_segments") or [] if isinstance(r, dict)]
    return {"skipped_records": len(manifest.get("skipped_records") or []),
            "rejected_segments": dict(Counter(reason_kind(str(r.get("reason", "?"))) for r in rejected))}


def summary_lines(stats: dict) -> list[str]:
    def spread(values, unit, digits=1):
        if not values:
            return "-"
        q = np.percentile(values, [0, 50, 100])
        return f"min {q[0]:.{digits}f} / median {q[1]:.{digits}f} / max {q[2]:.{digits}f} {unit}"

    return [
        f"segments: {stats['segments']} from {stats['records']} records at {stats['fs']:g} Hz",
        f"duration: {stats['seconds_total']:.1f} s total, segments {stats['seconds_min']:.1f}-"
        f"{stats['seconds_max']:.1f} s",
        "sources: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["sources"].items())),
        "labels: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["labels"].items())),
        f"ground truth: {stats['with_ground_truth']} segments",
        f"ecg RMS: {spread(stats['ecg_rms_mv'], 'mV', 3)}",
        f"f-wave RMS: {spread(stats['aa_rms_uv'], 'uV')}",
        f"f-wave f0 (Welch peak {F0_BAND_HZ[0]:g}-{F0_BAND_HZ[1]:g} Hz): {spread(stats['f0_hz'], 'Hz', 2)}",
        f"left out at import: {stats['skipped_records']} records, "
        f"{sum(stats['rejected_segments'].values())} segments"
        + "".join(f", {k} {v}" for k, v in sorted(stats["rejected_segments"].items())),
    ]


def write_histograms(stats: dict, png: str | os.PathLike, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display; files only
    import matplotlib.pyplot as plt

    panels = [("ECG RMS per segment", "mV", stats["ecg_rms_mv"]),
              ("f-wave RMS per segment", "uV", stats["aa_rms_uv"]),
              ("f-wave dominant frequency", "Hz", stats["f0_hz"])]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, (name, unit, values) in zip(axes, panels):
        if values:
            ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#4477aa")
        else:
            ax.text(0.5, 0.5, "no ground truth", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(unit)
    axes[0].set_ylabel("segments")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(png, buf.getvalue())
    return Path(png)
