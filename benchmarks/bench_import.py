"""Peak memory of ``afkd data import`` on a long record: a printed table.

    python -m benchmarks.bench_import [--megabytes 200] [--work build/bench_import]

Writes a two-lead format-16 record at 360 Hz whose .dat is ``--megabytes`` large (200 MB:
50 M samples a lead, 38.6 h), imports one lead at 250 Hz in a child process, and prints its
peak resident memory (ru_maxrss) and time, beside the size of the .dat and of the dataset.
Records of at least long_records.LONG_RECORD samples are read and processed a chunk at a
time, so the peak should stay near the interpreter's own (~200 MB), whatever the length.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def write_long_record(folder: Path, megabytes: float) -> Path:
    from afkd.training.data.synth import synthesize_record

    folder.mkdir(parents=True, exist_ok=True)
    n = int(megabytes * 1e6 / 4)  # 2 leads x 2 bytes
    minute = np.round(synthesize_record(0, 60.0, 360.0, seed=3)["ecg"] * 200).astype("<i2")
    with open(folder / "long.dat", "wb") as f:
        for start in range(0, n, minute.size):
            k = min(minute.size, n - start)
            f.write(np.stack([minute[:k], -minute[:k]], axis=1).tobytes())
    (folder / "long.hea").write_text(f"long 2 360 {n}\nlong.dat 16 200/mV 16 0 0 0 0 MLII\n"
                                     "long.dat 16 200/mV 16 0 0 0 0 V5\n")
    return folder / "long"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=200.0)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench_import")
    args = parser.parse_args()
    record = write_long_record(args.work / "records", args.megabytes)
    out = args.work / "dataset"
    if out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "afkd", "data", "import", str(record), "--out", str(out)],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(result.stderr)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
    dat_mb = record.with_suffix(".dat").stat().st_size / 1e6
    ecg_mb = (out / "ecg.npy").stat().st_size / 1e6
    print("| .dat | samples a lead | dataset ecg.npy | peak RSS of the import | time |")
    print("|---|---|---|---|---|")
    print(f"| {dat_mb:.0f} MB | {int(dat_mb * 1e6 / 4):,} | {ecg_mb:.0f} MB | {peak_mb:.0f} MB | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
