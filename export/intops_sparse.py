"""The compressed layout of pruned dense weights (``--weight-storage sparse``) and its flash cost.

A pointwise or encoder layer's int8 weights [rows][cols] are stored as, per row, W = ceil(cols/32)
bitmap words (bit k of word j: w[r][32j + k] != 0) and the nonzero weights in column order,
row after row (firmware/runtime/afkd_kernels.h, afkd_sparse_s8_params). It costs 4W bytes per
row plus one per nonzero weight, so it beats int8 storage (cols bytes a row) once about one
weight in eight is zero when cols is a multiple of 32, and gains the most at the 50-90 %
sparsity magnitude pruning leaves. The kernels skip the zero products; the sums, and so the
outputs, are the dense ones bit for bit.
"""

from __future__ import annotations

import numpy as np


def bitmap_words(cols: int) -> int:
    return -(-int(cols) // 32)


def compress(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bitmap uint32 [rows * W], nonzero values int8) of int8 ``weights`` [rows][cols]."""
    w = np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"dense weights must be 2-D, got shape {w.shape}")
    rows, cols = w.shape
    words = bitmap_words(cols)
    padded = np.zeros((rows, words * 32), bool)
    padded[:, :cols] = w != 0
    bits = padded.reshape(rows, words, 32).astype(np.uint64) << np.arange(32, dtype=np.uint64)
    bitmap = bits.sum(axis=2).astype(np.uint32).reshape(-1)
    return bitmap, w[w != 0].astype(np.int8)  # row-major order: row after row, columns ascending


def expand(bitmap: np.ndarray, values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The dense int8 [rows][cols] weights back from :func:`compress`'s arrays (for tests)."""
    words = bitmap_words(cols)
    bits = (np.asarray(bitmap, np.uint64).reshape(rows, words, 1) >> np.arange(32, dtype=np.uint64)) & 1
    mask = bits.reshape(rows, words * 32)[:, :cols].astype(bool)
    if int(mask.sum()) != len(values):
        raise ValueError(f"bitmap has {int(mask.sum())} set bits for {len(values)} values")
    dense = np.zeros((rows, cols), np.int8)
    dense[mask] = values
    return dense


def sparse_bytes(weights: np.ndarray) -> int:
    """Flash bytes of the compressed layout: the bitmap words and one byte per nonzero weight."""
    rows, cols = np.shape(weights)
    return 4 * rows * bitmap_words(cols) + int(np.count_nonzero(weights))


def sparse_pays(weights: np.ndarray) -> bool:
    """Whether the compressed layout takes fewer flash bytes than int8 storage (rows * cols)."""
    return sparse_bytes(weights) < int(np.size(weights))
