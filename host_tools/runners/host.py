"""The ``host`` runner: the harness built for x86-64, speaking the protocol on stdin/stdout."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from afkd.host_tools.runners.client import FirmwareRunner
from afkd.host_tools.runners.link import ProcessLink


def start_host(target: str | os.PathLike, *, timeout_s: float, boot_timeout_s: float) -> FirmwareRunner:
    from afkd.host_tools.runners import find_firmware

    executable = find_firmware(target, ("firmware", "firmware.elf"))
    scratch = Path(tempfile.mkdtemp(prefix="afkd-host-"))
    link = ProcessLink([str(executable.resolve())], name=f"host:{executable.name}",
                       stderr_path=scratch / "stderr.txt")
    return FirmwareRunner(link, name=f"host:{executable}", timeout_s=timeout_s,
                          boot_timeout_s=boot_timeout_s,
                          on_close=lambda: shutil.rmtree(scratch, ignore_errors=True))
