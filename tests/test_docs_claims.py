"""Figures the prose states are the figures the tables measured.

models/README.md's quantization table is printed by benchmarks/bench_export.py; README.md and
docs/design.md quote its worst TFLM-vs-reference difference. Change the table, and the
sentences must follow.
"""

import re

from tests.conftest import REPO


def _measured_worst_lsb() -> int:
    text = (REPO / "models" / "README.md").read_text()
    cells = re.findall(r"\| (bit-exact|max (\d+) LSB) \|\n", text)
    assert cells, "models/README.md has no TFLM vs TFLite reference column"
    return max(int(lsb) if lsb else 0 for _, lsb in cells)


def test_readme_and_design_quote_the_measured_worst_difference():
    worst = _measured_worst_lsb()
    for doc in ("README.md", "docs/design.md"):
        text = " ".join((REPO / doc).read_text().split())
        quoted = re.findall(r"up to (\d+) LSB for the shipped students", text)
        assert quoted == [str(worst)], f"{doc} says {quoted}, models/README.md measured {worst} LSB"
        assert not re.search(r"differ by 1 LSB", text), doc
