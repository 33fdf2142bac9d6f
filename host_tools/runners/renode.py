"""The ``renode`` runner and the rendering of firmware/renode/ templates.

Renode runs the stm32f4 ELF on the offline platform firmware/renode/afkd_stm32f407.repl, with
USART1 on a server socket at 127.0.0.1. Renode deletes every ``$TMPDIR/renode-*`` folder when
it starts, so each run gets a TMPDIR of its own (another Renode's files stay untouched).
Not exercised here (Renode is not installable in this set-up); tests skip without it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from afkd.errors import AfkdError
from afkd import protocol as proto
from afkd.host_tools.runners.client import FirmwareRunner
from afkd.host_tools.runners.link import SerialLink

RENODE_DIR = Path(__file__).resolve().parents[2] / "firmware" / "renode"
REPL = RENODE_DIR / "afkd_stm32f407.repl"


def _render(template: str, **values) -> str:
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(RENODE_DIR)),
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.get_template(template).render(**values)


def _path(path: Path | str) -> str:
    """An absolute path, or a Renode/Robot variable path (``$ORIGIN/...``, ``${CURDIR}/...``) as is,
    so that exported files can point next to themselves wherever the project is moved."""
    return path if isinstance(path, str) and path.startswith("$") else str(Path(path).resolve())


def render_resc(elf: Path | str, port: int, repl: Path | str = REPL) -> str:
    return _render("afkd.resc.j2", elf=_path(elf), repl=_path(repl), port=port)


def _robot_bytes(data: bytes) -> str:
    return "    ".join(f"0x{b:02X}" for b in data)


def render_robot(elf: Path | str, info: proto.FirmwareInfo, samples: np.ndarray, aa: np.ndarray,
                 va: np.ndarray, repl: Path | str = REPL) -> str:
    """A Robot test streaming one SAMPLES frame (one hop of ``samples``) and checking the
    expected aa/va of that hop; info supplies hop and sample width."""
    hop = info.hop
    samples_frame = proto.encode_samples(1, np.asarray(samples)[:hop], info)
    record = np.asarray(aa[:hop], info.dtype).tobytes() + np.asarray(va[:hop], info.dtype).tobytes()
    output_header = proto.encode_frame(proto.OUTPUT, 1, bytes(2 * hop * info.sample_bytes + 4))[:6]
    boot_info_prefix = proto.encode_frame(proto.INFO, 0, b"")[:4]  # sync, INFO, seq 0
    return _render(
        "afkd.robot.j2", elf=_path(elf), repl=_path(repl),
        boot_info_prefix=boot_info_prefix.hex(" "),
        reset_frame=_robot_bytes(proto.encode_frame(proto.RESET, 2)),
        reset_done_frame=proto.encode_frame(proto.RESET_DONE, 2).hex(" "),
        samples_frame=_robot_bytes(samples_frame),
        output_prefix=(output_header + record).hex(" "))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def renode_command(renode: str, resc: Path) -> list[str]:
    help_text = subprocess.run([renode, "--help"], capture_output=True, text=True, timeout=60).stdout
    headless = "--disable-gui" if "--disable-gui" in help_text else "--disable-xwt"
    return [renode, headless, "--console", "-e", f"include @{resc}"]


def start_renode(target: str | os.PathLike, *, timeout_s: float, boot_timeout_s: float) -> FirmwareRunner:
    from afkd.host_tools.runners import find_firmware
    from afkd.host_tools.runners.link import ProcessLink

    renode = shutil.which("renode")
    if renode is None:
        raise AfkdError("renode: not on PATH")
    elf = find_firmware(target, ("firmware.elf",)).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="afkd-renode-"))
    (scratch / "tmp").mkdir()
    port = _free_port()
    resc = scratch / "afkd.resc"
    resc.write_text(render_resc(elf, port))
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
    return FirmwareRunner(link, name=f"renode:{elf.name}", timeout_s=timeout_s,
                          boot_timeout_s=boot_timeout_s, on_close=cleanup)
