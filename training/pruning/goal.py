"""``--goal METRIC:BOUND``: how much a pruned model may lose against the unpruned one.

``<metric>_drop:<bound>`` allows the pruned model's ``<metric>`` (higher is better) to fall at
most ``bound`` below the unpruned model's; ``<metric>_rise:<bound>`` allows a lower-is-better
metric to rise at most ``bound``. A unit suffix after ``_drop`` names the metric's own unit:
``snr_aa_drop_db:0.2`` reads metric ``snr_aa_db``; ``f1_drop:0.01`` reads ``f1``. Both models
are measured on the same data by the same evaluate callback, so the comparison is paired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from afkd.errors import AfkdError


@dataclass(frozen=True)
class Goal:
    metric: str  # the key in the evaluate callback's dict
    bound: float  # the largest allowed loss
    higher_is_better: bool
    text: str  # as given

    @classmethod
    def parse(cls, text: str) -> "Goal":
        name, sep, value = text.partition(":")
        try:
            bound = float(value)
        except ValueError:
            bound = math.nan
        if not sep or not math.isfinite(bound) or bound < 0:
            raise AfkdError(f"--goal {text!r}: write METRIC_drop:BOUND or METRIC_rise:BOUND with a bound >= 0 "
                            "(e.g. snr_aa_drop_db:0.2, f1_drop:0.01)")
        for word, higher in (("_drop", True), ("_rise", False)):
            head, found, unit = name.partition(word)
            if found and head:
                metric = head + unit  # snr_aa + _db
                return cls(metric, bound, higher, text)
        raise AfkdError(f"--goal {text!r}: the name must contain _drop (higher is better) or _rise (lower is better)")

    def loss(self, baseline: dict, metrics: dict) -> float:
        """How much worse ``metrics`` is than ``baseline`` (positive: worse)."""
        for source, where in ((baseline, "the unpruned model"), (metrics, "the pruned model")):
            if source.get(self.metric) is None:
                known = ", ".join(sorted(k for k, v in source.items() if isinstance(v, (int, float))))
                raise AfkdError(f"--goal {self.text}: {where} has no metric {self.metric!r} (it has: {known})")
        diff = float(baseline[self.metric]) - float(metrics[self.metric])
        return diff if self.higher_is_better else -diff

    def met(self, baseline: dict, metrics: dict) -> bool:
        return self.loss(baseline, metrics) <= self.bound
