"""Plots of the validation report as base64 PNG data URIs (matplotlib Agg, no display, no files).

Every function returns ``"data:image/png;base64,..."`` so the HTML page carries its images inline
and opens anywhere, offline, as one file.
"""

from __future__ import annotations

import base64
import io
from typing import Mapping, Sequence

import numpy as np

from afkd.training.metrics import SC_BAND_HZ, SC_OVERLAP, SC_WINDOW_SECONDS

PLOT_SECONDS = 5.0  # time plots show the first 5 s: at page width a longer trace hides the f-waves
COLORS = {"ecg": "#333333", "firmware": "#1f6fb4", "reference": "#e07b00", "truth": "#2a9d55", "va": "#9b3f8f"}


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width, height), dpi=100)


def _to_data_uri(plt, fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _arr(trace: Mapping, key: str) -> np.ndarray | None:
    value = trace.get(key)
    return None if value is None else np.asarray(value, dtype=np.float64).ravel()


def signals_plot(trace: Mapping) -> str:
    """Input ECG, AA (firmware vs reference and ground truth) and VA of one segment, first 10 s.

    ``trace``: ``id``, ``fs`` (Hz) and 1-D mV arrays ``ecg``, ``aa``, ``va``; optional
    ``aa_reference`` (e.g. PyTorch float), ``aa_true``, ``va_true``.
    """
    fs = float(trace["fs"])
    n = int(min(PLOT_SECONDS * fs, len(trace["aa"])))
    t = np.arange(n) / fs
    plt, fig = _figure(11, 6.5)
    axes = fig.subplots(3, 1, sharex=True)
    ecg = _arr(trace, "ecg")
    if ecg is not None:
        axes[0].plot(t, ecg[:n], color=COLORS["ecg"], lw=0.8, label="input ECG")
    lag = int(trace.get("lag") or 0)
    shown = f", delayed {1e3 * lag / fs:g} ms to output time" if lag else ""
    axes[0].set_title(f"segment {trace.get('id')}: input ECG (first {n / fs:g} s{shown})")
    for key, label, color, width in (("aa_true", "AA ground truth", COLORS["truth"], 1.4),
                                     ("aa_reference", "AA reference", COLORS["reference"], 1.2),
                                     ("aa", "AA firmware", COLORS["firmware"], 0.9)):
        x = _arr(trace, key)
        if x is not None:
            axes[1].plot(t, x[:n], color=color, lw=width, label=label)
    axes[1].set_title("atrial activity (f-waves in AF, F waves in flutter, P waves in sinus rhythm)")
    for key, label, color in (("va_true", "VA ground truth", COLORS["truth"]), ("va", "VA firmware", COLORS["va"])):
        x = _arr(trace, key)
        if x is not None:
            axes[2].plot(t, x[:n], color=color, lw=0.8, label=label)
    axes[2].set_title("ventricular activity (QRST)")
    axes[2].set_xlabel("time (s)")
    for ax in axes:
        ax.set_ylabel("mV")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=8)
    return _to_data_uri(plt, fig)


def _welch(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy import signal

    nperseg = min(x.size, int(round(SC_WINDOW_SECONDS * fs)))
    return signal.welch(x, fs=fs, window="hann", nperseg=nperseg, noverlap=int(nperseg * SC_OVERLAP))


def spectrum_plot(trace: Mapping) -> str:
    """Welch PSD of the AA outputs (the SC estimator's settings) with the 3-12 Hz band shaded."""
    fs = float(trace["fs"])
    plt, fig = _figure(11, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    ax.axvspan(*SC_BAND_HZ, color="#ffe08a", alpha=0.6, label=f"SC band {SC_BAND_HZ[0]:g}-{SC_BAND_HZ[1]:g} Hz")
    for key, label, color in (("aa_true", "AA ground truth", COLORS["truth"]),
                              ("aa_reference", "AA reference", COLORS["reference"]),
                              ("aa", "AA firmware", COLORS["firmware"]), ("ecg", "input ECG", COLORS["ecg"])):
        x = _arr(trace, key)
        if x is not None:
            x = x[np.isfinite(x)]  # the truth of a model with lookahead starts that late (NaN before)
        if x is not None and x.size >= 8:
            f, p = _welch(x, fs)
            ax.semilogy(f, np.maximum(p, 1e-30), color=color, lw=1.0, label=label)
    ax.set_xlim(0, min(40.0, fs / 2))
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, high * 1e-7), high)  # a clean synthetic truth has near-zero bins: keep 70 dB in view
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD (mV²/Hz)")
    ax.set_title(f"segment {trace.get('id')}: spectra")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper right", fontsize=8)
    return _to_data_uri(plt, fig)


def footprint_plot(footprint: Mapping) -> str | None:
    """Two stacked horizontal bars: flash and RAM, split by category (bytes)."""
    rows = [(name, footprint.get(name) or {}) for name in ("flash", "ram")]
    if not any(parts for _, parts in rows):
        return None
    plt, fig = _figure(11, 2.8)
    ax = fig.add_subplot(1, 1, 1)
    cmap = plt.get_cmap("tab10")
    labels_seen: dict[str, int] = {}
    for y, (region, parts) in enumerate(rows):
        left = 0
        for category, size in parts.items():
            if not size:
                continue
            index = labels_seen.setdefault(category, len(labels_seen))
            ax.barh(y, size, left=left, color=cmap(index % 10), edgecolor="white", label=category.replace("_", " "))
            if size > 0.06 * max(sum(v or 0 for v in parts.values()), 1):
                ax.text(left + size / 2, y, f"{size / 1024:.1f} KiB", ha="center", va="center", fontsize=8, color="white")
            left += size
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{r.upper()} {footprint.get(f'{r}_bytes', 0) or 0:,} B" for r, _ in rows])
    ax.set_xlabel("bytes")
    ax.set_title("footprint")
    ax.grid(alpha=0.3, axis="x")
    return _to_data_uri(plt, fig)


def report_plots(report: Mapping, traces: Sequence[Mapping], max_traces: int = 4) -> dict:
    """All plots for the page: ``{"footprint": uri|None, "segments": [{"id", "signals", "spectrum"}]}``."""
    return {
        "footprint": footprint_plot(report.get("footprint") or {}),
        "segments": [{"id": str(t.get("id")), "signals": signals_plot(t), "spectrum": spectrum_plot(t)}
                    for t in list(traces)[:max_traces]],
    }
