"""A training run's record: log.json, log.csv and loss.png in the run directory.

One row per epoch (plain floats). All three files are rewritten whole after every epoch
through atomic writes, so a run stopped at any moment leaves readable files.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from afkd.atomic import atomic_write_bytes, atomic_write_text


def read_history(out_dir: Path) -> list[dict[str, Any]]:
    """Epoch rows of an earlier run in ``out_dir`` (empty when none or unreadable)."""
    try:
        data = json.loads((out_dir / "log.json").read_text())
        return [row for row in data.get("epochs", []) if isinstance(row, dict)]
    except (OSError, ValueError):
        return []


def write_logs(out_dir: Path, run: dict[str, Any], epochs: list[dict[str, Any]], score: str = "snr_aa_db") -> None:
    atomic_write_text(out_dir / "log.json", json.dumps({"run": run, "epochs": epochs}, indent=1) + "\n")
    columns: list[str] = []
    for row in epochs:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(epochs)
    atomic_write_text(out_dir / "log.csv", buffer.getvalue())
    atomic_write_bytes(out_dir / "loss.png", loss_plot_png(epochs, run.get("title", ""), score))


SCORE_LABELS = {"snr_aa_db": "validation SNR_AA (dB)"}


def loss_plot_png(epochs: list[dict[str, Any]], title: str, score: str = "snr_aa_db") -> bytes:
    """Training loss per epoch (left axis, log scale) and the validation score (right axis:
    SNR_AA for the f-wave task, the challenge score or macro F1 for classifiers)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    from matplotlib import pyplot as plt

    x = [row["epoch"] for row in epochs]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(x, [row.get("train_loss") for row in epochs], "o-", color="tab:blue", label="train loss")
    if any(row.get("train_task_loss") != row.get("train_loss") for row in epochs):
        ax.plot(x, [row.get("train_task_loss") for row in epochs], "s--", color="tab:cyan", label="task loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if all((row.get("train_loss") or 0) > 0 for row in epochs):
        ax.set_yscale("log")
    ax.legend(loc="upper left")
    key = f"val_{score}"
    if any(row.get(key) is not None for row in epochs):
        right = ax.twinx()
        label = "val SNR_AA" if score == "snr_aa_db" else f"val {score.replace('_', ' ')}"
        right.plot(x, [row.get(key) for row in epochs], "^-", color="tab:red", label=label)
        right.set_ylabel(SCORE_LABELS.get(score, f"validation {score.replace('_', ' ')}"))
        right.legend(loc="upper right")
    ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
