"""Renode: the files afkd writes for it (offline platform, script, Robot test, CI workflow), the
version it refuses, and, where ``renode`` is on PATH (1.16.0 or later), runs of the dummy
firmware: Renode's instruction counts equal QEMU's -icount counts, and the generated Robot test
passes on the right answers and fails on a wrong one.

The end-to-end Robot test of an exported model (and its failure on a corrupted weight) is in
tests/test_firmware_e2e.py."""

import importlib.util
import os
import re
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.export import renode_files as rf
from conftest import require_renode, require_tool

_spec = importlib.util.spec_from_file_location(
    "dummy_build", Path(__file__).parent / "fixtures" / "dummy_model" / "dummy_build.py")
dummy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dummy)


def test_platforms_are_offline_and_carry_the_instruction_counter():
    counter = (rf.renode_dir() / rf.COUNTER_REPL).read_text()
    assert "0xF0000000" in counter and "ExecutedInstructions" in counter and "0x494B4641" in counter
    for platform in rf.PLATFORMS.values():
        repl = (rf.renode_dir() / platform.repl).read_text()
        assert "ApplySVD" not in repl and "http" not in repl
        assert f'using "./{rf.COUNTER_REPL}"' in repl
        # No RCC: it reads 0 there, which is how the board firmware knows it is emulated.
        assert not re.search(r"^rcc\w*:", repl, re.MULTILINE | re.IGNORECASE)


def test_script_uses_origin_without_at_and_absolute_paths_with_it(tmp_path):
    exported = rf.render_resc("$ORIGIN/../build/firmware.elf", 3456, "stm32f4", "usart2", "$ORIGIN/afkd_stm32f407.repl")
    # Renode expands $ORIGIN only in a bare path: "@$ORIGIN/..." is taken literally and fails.
    assert "LoadELF $ORIGIN/../build/firmware.elf" in exported and "@$ORIGIN" not in exported
    assert "LoadPlatformDescription $ORIGIN/afkd_stm32f407.repl" in exported
    assert "connector Connect sysbus.usart2 afkd_uart" in exported and "sysbus.cpu VectorTableOffset 0x08000000" in exported
    absolute = rf.render_resc(tmp_path / "firmware.elf", 4567)
    assert f"LoadELF @{tmp_path / 'firmware.elf'}" in absolute and "CreateServerSocketTerminal 4567" in absolute


def test_version_parsing_and_the_minimum():
    assert rf.parse_version("Renode v1.16.1.11724\n  build: -202612030630") == (1, 16, 1)
    assert rf.parse_version("Renode, version 1.15.1 (abc)") == (1, 15, 1)
    assert rf.parse_version("no version here") is None
    assert rf.require_version("Renode v1.16.0.1") == (1, 16, 0)
    with pytest.raises(AfkdError, match=r"Renode 1\.15\.1 is too old, afkd needs 1\.16\.0 or later: .*SADD16"):
        rf.require_version("Renode v1.15.1.1234")
    with pytest.raises(AfkdError, match="cannot read a Renode version"):
        rf.require_version("mono: command not found")


def test_the_runner_refuses_renode_1_15_before_starting_it(tmp_path, monkeypatch):
    """A `renode` that says 1.15.1 is refused with the reason, before any emulation starts."""
    from afkd.host_tools.runners import open_runner
    from afkd.host_tools.runners.renode import checked_renode

    fake = tmp_path / "bin" / "renode"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Renode v1.15.1.2345'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    checked_renode.cache_clear()
    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF")
    try:
        with pytest.raises(AfkdError, match=r"too old, afkd needs 1\.16\.0 or later.*GE flags"):
            open_runner("renode", elf)
    finally:
        checked_renode.cache_clear()


def _dummy_exchanges(x: np.ndarray):
    aa, va, state = dummy.expected_outputs(x, 1)
    flushed = dummy.expected_outputs(np.zeros(dummy.HOP, np.int8), 1, state)
    hops = [(aa[t:t + dummy.HOP], va[t:t + dummy.HOP]) for t in range(0, x.size, dummy.HOP)]
    return rf.robot_exchanges(x, hops, flushed[:2], dummy.HOP, 1)


