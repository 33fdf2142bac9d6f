"""End to end, as a user runs it: afkd export --target stm32|host -> afkd validate.

The generated firmware must equal the quantized model run in TFLM bit for bit, in both
quantization modes, on 20 segments, with the stream (step + flush) equal to the one-shot
model. validate exits 1 when one weight byte of the ELF is changed and 2 on bad input.
"""

import json
import shutil

import pytest
from elftools.elf.elffile import ELFFile

from afkd import cli
from afkd.training.checkpoint import save_checkpoint
from conftest import require_tool
from tiny_tflite import tiny_model

SECONDS = 2  # the exported model's fixed length; segments are as long


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    save_checkpoint(root / "tiny.pt", tiny_model())
    assert cli.main(["data", "synth", "--records", "20", "--seconds", str(SECONDS), "--seed", "9",
                     "--dataset", "--out", str(root / "data")]) == 0
    return root


def export(workdir, target: str, quant: str):
    out = workdir / f"{target}_{quant}"
    if not out.exists():
        require_tool("cmake")
        if target != "host":
            require_tool("arm-none-eabi-gcc")
        code = cli.main(["export", "--checkpoint", str(workdir / "tiny.pt"), "--target", target,
                         "--quant", quant, "--seconds", str(SECONDS), "--calibration-segments", "6",
                         "--validation-segments", "2", "--out", str(out)])
        assert code == 0
    return out


def validate(build, data, runner: str, tmp_path, *extra) -> tuple[int, dict | None]:
    report = tmp_path / "report.json"
    code = cli.main(["validate", "--build", str(build), "--runner", runner, "--data", str(data),
                     "--json", str(report), *extra])
    return code, (json.loads(report.read_text()) if report.exists() else None)


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["int16x8", "int8"])
def test_host_firmware_is_bit_exact_with_tflm_on_20_segments(workdir, tmp_path, quant):
    code, report = validate(export(workdir, "host", quant), workdir / "data", "host", tmp_path)
    assert code == 0, report["checks"]["failures"]
    assert report["segments"] and len(report["segments"]) == 20
    exact = report["fidelity"]["vs_tflite"]
    assert exact["bit_exact"] and exact["max_abs_lsb"] == 0 and exact["samples"] == 2 * 20 * SECONDS * 250
    assert report["fidelity"]["streaming"]["equal"]
    assert report["fidelity"]["vs_torch"]["snr_db"] > 20  # quantized vs float, tiny random model
    # Every input sample of the 20 segments was checked against the input's range.
    assert report["range"]["input_samples"] == 20 * SECONDS * 250 and report["range"]["input_range_mv"][0] < 0 < report["range"]["input_range_mv"][1]


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["int16x8", "int8"])
def test_stm32_elf_on_qemu_is_bit_exact_with_deterministic_counts(workdir, tmp_path, quant):
    require_tool("qemu-system-arm")
    build = export(workdir, "stm32", quant)
    code, report = validate(build, workdir / "data", "qemu", tmp_path)
    assert code == 0, report["checks"]["failures"]
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["target"] == "stm32f4"
    timing = report["timing"]
    assert timing["unit"] == "instructions" and timing["instructions_per_hop"] > timing["macs_per_hop"]
    footprint = report["footprint"]
    assert footprint["heap"]["uses_heap"] is False and footprint["flash_bytes"] > footprint["flash"]["weights"] > 0
    # Instruction counts under -icount are deterministic: a second run gives the same figures.
    _, again = validate(build, workdir / "data", "qemu", tmp_path, "--segments", "20")
    assert again["timing"]["per_hop_mean"] == timing["per_hop_mean"]


def _flip_weight_byte(elf_path, prefix="dtfe"):
    """Change one byte of the first weights array, in the ELF file itself."""
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        symbols = elf.get_section_by_name(".symtab")
        # int8 bytes or, with the default --weight-storage int16, sign-extended int16 values
        sym = next(s for s in symbols.iter_symbols()
                   if s.name in (f"{prefix}_aa_block0_in_weights", f"{prefix}_aa_block0_in_weights16"))
        address = sym["st_value"]
        section = next(s for s in elf.iter_sections()
                       if s["sh_addr"] <= address < s["sh_addr"] + s["sh_size"] and s["sh_type"] == "SHT_PROGBITS")
        offset = section["sh_offset"] + address - section["sh_addr"]
    data = bytearray(elf_path.read_bytes())
    data[offset] ^= 0x40
    elf_path.write_bytes(bytes(data))


