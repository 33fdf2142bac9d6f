"""``make bench``: every benchmark table, one after another (printed, not timed tests)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("benchmarks.bench_models", "benchmarks.bench_rhythms", "benchmarks.bench_lookahead", "benchmarks.bench_export",
              "benchmarks.bench_firmware", "benchmarks.bench_sparse", "benchmarks.bench_import",
              "benchmarks.bench_classifiers", "benchmarks.bench_classifier_firmware")


def main() -> None:
    for name in BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        module = importlib.import_module(name)
        sys.argv = [name]
        module.main()


if __name__ == "__main__":
    main()
