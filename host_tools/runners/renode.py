"""The ``renode`` runner: the firmware in Renode 1.16.0 or later, its UART on a TCP socket.

Renode runs the ELF on afkd's offline platform for its board (``export/renode_files.py``),
with the UART on a server socket at 127.0.0.1. The counts per hop are Renode's own
executed-instruction count (counter kind ``renode_instructions``), exact and deterministic:
they equal QEMU's ``-icount`` counts for the same ELF. Older Renode is refused at start
(:data:`afkd.export.renode_files.WHY_MIN_VERSION`). Renode deletes every ``$TMPDIR/renode-*``
folder when it starts, so each run gets a TMPDIR of its own and another Renode's files stay
untouched.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from afkd.errors import AfkdError
from afkd.export.renode_files import render_resc, require_version
from afkd.host_tools.runners.client import FirmwareRunner
from afkd.host_tools.runners.link import SerialLink


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_quietly(argv: list[str], timeout_s: float = 120.0) -> str:
    scratch = Path(tempfile.mkdtemp(prefix="afkd-renode-"))
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, cwd=scratch,
                                env=dict(os.environ, TMPDIR=str(scratch)))
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AfkdError(f"renode: {' '.join(argv)} failed: {error}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result.stdout + result.stderr


@functools.lru_cache(maxsize=4)
def checked_renode(renode: str) -> tuple[int, int, int]:
    """The version of ``renode``; AfkdError when it is older than afkd's minimum."""
    return require_version(_run_quietly([renode, "--version"]), renode)


def renode_command(renode: str, resc: Path) -> list[str]:
    """Headless (``--disable-gui``, the 1.16 name), monitor on stdio, the script included."""
    return [renode, "--disable-gui", "--console", "-e", f"include @{resc}"]


def board_of(elf: Path) -> tuple[str, str]:
    """(board, uart) from the export.json of the project the ELF was built in; a build outside
    an exported project (the tests' dummy firmware) is taken as stm32f4 on USART1."""
    from afkd.host_tools.runners import exported_firmware

    firmware = exported_firmware(elf)
    return firmware.get("board", "stm32f4"), firmware.get("uart") or "usart1"


def start_renode(target: str | os.PathLike, *, timeout_s: float, boot_timeout_s: float,
                 board: str | None = None, uart: str | None = None) -> FirmwareRunner:
    from afkd.host_tools.runners import find_firmware
    from afkd.host_tools.runners.link import ProcessLink

    renode = shutil.which("renode")
    if renode is None:
        raise AfkdError("renode: not on PATH")
    checked_renode(renode)
    elf = find_firmware(target, ("firmware.elf",)).resolve()
    found_board, found_uart = board_of(elf)
    board, uart = board or found_board, uart or found_uart
    scratch = Path(tempfile.mkdtemp(prefix="afkd-renode-"))
    (scratch / "tmp").mkdir()
    port = _free_port()
    resc = scratch / "afkd.resc"
    resc.write_text(render_resc(elf, port, board, uart))
    env = dict(os.environ, TMPDIR=str(scratch / "tmp"))
    process = ProcessLink(renode_command(renode, resc), name="renode", stderr_path=scratch / "stderr.txt",
                          env=env, cwd=scratch)

    def cleanup() -> None:
        process.close()
        shutil.rmtree(scratch, ignore_errors=True)

    try:
        link = SerialLink(f"socket://127.0.0.1:{port}", 115200, name="renode", connect_timeout_s=boot_timeout_s,
                          alive=lambda: process.process.poll() is None)
    except BaseException:
        cleanup()
        raise
    return FirmwareRunner(link, name=f"renode:{board}:{elf.name}", timeout_s=timeout_s,
                          boot_timeout_s=boot_timeout_s, on_close=cleanup)
