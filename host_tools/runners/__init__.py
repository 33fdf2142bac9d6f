"""Run an afkd firmware and talk to it: one interface for every place it can run.

    with open_runner("qemu", "build/stm32f4/firmware.elf") as runner:
        info = runner.info()              # FirmwareInfo: model, hop, counter kind, ...
        runner.reset()
        aa, va, counts = runner.run(samples)   # samples (hops*HOP,) int8/int16

Specs: ``host`` (the x86-64 harness on stdin/stdout), ``qemu`` (netduinoplus2 or mps2-an386,
picked from the ELF's load address, under -icount), ``renode`` (afkd's offline platform of the
board, Renode 1.16.0 or later, UART on a 127.0.0.1 socket), ``serial:PORT`` (a real board; baud option). Every runner raises AfkdError
instead of hanging and kills its emulator on close.
"""

from __future__ import annotations

import os
from pathlib import Path

from afkd.errors import AfkdError
from afkd.host_tools.runners.client import FirmwareRunner

__all__ = ["FirmwareRunner", "open_runner", "find_firmware", "check_runner_spec", "exported_firmware"]


def exported_firmware(elf: Path) -> dict:
    """The ``firmware`` entry of the export.json of the project ``elf`` was built in (board,
    clock_hz, uart, ...); {} for a build outside an exported project (the tests' dummy)."""
    import json

    for folder in (elf.parent, elf.parent.parent):
        manifest = folder / "export.json"
        if manifest.is_file():
            try:
                return json.loads(manifest.read_text()).get("firmware") or {}
            except (json.JSONDecodeError, AttributeError):
                raise AfkdError(f"{manifest}: not a valid export.json") from None
    return {}


def find_firmware(target: str | os.PathLike, names: tuple[str, ...]) -> Path:
    """``target`` itself when it is a file, else the first of ``names`` inside that folder."""
    target = Path(target)
    if target.is_file():
        return target
    if target.is_dir():
        for name in names:
            if (target / name).is_file():
                return target / name
        raise AfkdError(f"{target}: no {' or '.join(names)} in this build folder")
    raise AfkdError(f"{target}: no such firmware file or build folder")


RUNNERS = ("host", "qemu", "renode", "serial:PORT")


def check_runner_spec(spec: str) -> str:
    """``spec`` when it names a runner; AfkdError naming it otherwise (before any build is read)."""
    if spec in RUNNERS[:3] or (spec.startswith("serial:") and len(spec) > len("serial:")):
        return spec
    raise AfkdError(f"--runner {spec!r}: not a runner (host, qemu, renode or serial:PORT)")


def open_runner(spec: str, target: str | os.PathLike, *, timeout_s: float = 5.0,
                boot_timeout_s: float = 10.0, baud: int = 115200, icount_shift: int | None = None,
                machine: str | None = None, board: str | None = None, uart: str | None = None) -> FirmwareRunner:
    """Start (or connect to) the firmware ``target`` (ELF, host executable or build folder).

    timeout_s: longest wait for any one answer; boot_timeout_s: for the first INFO.
    icount_shift / machine: QEMU overrides (default per machine, see qemu.py).
    board / uart: Renode overrides (default: the project's export.json, else stm32f4 on usart1).
    baud: serial boards only.
    """
    if spec == "host":
        from afkd.host_tools.runners.host import start_host
        return start_host(target, timeout_s=timeout_s, boot_timeout_s=boot_timeout_s)
    if spec == "qemu":
        from afkd.host_tools.runners.qemu import start_qemu
        return start_qemu(target, timeout_s=timeout_s, boot_timeout_s=boot_timeout_s,
                          icount_shift=icount_shift, machine=machine)
    if spec == "renode":
        from afkd.host_tools.runners.renode import start_renode
        return start_renode(target, timeout_s=timeout_s, boot_timeout_s=max(boot_timeout_s, 60.0),
                            board=board, uart=uart)
    if spec.startswith("serial:") and len(spec) > len("serial:"):
        from afkd.host_tools.runners.link import SerialLink
        port = spec[len("serial:"):]
        return FirmwareRunner(SerialLink(port, baud, name=spec), name=spec, timeout_s=timeout_s,
                              boot_timeout_s=boot_timeout_s)
    raise AfkdError(f"runner: unknown spec '{spec}' (host, qemu, renode or serial:PORT)")