def test_robot_test_checks_every_hop_in_binary_mode(tmp_path):
    x = dummy.random_samples(6, 1, seed=4)
    robot = rf.render_robot("${CURDIR}/firmware.elf", "${CURDIR}/afkd_stm32f407.repl", _dummy_exchanges(x))
    assert "{{" not in robot and "binaryMode=true" in robot and "sysbus.cpu VectorTableOffset" in robot
    assert "Require Renode 1.16" in robot and "SADD16" in robot
    lines = [line for line in robot.splitlines() if line.startswith("    Exchange    ")]
    assert len(lines) == 6 + 1  # every hop, then the flush
    aa, va, _ = dummy.expected_outputs(x, 1)
    for t, line in enumerate(lines[:-1]):
        record = aa[t * dummy.HOP:(t + 1) * dummy.HOP].tobytes() + va[t * dummy.HOP:(t + 1) * dummy.HOP].tobytes()
        expected = line.split()[1]
        # The answer's header (OUTPUT, this frame's seq) and samples, in order; count and CRC free.
        assert expected.startswith("\\\\xA5\\\\x5A\\\\x83" + f"\\\\x{3 + t:02X}")
        assert "".join(f"\\\\x{b:02X}" for b in record) in expected and expected.endswith(".{4}.{2}")
    assert "matchStart=true" in robot and "treatAsRegex=true" in robot


def test_workflow_builds_then_runs_the_robot_test():
    text = rf.render_workflow("out_f746", "stm32f746", "arm-none-eabi-cortex-m7.cmake")
    assert "PROJECT: out_f746" in text and "arm-none-eabi-cortex-m7.cmake" in text
    assert "gcc-arm-none-eabi" in text and "antmicro/renode-test-action@v5" in text
    assert "renode-revision: 'v1.16.1'" in text and "${{ env.PROJECT }}/renode/afkd.robot" in text
    import yaml

    workflow = yaml.safe_load(text)
    steps = workflow["jobs"]["renode"]["steps"]
    assert [s.get("uses", "run") for s in steps][-2:] == ["antmicro/renode-test-action@v5", "actions/upload-artifact@v4"]


@pytest.mark.renode
@pytest.mark.slow
def test_renode_counts_instructions_exactly_and_like_qemu(tmp_path):
    """The same ELF in Renode and in QEMU: same outputs; Renode's count of the calibration loop
    (exactly 2n instructions plus a fixed entry) is 2n + c for every n, the same from run to run
    (its DWT "cycles" were neither); QEMU's SysTick-derived counts are within one instruction."""
    require_renode()
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from afkd.host_tools.runners import open_runner

    build = dummy.build_dummy("stm32f4", tmp_path / "stm32f4", extra_work=3)
    x = dummy.random_samples(12, 1, seed=6)
    want_aa, want_va, _ = dummy.expected_outputs(x, 1)
    loops = (1, 2, 100, 1001, 20011)
    counts, calibration = {}, {}
    for spec in ("renode", "qemu", "renode"):
        with open_runner(spec, build / "firmware.elf", timeout_s=30) as runner:
            kind = runner.info().counter_kind
            aa, va, hop_counts = runner.run(x)
            calibration.setdefault(spec, []).append([runner.calibrate(n) - 2 * n for n in loops])
        np.testing.assert_array_equal(aa, want_aa)
        np.testing.assert_array_equal(va, want_va)
        assert kind == {"renode": "renode_instructions", "qemu": "qemu_instructions"}[spec]
        counts.setdefault(spec, []).append(hop_counts)
    renode = calibration["renode"][0]
    assert len(set(renode)) == 1 and 0 < renode[0] < 8, renode  # exact: the same small entry cost
    assert calibration["renode"][1] == renode
    assert np.all(counts["renode"][0] > 3 * dummy.HOP)  # extra_work loops: more than the bare step
    np.testing.assert_array_equal(counts["renode"][0], counts["renode"][1])
    assert np.abs(counts["renode"][0].astype(int) - counts["qemu"][0].astype(int)).max() <= 1


