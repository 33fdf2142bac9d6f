"""The top-level CMakeLists.txt: the runtime library on a fresh clone (every kernel with
-Wall -Wextra -Werror), and the harness firmware for a generated model on host, STM32F4 and
MPS2-AN386 (the host build checked bit for bit against the Python streaming reference)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from afkd.export.codegen import generate_model_sources
from afkd.export.plan import plan_from_tflite
from afkd.export.stream_ref import StreamingReference
from afkd.host_tools.runners import open_runner
from tests.conftest import REPO, require_tool
from tiny_tflite import tiny_tflite

TOOLCHAIN = REPO / "firmware" / "cmake" / "arm-none-eabi-cortex-m4.cmake"
RUNTIME = REPO / "firmware" / "runtime"


def cmake(build: Path, *options: str) -> subprocess.CompletedProcess:
    """Configure the repository into ``build`` with ``options``, then build (stops at the first failure)."""
    require_tool("cmake")
    configure = subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), *options],
                               capture_output=True, text=True)
    if configure.returncode:
        return configure
    return subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{' '.join(result.args)}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"


@pytest.fixture(scope="module", params=["int8", "int16x8", "int16x8/int8-weights", "int8/int8-weights"])
def model(request, tmp_path_factory) -> dict:
    """A generated tiny model: int8 and int16x8 with int16-stored weights (the default), and each
    with the compact int8 weight storage (`--weight-storage int8`)."""
    quant, _, storage = request.param.partition("/")
    root = tmp_path_factory.mktemp(f"top_{quant}_{storage or 'default'}")
    tflite = tiny_tflite(quant)
    context = generate_model_sources(tflite, root / "model", "tiny", 250, f"tiny_{quant}.tflite",
                                     weight_storage="int8" if storage else "int16")
    # Only the default 16x8 model may build its kernels without their int8-weight paths.
    assert context["weights16_only"] == (request.param == "int16x8")
    # Only the int8-storage models may build their int8 kernels without the int16-weight path.
    assert context["weights8_only"] == bool(storage)
    assert context["s8_weights16_only"] == (not storage)
    return {"dir": root / "model", "plan": plan_from_tflite(tflite, "tiny"), "quant": quant,
            "storage": "int8" if storage else "int16"}


@pytest.mark.slow
def test_fresh_clone_builds_every_kernel_with_warnings_as_errors(tmp_path):
    result = cmake(tmp_path, "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON")
    assert_ok(result)
    assert (tmp_path / "libafkd_runtime.a").is_file()
    commands = {Path(entry["file"]).name: entry["command"]
                for entry in json.loads((tmp_path / "compile_commands.json").read_text())}
    kernels = sorted(p.name for p in RUNTIME.glob("afkd_*_*.c") if p.stem.rsplit("_", 1)[-1] in ("s8", "s16"))
    assert kernels and set(kernels) <= set(commands), f"not compiled: {set(kernels) - set(commands)}"
    for name in kernels + ["afkd_protocol.c", "afkd_crc.c"]:
        flags = commands[name].split()
        assert {"-Wall", "-Wextra", "-Werror"} <= set(flags), f"{name}: {commands[name]}"
    members = subprocess.run(["ar", "t", str(tmp_path / "libafkd_runtime.a")], capture_output=True,
                             text=True, check=True).stdout.split()
    assert {f"{k}.o" for k in kernels} <= set(members)


def test_model_dir_without_generated_sources_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = cmake(tmp_path / "build", f"-DAFKD_MODEL_DIR={tmp_path / 'empty'}")
    assert result.returncode != 0 and "afkd_model_glue" in result.stderr


@pytest.mark.slow
def test_host_firmware_matches_streaming_reference(model, tmp_path):
    assert_ok(cmake(tmp_path, f"-DAFKD_MODEL_DIR={model['dir']}", "-DAFKD_BOARD=host"))
    # the top-level CMakeLists passes the model's layout switch on to the kernels
    weights16_only = "#define AFKD_MODEL_S16_WEIGHTS16_ONLY 1" in (model["dir"] / "afkd_model_glue.h").read_text()
    flags = "".join(p.read_text() for p in tmp_path.rglob("flags.make"))  # the compile definitions
    assert ("-DAFKD_S16_WEIGHTS16_ONLY=1" in flags) == weights16_only
    weights8_only = "#define AFKD_MODEL_S8_WEIGHTS8_ONLY 1" in (model["dir"] / "afkd_model_glue.h").read_text()
    assert ("-DAFKD_S8_WEIGHTS8_ONLY=1" in flags) == weights8_only == (model["storage"] == "int8")
    s8_weights16_only = "#define AFKD_MODEL_S8_WEIGHTS16_ONLY 1" in (model["dir"] / "afkd_model_glue.h").read_text()
    assert ("-DAFKD_S8_WEIGHTS16_ONLY=1" in flags) == s8_weights16_only == (model["storage"] == "int16")
    plan, hops = model["plan"], 12
    dtype = np.int8 if model["quant"] == "int8" else np.int16
    info = np.iinfo(dtype)
    x = np.random.default_rng(5).integers(info.min, info.max + 1, hops * plan.hop).astype(dtype)
    with open_runner("host", tmp_path, timeout_s=5) as runner:
        assert runner.info().hop == plan.hop and runner.info().model_name == f"tiny_{model['quant']}"
        aa, va, _ = runner.run(x)
    reference = StreamingReference(plan)
    want = [reference.step(hop) for hop in x.reshape(hops, plan.hop)]
    np.testing.assert_array_equal(aa, np.concatenate([w["aa"] for w in want]))
    np.testing.assert_array_equal(va, np.concatenate([w["va"] for w in want]))


@pytest.mark.slow
@pytest.mark.parametrize("board", ["stm32f4", "mps2_an386"])
def test_arm_firmware_builds_for_each_board(model, board, tmp_path):
    require_tool("arm-none-eabi-gcc")
    assert_ok(cmake(tmp_path, f"-DAFKD_MODEL_DIR={model['dir']}", f"-DAFKD_BOARD={board}",
                    f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}"))
    for name in ("firmware.elf", "firmware.bin", "firmware.hex", "firmware.map"):
        assert (tmp_path / name).is_file(), f"{board}: no {name}"
    header = (tmp_path / "firmware.elf").read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 40  # EM_ARM
    assert (tmp_path / "libafkd_runtime.a").is_file()  # the kernels cross-compile with -Werror too
