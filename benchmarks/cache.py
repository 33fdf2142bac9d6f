"""Benchmark results kept per (model file, dataset), keyed by the file's content.

The tables evaluate many models on the same data sets; when one model changes, re-running a
benchmark evaluates that model alone. A cached result is the JSON of what was computed, in
``WORK/cache/<dataset>_<sha256 of the checkpoint, 16 hex>.json`` (``abs`` for the method).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable


def cached(work: Path, item: str, data: Path, tag: str, compute: Callable[[], object]):
    """``compute()`` for (checkpoint path or "abs", dataset ``data``), from the cache when there."""
    key = "abs" if item == "abs" else hashlib.sha256(Path(item).read_bytes()).hexdigest()[:16]
    path = work / "cache" / f"{tag}_{data.name}_{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, default=float))
    return result