@pytest.mark.slow
def test_validate_exits_1_when_one_weight_byte_of_the_elf_changes(workdir, tmp_path):
    require_tool("qemu-system-arm")
    build = tmp_path / "tampered"
    shutil.copytree(export(workdir, "stm32", "int8"), build)
    _flip_weight_byte(build / "build" / "firmware.elf")
    code, report = validate(build, workdir / "data", "qemu", tmp_path, "--segments", "2")
    assert code == 1
    exact = report["fidelity"]["vs_tflite"]
    assert not exact["bit_exact"] and exact["first"] is not None
    assert any(line.startswith("bit_exact") for line in report["checks"]["failures"])
    # The host trace build, made from the untouched sources, matches layer by layer: the report
    # says the difference is in the binary, not in the generated C.
    trace = report["meta"]["layer_trace"]
    assert trace["first_layer"] is None and "difference is in the tested binary" in trace["verdict"]


def _negate_weights_and_rebuild(build, array: str) -> None:
    """Negate every weight of the generated C array matching ``array`` (a regex), as a generator
    bug would, and rebuild the host project."""
    import re
    import subprocess

    source = build / "model" / "dtfe_weights.c"
    text = source.read_text()
    match = re.search(array + r"\[\d+\][^=]*= \{(.*?)\};", text, re.S)
    flipped = re.sub(r"-?\d+", lambda m: str(-max(int(m.group()), -127)), match.group(1))
    source.write_text(text[:match.start(1)] + flipped + text[match.end(1):])
    shutil.rmtree(build / "build")  # its CMake cache names the original folder
    subprocess.run(["cmake", "-S", str(build), "-B", str(build / "build"), "-DAFKD_BOARD=host"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(build / "build")], check=True, capture_output=True)


@pytest.mark.slow
def test_validate_names_the_first_layer_where_the_generated_c_differs(workdir, tmp_path):
    build = tmp_path / "wrong_c"
    shutil.copytree(export(workdir, "host", "int8"), build)
    _negate_weights_and_rebuild(build, r"dtfe_aa_block1_in_weights(?:16)?")
    code, report = validate(build, workdir / "data", "host", tmp_path, "--segments", "2")
    assert code == 1
    assert report["fidelity"]["vs_tflite"]["first_layer"] == "aa_block1_in"
    assert report["meta"]["layer_trace"]["verdict"].endswith("at layer aa_block1_in")


def test_validate_exits_2_for_a_missing_build(workdir, tmp_path, capsys):
    code, _ = validate(tmp_path / "nowhere", workdir / "data", "host", tmp_path)
    assert code == 2
    assert "nowhere: not an afkd firmware build" in capsys.readouterr().err


@pytest.mark.slow
def test_validate_exits_2_for_an_elf_of_another_target(workdir, tmp_path, capsys):
    build = tmp_path / "mislabelled"
    shutil.copytree(export(workdir, "host", "int8"), build)
    manifest = json.loads((build / "export.json").read_text())
    manifest["firmware"]["board"] = "stm32f4"  # says stm32, holds an x86-64 program
    (build / "export.json").write_text(json.dumps(manifest))
    code, _ = validate(build, workdir / "data", "qemu", tmp_path)
    assert code == 2
    assert "an ELF for another machine, but export.json says board stm32f4" in capsys.readouterr().err
    code, _ = validate(export(workdir, "host", "int8"), workdir / "data", "qemu", tmp_path)
    assert code == 2
    assert "the qemu runner needs stm32f4 or mps2_an386" in capsys.readouterr().err


@pytest.mark.slow
def test_validate_exits_2_for_a_dataset_at_another_rate(workdir, tmp_path, capsys):
    other = tmp_path / "data300"
    assert cli.main(["data", "synth", "--records", "2", "--seconds", "2", "--fs", "300", "--dataset",
                     "--out", str(other)]) == 0
    code, report = validate(export(workdir, "host", "int8"), other, "host", tmp_path)
    assert code == 2 and report is None
    assert "dataset at 300 Hz, the firmware runs at 250 Hz" in capsys.readouterr().err


@pytest.mark.slow
def test_qemu_target_runs_on_mps2_an386_bit_exact(workdir, tmp_path):
    require_tool("qemu-system-arm")
    build = export(workdir, "qemu", "int8")
    code, report = validate(build, workdir / "data", "qemu", tmp_path, "--segments", "4")
    assert code == 0, report["checks"]["failures"]
    assert report["target"] == "mps2_an386" and report["fidelity"]["vs_tflite"]["bit_exact"]


