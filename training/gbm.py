"""Gradient-boosted trees for multiclass problems, in NumPy (the classical baseline's learner).

The method of histogram gradient boosting (LightGBM, scikit-learn's HistGradientBoosting):
features are cut into at most ``bins`` quantile bins once; each round fits, for every class
k, one regression tree to the softmax loss's gradient g = p_k - y_k and hessian
h = p_k (1 - p_k) (weighted per example), choosing splits by the second-order gain::

    gain = G_L^2 / (H_L + lambda) + G_R^2 / (H_R + lambda) - G^2 / (H + lambda)

and leaves worth -G / (H + lambda), shrunk by the learning rate. No early stopping: the
number of rounds is a setting, so nothing is tuned on the data the baseline is scored on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GBMSettings:
    rounds: int = 300
    learning_rate: float = 0.05
    max_depth: int = 4
    min_leaf: int = 20  # examples a leaf needs at least
    l2: float = 1.0  # lambda
    bins: int = 64


class _Tree:
    """Arrays of one fitted tree: node -> (feature, bin threshold, left, right) or leaf value."""

    def __init__(self):
        self.feature, self.threshold, self.left, self.right, self.value = [], [], [], [], []

    def add(self, value: float = 0.0) -> int:
        for column, v in ((self.feature, -1), (self.threshold, 0), (self.left, -1), (self.right, -1),
                          (self.value, value)):
            column.append(v)
        return len(self.value) - 1

    def predict(self, binned: np.ndarray) -> np.ndarray:
        node = np.zeros(len(binned), dtype=np.int64)
        feature, threshold = np.array(self.feature), np.array(self.threshold)
        left, right, value = np.array(self.left), np.array(self.right), np.array(self.value)
        while True:
            inner = feature[node] >= 0
            if not inner.any():
                return value[node]
            rows = np.flatnonzero(inner)
            goes_left = binned[rows, feature[node[rows]]] <= threshold[node[rows]]
            node[rows] = np.where(goes_left, left[node[rows]], right[node[rows]])


class GradientBoosting:
    def __init__(self, settings: GBMSettings = GBMSettings()):
        self.settings = settings

    def _bin(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=np.int64)
        for j, edges in enumerate(self.edges):
            out[:, j] = np.searchsorted(edges, x[:, j], side="right")
        return out

    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int, weights: np.ndarray | None = None) -> "GradientBoosting":
        s = self.settings
        x = np.nan_to_num(np.asarray(x, dtype=np.float64))
        quantiles = np.linspace(0, 1, s.bins + 1)[1:-1]
        self.edges = [np.unique(np.quantile(x[:, j], quantiles)) for j in range(x.shape[1])]
        binned = self._bin(x)
        weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
        onehot = np.eye(n_classes)[y]
        prior = (onehot * weights[:, None]).sum(0) / weights.sum()
        self.base = np.log(np.clip(prior, 1e-6, None))
        scores = np.tile(self.base, (len(y), 1))
        self.trees: list[list[_Tree]] = []
        for _ in range(s.rounds):
            p = np.exp(scores - scores.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            round_trees = []
            for k in range(n_classes):
                g = (p[:, k] - onehot[:, k]) * weights
                h = np.maximum(p[:, k] * (1 - p[:, k]), 1e-6) * weights
                tree = self._fit_tree(binned, g, h)
                scores[:, k] += tree.predict(binned)
                round_trees.append(tree)
            self.trees.append(round_trees)
        return self

    def _fit_tree(self, binned: np.ndarray, g: np.ndarray, h: np.ndarray) -> _Tree:
        s = self.settings
        n_features, width = binned.shape[1], s.bins + 1
        offsets = np.arange(n_features) * width
        tree = _Tree()
        stack = [(tree.add(), np.arange(len(g)), 0)]
        while stack:
            node, rows, depth = stack.pop()
            G, H = g[rows].sum(), h[rows].sum()
            tree.value[node] = -s.learning_rate * G / (H + s.l2)
            if depth >= s.max_depth or len(rows) < 2 * s.min_leaf:
                continue
            flat = (binned[rows] + offsets).ravel()
            hist_g = np.bincount(flat, np.repeat(g[rows], n_features), n_features * width).reshape(n_features, width)
            hist_h = np.bincount(flat, np.repeat(h[rows], n_features), n_features * width).reshape(n_features, width)
            hist_n = np.bincount(flat, minlength=n_features * width).reshape(n_features, width)
            GL, HL, NL = hist_g.cumsum(1), hist_h.cumsum(1), hist_n.cumsum(1)
            gain = GL**2 / (HL + s.l2) + (G - GL) ** 2 / (H - HL + s.l2) - G**2 / (H + s.l2)
            gain[(NL < s.min_leaf) | (len(rows) - NL < s.min_leaf)] = -np.inf
            feature, threshold = np.unravel_index(np.argmax(gain), gain.shape)
            if not np.isfinite(gain[feature, threshold]) or gain[feature, threshold] <= 1e-12:
                continue
            goes_left = binned[rows, feature] <= threshold
            tree.feature[node], tree.threshold[node] = int(feature), int(threshold)
            tree.left[node], tree.right[node] = tree.add(), tree.add()
            stack.append((tree.left[node], rows[goes_left], depth + 1))
            stack.append((tree.right[node], rows[~goes_left], depth + 1))
        return tree

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        binned = self._bin(np.nan_to_num(np.asarray(x, dtype=np.float64)))
        scores = np.tile(self.base, (len(binned), 1))
        for round_trees in self.trees:
            for k, tree in enumerate(round_trees):
                scores[:, k] += tree.predict(binned)
        return scores

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.decision_function(x).argmax(axis=1)
