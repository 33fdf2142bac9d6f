"""The CinC 2017 records held out for an independent evaluation: no training command may see one.

``cinc2017_heldout.txt`` (shipped in the package; a list of names, not data) names 1,000 of
the 8,528 training-set records. Every training command calls :func:`refuse_heldout` on its
datasets; ``afkd data import --skip-heldout`` leaves them out when importing the full set.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from afkd.errors import AfkdError

LIST_NAME = "cinc2017_heldout.txt"


@lru_cache(maxsize=1)
def heldout_records() -> frozenset[str]:
    """The 1,000 held-out record names (``A00002``, ...)."""
    text = resources.files("afkd.training.data").joinpath(LIST_NAME).read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_heldout(source: str, record: str) -> bool:
    """True for a record named on the list (MIT-BIH and synthetic names never collide with it)."""
    return source != "synthetic" and Path(str(record)).name in heldout_records()


def refuse_heldout(segments, where: str) -> None:
    """AfkdError naming the first held-out record among dataset ``segments`` (dicts)."""
    for seg in segments:
        if is_heldout(seg.get("source", ""), seg.get("record", "")):
            raise AfkdError(f"{where}: record {seg['record']} is on the CinC 2017 held-out list "
                            "(never train, tune or select on it; import with --skip-heldout)")
