"""Classification scores: confusion matrix, F1 per class, the CinC 2017 challenge score.

For class c, with the confusion matrix ``C[true, predicted]``::

    F1_c = 2 C[c, c] / (sum_j C[c, j] + sum_i C[i, c])     (row total + column total)

which is the challenge's own formula (Clifford et al. 2017). The challenge score is the mean
of F1_N, F1_A and F1_O; the noisy class (~) is scored by nobody. A class with no true and no
predicted members has no F1 (None), and is left out of the macro mean.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

CHALLENGE_CLASSES = ("N", "A", "O")


def confusion_matrix(true: Sequence[int], predicted: Sequence[int], n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts, rows = true class, columns = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def f1_per_class(matrix: np.ndarray) -> list[float | None]:
    out = []
    for c in range(matrix.shape[0]):
        denominator = matrix[c, :].sum() + matrix[:, c].sum()
        out.append(None if denominator == 0 else float(2 * matrix[c, c] / denominator))
    return out


def classification_summary(true: Sequence[int], predicted: Sequence[int], classes: Sequence[str]) -> dict:
    """Accuracy, F1 per class, macro F1, the challenge score when N, A and O are classes,
    sensitivity (recall) and positive predictive value per class, and the confusion matrix."""
    classes = list(classes)
    matrix = confusion_matrix(true, predicted, len(classes))
    f1 = f1_per_class(matrix)
    rows, cols = matrix.sum(axis=1), matrix.sum(axis=0)
    present = [v for v in f1 if v is not None]
    out = {
        "count": int(matrix.sum()),
        "accuracy": float(np.trace(matrix) / matrix.sum()) if matrix.sum() else None,
        "macro_f1": float(np.mean(present)) if present else None,
        "f1": dict(zip(classes, f1)),
        "sensitivity": {c: (float(matrix[i, i] / rows[i]) if rows[i] else None) for i, c in enumerate(classes)},
        "ppv": {c: (float(matrix[i, i] / cols[i]) if cols[i] else None) for i, c in enumerate(classes)},
        "support": {c: int(rows[i]) for i, c in enumerate(classes)},
        "classes": classes,
        "confusion": matrix.tolist(),
    }
    if all(c in classes for c in CHALLENGE_CLASSES):
        scores = [f1[classes.index(c)] for c in CHALLENGE_CLASSES]
        out["challenge_score"] = None if None in scores else float(np.mean(scores))
    return out


def format_confusion(summary: dict) -> list[str]:
    """The confusion matrix as text lines (rows true, columns predicted)."""
    classes = summary["classes"]
    width = max(6, *(len(str(v)) + 1 for row in summary["confusion"] for v in row))
    lines = ["true \\ predicted".ljust(16) + "".join(c.rjust(width) for c in classes)]
    for c, row in zip(classes, summary["confusion"]):
        lines.append(f"  {c}".ljust(16) + "".join(str(v).rjust(width) for v in row))
    return lines


def format_scores(summary: dict) -> str:
    """One line: accuracy, F1 per class, challenge score when present."""
    def pct(v):
        return "-" if v is None else f"{v:.3f}"

    parts = [f"accuracy {pct(summary['accuracy'])}"]
    parts += [f"F1 {c} {pct(v)}" for c, v in summary["f1"].items()]
    if "challenge_score" in summary:
        parts.append(f"challenge score {pct(summary['challenge_score'])}")
    return ", ".join(parts)
