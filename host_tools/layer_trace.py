"""Find the first layer where the generated C differs from the reference.

When the firmware is not bit-exact, ``afkd validate`` rebuilds the exported project for the host
with ``-DAFKD_TRACE=ON``: the generated step then hands every layer's output frame to
``afkd_trace_layer`` (firmware/boards/host/afkd_trace_host.c), which appends it to
``$AFKD_TRACE_FILE``. The same segment goes through the NumPy streaming reference with a
per-layer dump; the first layer whose frames differ is where to look.

If the trace build matches layer for layer, the generated C is right and the difference lies in
the binary that was tested (a changed byte, another compiler, a target-specific kernel path).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from afkd.errors import AfkdError
from afkd.host_tools.compare import ExactComparison, first_mismatching_layer


def build_trace_firmware(project: Path) -> Path:
    """Configure and build the host trace variant of an exported project; returns the program."""
    project = Path(project).resolve()
    if not (project / "CMakeLists.txt").is_file():
        raise AfkdError(f"{project}: no CMakeLists.txt to rebuild a trace build from")
    build = project / "build-trace"
    for command in (["cmake", "-S", str(project), "-B", str(build), "-DAFKD_BOARD=host", "-DAFKD_TRACE=ON"],
                    ["cmake", "--build", str(build), "-j2"]):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
            raise AfkdError(f"{project}: the trace build failed: {' '.join(command)}\n{tail}")
    return build / "firmware"


def read_trace(path: Path, layer_names: list[str], dtype: np.dtype) -> dict[str, np.ndarray]:
    """{layer name: (steps, values)} from the records the trace build wrote."""
    data = Path(path).read_bytes()
    frames: dict[int, list[np.ndarray]] = {}
    offset = 0
    while offset + 4 <= len(data):
        index = int.from_bytes(data[offset:offset + 2], "little")
        size = int.from_bytes(data[offset + 2:offset + 4], "little")
        offset += 4
        if offset + size > len(data) or index >= len(layer_names):
            raise AfkdError(f"{path}: a truncated or foreign trace record at byte {offset - 4}")
        frames.setdefault(index, []).append(np.frombuffer(data[offset:offset + size], dtype=dtype).copy())
        offset += size
    return {layer_names[i]: np.stack(v) for i, v in sorted(frames.items())}


@contextlib.contextmanager
def _environment(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def first_differing_layer(project: Path, stream_ref, samples: np.ndarray, timeout_s: float = 20.0) -> ExactComparison:
    """Stream ``samples`` through the host trace build and the NumPy reference; compare layer by layer."""
    from afkd.host_tools.runners import open_runner

    program = build_trace_firmware(project)
    plan = stream_ref.plan
    dtype = np.dtype(np.int8 if plan.mode == "int8" else np.int16)
    with tempfile.TemporaryDirectory(prefix="afkd-trace-") as scratch:
        trace_file = Path(scratch) / "layers.bin"
        with _environment("AFKD_TRACE_FILE", str(trace_file)):
            with open_runner("host", program, timeout_s=timeout_s) as runner:
                runner.reset()
                runner.run(samples)
        actual = read_trace(trace_file, [layer.name for layer in plan.layers], dtype)
    expected: dict[str, list] = {}
    stream_ref.reset()
    for t in range(samples.size // plan.hop):
        stream_ref.step(samples[t * plan.hop:(t + 1) * plan.hop], expected)
    return first_mismatching_layer(actual, {k: np.stack(v).astype(dtype) for k, v in expected.items()})
