"""afkd flash: the exact probe command for each probe and board, --dry-run, and the call of
the probe tool itself (a stand-in on PATH records its arguments; no board is needed)."""

import json
import os
import stat
from pathlib import Path

import pytest

from afkd import cli
from afkd.export.boards import BOARDS

FLASHABLE = sorted(name for name, board in BOARDS.items() if board.openocd_target)


def fake_build(root: Path, board: str) -> Path:
    """What afkd export leaves behind, as far as flashing goes: export.json and the images."""
    (root / "build").mkdir(parents=True)
    (root / "build" / "firmware.elf").write_bytes(b"\x7fELF")
    (root / "build" / "firmware.bin").write_bytes(b"\x00" * 16)
    (root / "export.json").write_text(json.dumps({"firmware": {"board": board, "firmware": "build/firmware.elf"}}))
    return root


@pytest.mark.parametrize("board", FLASHABLE)
def test_dry_run_prints_the_exact_command_for_each_probe(board, tmp_path, capsys):
    build = fake_build(tmp_path / board, board)
    elf, image = build / "build" / "firmware.elf", build / "build" / "firmware.bin"
    target = BOARDS[board]
    expected = {
        "openocd": f"openocd -f interface/stlink.cfg -f target/{target.openocd_target}.cfg "
                   f"-c 'program {elf} verify reset exit'",
        "pyocd": f"pyocd flash --target {target.pyocd_target} {elf}",
        "stlink": f"st-flash --reset write {image} 0x08000000",
    }
    for probe, line in expected.items():
        assert cli.main(["flash", "--build", str(build), "--probe", probe, "--dry-run"]) == 0
        assert capsys.readouterr().out.strip() == line


def test_the_probe_is_called_with_that_command(tmp_path, monkeypatch, capsys):
    build = fake_build(tmp_path / "f746", "stm32f746")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.txt"
    for tool, code in (("openocd", 0), ("st-flash", 3)):
        fake = bin_dir / tool
        fake.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > {record}\nexit {code}\n')
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert cli.main(["flash", "--build", str(build), "--serial", "0668FF"]) == 0
    assert record.read_text().splitlines() == [
        "-f", "interface/stlink.cfg", "-c", "adapter serial 0668FF", "-f", "target/stm32f7x.cfg",
        "-c", f"program {build / 'build' / 'firmware.elf'} verify reset exit"]
    # A probe that fails is reported and gives exit code 1.
    assert cli.main(["flash", "--build", str(build), "--probe", "stlink"]) == 1
    assert "st-flash exited with 3" in capsys.readouterr().err


@pytest.mark.parametrize("case, message", [
    ("missing", "not an afkd firmware build"),
    ("emulator", "board mps2_an386 is not flashed by a probe"),
    ("no_image", "firmware.bin: missing"),
])
def test_bad_builds_are_one_line_errors(case, message, tmp_path, capsys):
    build = tmp_path / case
    if case == "emulator":
        fake_build(build, "mps2_an386")
    elif case == "no_image":
        fake_build(build, "stm32g071")
        (build / "build" / "firmware.bin").unlink()
    probe = "stlink" if case == "no_image" else "openocd"
    assert cli.main(["flash", "--build", str(build), "--probe", probe, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_missing_probe_tool_is_named(tmp_path, monkeypatch, capsys):
    build = fake_build(tmp_path / "g0", "stm32g071")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli.main(["flash", "--build", str(build), "--probe", "pyocd"]) == 2
    assert "pyocd is not on PATH" in capsys.readouterr().err
