"""Fold BatchNorm before export (the folding itself lives in :mod:`afkd.training.folding`).

Quantization-aware training folds the same way before it trains, so the function sits in the
training room and the exporter uses it from there.
"""

from __future__ import annotations

from afkd.training.folding import fold_batchnorm
from afkd.training.model import DTFENet

__all__ = ["fold_batchnorm", "load_folded"]


def load_folded(checkpoint) -> tuple[DTFENet, DTFENet]:
    """Load a checkpoint (AfkdError on any problem) -> (model, folded model), both eval mode."""
    from afkd.training.checkpoint import load_checkpoint

    model, _meta = load_checkpoint(checkpoint)
    return model, fold_batchnorm(model)