@pytest.mark.slow
def test_renode_target_writes_offline_platform_and_robot_test(workdir):
    build = export(workdir, "renode", "int16x8")
    repl = (build / "renode" / "afkd_stm32f407.repl").read_text()
    resc = (build / "renode" / "afkd.resc").read_text()
    robot = (build / "renode" / "afkd.robot").read_text()
    # Offline: no SVD download, and the instruction counter beside it.
    assert "ApplySVD" not in repl and "http" not in repl and (build / "renode" / "afkd_counter.repl").is_file()
    # Paths relative to the files, so the exported project can move; $ORIGIN only bare.
    assert "LoadELF $ORIGIN/../build/firmware.elf" in resc and "@$ORIGIN" not in resc and str(build) not in resc
    assert "${CURDIR}/../build/firmware.elf" in robot and "binaryMode=true" in robot
    # Every hop of the 4 s recording and the flush: 100 exchanges + 1.
    assert robot.count("\n    Exchange    ") == 101
    workflow = (build / "renode" / "afkd-renode.yml").read_text()
    assert f"PROJECT: {build.name}" in workflow and "renode/afkd.robot" in workflow


def _renode_test(robot, tmp_path):
    import os
    import subprocess

    own_tmp = tmp_path / "renode-tmp"  # Renode deletes every $TMPDIR/renode-* at start
    own_tmp.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["renode-test", "-r", str(tmp_path / "robot-results"), str(robot)], capture_output=True,
                          text=True, timeout=1200, env={**os.environ, "TMPDIR": str(own_tmp)})