@pytest.mark.renode
@pytest.mark.slow
@pytest.mark.parametrize("board, uart", [("stm32f746", "usart3"), ("stm32h743", "usart3"), ("stm32l552", "lpuart1"),
                                         ("stm32g071", "usart2"), ("stm32l072", "usart2"), ("stm32f4", "usart2")])
def test_every_renode_board_runs_bit_exact_with_instruction_counts(tmp_path, board, uart):
    """Each board's own ELF (its core, its UART) on its afkd Renode platform."""
    require_renode()
    require_tool("arm-none-eabi-gcc")
    from afkd.host_tools.runners import open_runner

    build = dummy.build_dummy(board, tmp_path / board, uart=uart)
    x = dummy.random_samples(6, 1, seed=7)
    want_aa, want_va, _ = dummy.expected_outputs(x, 1)
    with open_runner("renode", build / "firmware.elf", timeout_s=30, board=board, uart=uart) as runner:
        info = runner.info()
        aa, va, counts = runner.run(x)
        loop = [runner.calibrate(n) - 2 * n for n in (10, 1000)]
    assert (info.target, info.counter_kind) == (board, "renode_instructions")
    np.testing.assert_array_equal(aa, want_aa)
    np.testing.assert_array_equal(va, want_va)
    assert loop[0] == loop[1] and np.all(counts > dummy.HOP)


def _renode_test(robot: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    own_tmp = tmp_path / "renode-tmp"  # Renode deletes every $TMPDIR/renode-* at start
    own_tmp.mkdir(exist_ok=True)
    return subprocess.run(["renode-test", "-r", str(tmp_path / "results"), str(robot)], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "TMPDIR": str(own_tmp)})


@pytest.mark.renode
@pytest.mark.slow
def test_generated_robot_test_passes_and_fails_on_a_wrong_answer(tmp_path):
    require_renode()
    require_tool("arm-none-eabi-gcc")
    build = dummy.build_dummy("stm32f4", tmp_path / "stm32f4")
    (tmp_path / rf.COUNTER_REPL).write_text((rf.renode_dir() / rf.COUNTER_REPL).read_text())
    (tmp_path / "afkd_stm32f407.repl").write_text((rf.renode_dir() / "afkd_stm32f407.repl").read_text())
    x = dummy.random_samples(8, 1, seed=9)
    exchanges = _dummy_exchanges(x)
    good = tmp_path / "good.robot"
    good.write_text(rf.render_robot(str(build / "firmware.elf"), "${CURDIR}/afkd_stm32f407.repl", exchanges))
    result = _renode_test(good, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    # One sample of hop 5 off by one: the test must fail there.
    wrong = list(exchanges)
    aa, va, _ = dummy.expected_outputs(x, 1)
    hop5 = aa[5 * dummy.HOP:6 * dummy.HOP].copy()
    hop5[3] = hop5[3] + 1 if hop5[3] < 127 else hop5[3] - 1
    wrong[5] = rf.RobotHop(exchanges[5].send, rf.output_regex(3 + 5, [(hop5, va[5 * dummy.HOP:6 * dummy.HOP])], 1))
    bad = tmp_path / "bad.robot"
    bad.write_text(rf.render_robot(str(build / "firmware.elf"), "${CURDIR}/afkd_stm32f407.repl", wrong))
    result = _renode_test(bad, tmp_path)
    assert result.returncode != 0, "the Robot test passed with a wrong expected sample"


def test_export_writes_renode_files_without_host_tools():
    """Stages import only earlier stages: the Renode files are export's, the runner is host_tools'."""
    import sys

    code = ("import sys, afkd.export.renode_files, afkd.protocol; "
            "sys.exit(any(m.startswith('afkd.host_tools') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