@pytest.mark.slow
@pytest.mark.renode
def test_renode_robot_test_passes_and_fails_on_a_corrupted_weight(workdir, tmp_path):
    """The generated Robot test, run by renode-test as a user's CI runs it, passes on the
    exported firmware and fails once one weight array of the generated C is negated."""
    from conftest import require_renode

    from afkd.export.firmware_project import build_project

    require_renode()
    build = export(workdir, "renode", "int16x8")
    result = _renode_test(build / "renode" / "afkd.robot", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    corrupted = tmp_path / "corrupted"
    shutil.copytree(build, corrupted)
    source = corrupted / "model" / "dtfe_weights.c"
    text = source.read_text()
    import re

    match = re.search(r"dtfe_aa_block1_in_weights(?:16)?\[\d+\][^=]*= \{(.*?)\};", text, re.S)
    flipped = re.sub(r"-?\d+", lambda m: str(-max(int(m.group()), -127)), match.group(1))
    source.write_text(text[:match.start(1)] + flipped + text[match.end(1):])
    shutil.rmtree(corrupted / "build")
    build_project(corrupted, "stm32f4")
    result = _renode_test(corrupted / "renode" / "afkd.robot", tmp_path / "second")
    assert result.returncode != 0, "the Robot test passed a firmware with a corrupted weight"
    assert "Exchange" in result.stdout + (tmp_path / "second" / "robot-results" / "robot_output.xml").read_text()


@pytest.mark.slow
@pytest.mark.renode
def test_renode_runner_validates_bit_exact_with_qemus_instruction_counts(workdir, tmp_path):
    from conftest import require_renode

    require_renode()
    require_tool("qemu-system-arm")
    build = export(workdir, "renode", "int16x8")
    code, report = validate(build, workdir / "data", "renode", tmp_path, "--segments", "2")
    assert code == 0, report["checks"]["failures"]
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["timing"]["unit"] == "instructions"
    (tmp_path / "q").mkdir()
    _, qemu = validate(build, workdir / "data", "qemu", tmp_path / "q", "--segments", "2")
    for key in ("per_hop_mean", "per_hop_max", "instructions_per_hop"):
        assert report["timing"][key] == qemu["timing"][key], key


def export_board(workdir, board: str, target: str, quant: str = "int16x8", *extra):
    out = workdir / f"{board}_{quant}"
    if not out.exists():
        require_tool("cmake")
        require_tool("arm-none-eabi-gcc")
        code = cli.main(["export", "--checkpoint", str(workdir / "tiny.pt"), "--target", target, "--board", board,
                         "--quant", quant, "--seconds", str(SECONDS), "--calibration-segments", "6",
                         "--validation-segments", "2", "--out", str(out), *extra])
        assert code == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("board, runner", [("mps2_an500", "qemu"), ("mps2_an505", "qemu"), ("stm32f746", "renode"),
                                           ("stm32h743", "renode"), ("stm32l552", "renode"), ("stm32g071", "renode"),
                                           ("stm32l072", "renode")])
def test_every_emulated_board_validates_bit_exact_with_instruction_counts(workdir, tmp_path, board, runner):
    """The Cortex-M7, M33 and M0+ firmware (each its own core's code: the M0+ runs the portable
    C kernels) on the emulator that models its board: bit-exact, counts in instructions, the CPU
    load quoted at the board's clock."""
    from afkd.export.boards import BOARDS

    if runner == "renode":
        from conftest import require_renode

        require_renode()
    else:
        require_tool("qemu-system-arm")
    build = export_board(workdir, board, "qemu" if runner == "qemu" else "renode")
    code, report = validate(build, workdir / "data", runner, tmp_path, "--segments", "2")
    assert code == 0, report["checks"]["failures"]
    assert report["target"] == board and report["fidelity"]["vs_tflite"]["bit_exact"]
    timing = report["timing"]
    assert timing["unit"] == "instructions" and timing["clock_hz"] == BOARDS[board].clock_hz
    assert timing["cpu_load"] == pytest.approx(timing["per_hop_mean"] * 25 / BOARDS[board].clock_hz)


@pytest.mark.slow
@pytest.mark.parametrize("board, clock, uart", [("stm32l476", None, "usart1"), ("stm32u585", 4_000_000, None)])
def test_the_boards_no_emulator_models_build(workdir, board, clock, uart):
    from afkd.export.boards import BOARDS

    extra = ([] if clock is None else ["--clock-hz", str(clock)]) + ([] if uart is None else ["--uart", uart])
    build = export_board(workdir, board, "stm32", "int16x8", *extra)
    manifest = json.loads((build / "export.json").read_text())["firmware"]
    assert manifest["board"] == board and manifest["clock_hz"] == (clock or BOARDS[board].clock_hz)
    assert manifest["uart"] == (uart or BOARDS[board].uarts[0]) and (build / "build" / "firmware.elf").is_file()
    cache = (build / "build" / "CMakeCache.txt").read_text()
    assert f"AFKD_UART:STRING={manifest['uart']}" in cache and f"AFKD_CLOCK_HZ:STRING={manifest['clock_hz']}" in cache


@pytest.mark.slow
def test_export_to_a_relative_out_directory(workdir, tmp_path, monkeypatch):
    require_tool("cmake")
    monkeypatch.chdir(tmp_path)
    code = cli.main(["export", "--checkpoint", str(workdir / "tiny.pt"), "--target", "host", "--quant", "int8",
                     "--seconds", str(SECONDS), "--calibration-segments", "4", "--validation-segments", "2",
                     "--out", "relative/fw"])
    assert code == 0 and (tmp_path / "relative" / "fw" / "build" / "firmware").is_file()


@pytest.mark.slow
def test_trace_build_names_a_fused_depthwise_layer(workdir, tmp_path):
    """In 16x8 the generated step runs a depthwise layer and its leaky ReLU as one call
    (afkd_depthwise_leaky_s16); the trace build must still run and report both layers, so a
    wrong depthwise weight is named at the depthwise layer."""
    import re
    from pathlib import Path

    require_tool("cmake")
    student = Path(__file__).resolve().parents[1] / "models" / "student_fitnet.pt"
    build = tmp_path / "fused"
    assert cli.main(["export", "--checkpoint", str(student), "--target", "host", "--quant", "int16x8",
                     "--seconds", str(SECONDS), "--calibration-segments", "6", "--validation-segments", "2",
                     "--out", str(build)]) == 0
    text = (build / "model" / "dtfe_model.c").read_text()
    # Which layers fuse depends on the trained slopes (a leaky form the fused routine has), so
    # take the first fused one (the shipped FitNet student has several).
    fused = re.findall(r"afkd_depthwise_leaky_s16\(&dtfe_(\w+_depthwise)_params", text)
    assert fused, "no depthwise layer was fused with its leaky ReLU"
    _negate_weights_and_rebuild(build, f"dtfe_{fused[0]}_weights16")
    code, report = validate(build, workdir / "data", "host", tmp_path, "--segments", "2")
    assert code == 1
    assert report["fidelity"]["vs_tflite"]["first_layer"] == fused[0]


@pytest.mark.slow
def test_a_build_optimized_for_size_is_smaller_and_gives_the_same_bits(workdir, tmp_path):
    """--optimize size (-Os): the same integer arithmetic, so still bit-exact with TFLM, in less flash."""
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    fast = export(workdir, "stm32", "int8")
    small = workdir / "stm32_int8_size"
    assert cli.main(["export", "--checkpoint", str(workdir / "tiny.pt"), "--target", "stm32", "--quant", "int8",
                     "--seconds", str(SECONDS), "--calibration-segments", "6", "--validation-segments", "2",
                     "--optimize", "size", "--out", str(small)]) == 0
    assert "OPTIMIZATION -Os" in (small / "CMakeLists.txt").read_text()
    assert json.loads((small / "export.json").read_text())["firmware"]["optimize"] == "size"
    code, report = validate(small, workdir / "data", "qemu", tmp_path, "--segments", "3")
    assert code == 0, report["checks"]["failures"]
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["fidelity"]["streaming"]["equal"]
    speed = json.loads((fast / "export.json").read_text())["firmware"]["footprint"]
    assert report["footprint"]["flash_bytes"] < speed["flash_bytes"]
