"""Renode files of an exported firmware: platform, script, Robot test and a CI workflow.

``afkd export`` writes them into the project's ``renode/`` folder (:func:`write_renode_dir`);
the ``renode`` runner (``host_tools/runners/renode.py``) renders its own script for each run.

- ``afkd_<board>.repl``: an offline platform (no SVD, nothing to download): the core, its NVIC,
  flash, SRAM, the board's USARTs and afkd's instruction counter, a Python peripheral that reads
  Renode's own executed-instruction count (see ``firmware/boards/cortex_m/afkd_cortex_m.h``).
- ``afkd.resc``: loads the platform and ``../build/firmware.elf`` (paths relative to the script:
  Renode expands ``$ORIGIN`` only in a bare path, never after ``@``), the UART on TCP port 3456.
- ``afkd.robot``: streams a multi-second synthetic ECG, one hop per SAMPLES frame, and checks
  every output byte of every hop (and of the final FLUSH) in order, so a wrong weight fails it.
  It refuses Renode older than 1.16.0 (:data:`WHY_MIN_VERSION`).
- ``afkd-renode.yml``: a GitHub Actions workflow that builds the firmware and runs the Robot test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np

from afkd import __version__
from afkd import protocol as proto
from afkd.errors import AfkdError

MIN_VERSION = (1, 16, 0)
WHY_MIN_VERSION = ("Renode 1.15.x computes the GE flags of SADD16/SSUB16 (and SADD8, SSUB8, USUB8, USUB16) "
                   "wrongly, so the DSP kernels give wrong outputs there (fixed in tlib 79469136, Renode 1.16.0)")
ROBOT_SECONDS = 4.0  # the recording the Robot test streams: 100 hops of 40 ms at 250 Hz
SCRIPT_PORT = 3456
COUNTER_REPL = "afkd_counter.repl"  # every platform's ``using``: the instruction counter


@dataclass(frozen=True)
class RenodePlatform:
    repl: str           # file in firmware/renode/
    vector_table: int   # where the ELF's vector table lies (Renode starts the core from it)


PLATFORMS = {
    "stm32f4": RenodePlatform("afkd_stm32f407.repl", 0x08000000),
    "stm32f746": RenodePlatform("afkd_stm32f746.repl", 0x08000000),
    "stm32h743": RenodePlatform("afkd_stm32h743.repl", 0x08000000),
    "stm32l552": RenodePlatform("afkd_stm32l552.repl", 0x08000000),
    "stm32g071": RenodePlatform("afkd_stm32g071.repl", 0x08000000),
    "stm32l072": RenodePlatform("afkd_stm32l072.repl", 0x08000000),
}


def renode_dir() -> Path:
    return Path(str(resources.files("afkd.firmware") / "renode"))


def platform_for(board: str) -> RenodePlatform:
    if board not in PLATFORMS:
        raise AfkdError(f"board {board}: Renode has no afkd platform for it (Renode boards: {', '.join(PLATFORMS)})")
    return PLATFORMS[board]


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) from ``renode --version`` ("Renode v1.16.1.11724 ...") or the
    monitor's ``version`` ("Renode, version 1.16.1 (...)"); None when there is none."""
    found = re.search(r"Renode,? (?:version )?v?(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(g) for g in found.groups()) if found else None


def require_version(text: str, what: str = "renode") -> tuple[int, int, int]:
    """The version in ``text``, or an AfkdError saying why afkd refuses it."""
    version = parse_version(text)
    if version is None:
        raise AfkdError(f"{what}: cannot read a Renode version from {text.strip()[:80]!r}")
    if version < MIN_VERSION:
        raise AfkdError(f"{what}: Renode {'.'.join(map(str, version))} is too old, afkd needs "
                        f"{'.'.join(map(str, MIN_VERSION))} or later: {WHY_MIN_VERSION}")
    return version


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(renode_dir())), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def _script_path(path: Path | str) -> str:
    """A path for a .resc: ``$ORIGIN/...`` stays bare (Renode expands it there only), anything
    else becomes an absolute ``@path``."""
    if isinstance(path, str) and path.startswith("$ORIGIN"):
        return path
    return "@" + str(Path(path).resolve())


def render_resc(elf: Path | str, port: int, board: str = "stm32f4", uart: str = "usart1",
                repl: Path | str | None = None) -> str:
    """A Renode script loading ``repl`` (default: the board's) and ``elf``, ``uart`` on TCP ``port``."""
    platform = platform_for(board)
    return _environment().get_template("afkd.resc.j2").render(
        version=__version__, elf=_script_path(elf), repl=_script_path(repl or renode_dir() / platform.repl),
        port=port, uart=uart, vector_table=f"0x{platform.vector_table:08X}")


@dataclass(frozen=True)
class RobotHop:
    """One exchange of the Robot test: the bytes sent and the regular expression the answer
    must match from its first byte (the per-hop count and the CRC that covers it are free)."""
    send: bytes
    expect: str


def _regex_bytes(data: bytes) -> str:
    return "".join(f"\\x{b:02X}" for b in data)


def output_regex(seq: int, hops: list[tuple[np.ndarray, np.ndarray]], sample_bytes: int) -> str:
    """An OUTPUT frame carrying ``hops`` (aa, va) each followed by a free u32 count; free CRC."""
    dtype = "<i1" if sample_bytes == 1 else "<i2"
    length = sum(2 * a.size * sample_bytes + 4 for a, _ in hops)
    parts = [_regex_bytes(proto.SYNC + bytes([proto.OUTPUT, seq]) + length.to_bytes(2, "little"))]
    for aa, va in hops:
        parts.append(_regex_bytes(np.asarray(aa).astype(dtype).tobytes() + np.asarray(va).astype(dtype).tobytes()))
        parts.append(".{4}")
    parts.append(".{2}")
    return "".join(parts)


def robot_exchanges(samples: np.ndarray, expected_hops: list[tuple[np.ndarray, np.ndarray]],
                    flushed: tuple[np.ndarray, np.ndarray], hop: int, sample_bytes: int) -> list[RobotHop]:
    """One SAMPLES frame per hop of ``samples`` and a FLUSH, with the answers the model gives:
    ``expected_hops[t]`` for hop t, ``flushed`` for the flush. Sequence numbers run 3, 4, ...
    (modulo 256, skipping 0-2), so every expected frame differs from its neighbours."""
    samples = np.asarray(samples)
    if samples.size != hop * len(expected_hops):
        raise AfkdError(f"robot: {samples.size} samples for {len(expected_hops)} hops of {hop}")
    info = proto.FirmwareInfo(proto.PROTOCOL_VERSION, sample_bytes, hop, 0, 0, "none", None, 0, 1, 0, "", "", "")
    exchanges = []
    for t, answer in enumerate([*expected_hops, flushed]):
        seq = 3 + t % 253
        if t < len(expected_hops):
            send = proto.encode_samples(seq, samples[t * hop:(t + 1) * hop], info)
        else:
            send = proto.encode_frame(proto.FLUSH, seq)
        exchanges.append(RobotHop(send, output_regex(seq, [answer], sample_bytes)))
    return exchanges


def render_robot(elf: str, repl: str, exchanges: list[RobotHop], board: str = "stm32f4", uart: str = "usart1",
                 title: str = "afkd firmware") -> str:
    """The Robot test; ``elf``/``repl`` are Robot paths (``${CURDIR}/...`` or absolute)."""
    platform = platform_for(board)
    reset = proto.encode_frame(proto.RESET, 2)
    return _environment().get_template("afkd.robot.j2").render(
        version=__version__, title=title, elf=elf, repl=repl, uart=uart,
        vector_table=f"0x{platform.vector_table:08X}", min_version=MIN_VERSION, why_min_version=WHY_MIN_VERSION,
        boot_info=(proto.SYNC + bytes([proto.INFO, 0])).hex(" "),
        reset=[f"0x{b:02X}" for b in reset], reset_done=proto.encode_frame(proto.RESET_DONE, 2).hex(" "),
        exchanges=[{"send": [f"0x{b:02X}" for b in x.send], "expect": x.expect.replace("\\", "\\\\")}
                   for x in exchanges])


def render_workflow(project: str, board: str, toolchain: str) -> str:
    """A GitHub Actions workflow for the repository that holds the exported project at ``project``."""
    return _environment().get_template("afkd-renode.yml.j2").render(
        version=__version__, project=project, board=board, toolchain=toolchain,
        renode_version=".".join(map(str, (1, 16, 1))))


def recording(plan, fs: int, seconds: float = ROBOT_SECONDS, seed: int = 17) -> np.ndarray:
    """A synthetic AF ECG of ``seconds`` quantized to the model's input, a whole number of hops."""
    from afkd.export.checks import quantize
    from afkd.training.data.synth import synthesize_record

    hops = int(round(seconds * fs / plan.hop))
    ecg = synthesize_record(0, hops * plan.hop / fs, fs, seed)["ecg"][: hops * plan.hop]
    dtype = np.int8 if plan.mode == "int8" else np.int16
    return quantize(ecg, plan.input.scale, plan.input.zero_point, dtype)


def write_renode_dir(out: Path, plan, fs: int, board: str, uart: str, toolchain: str, project_name: str,
                     seconds: float = ROBOT_SECONDS) -> Path:
    """``out/renode/``: platform, script, Robot test and workflow for ``plan``'s firmware
    (``project_name``: the project folder's name, where the workflow looks for it)."""
    from afkd.export.stream_ref import StreamingReference

    platform = platform_for(board)
    folder = out / "renode"
    folder.mkdir()
    for name in (platform.repl, COUNTER_REPL):
        (folder / name).write_text((renode_dir() / name).read_text())
    (folder / "afkd.resc").write_text(render_resc("$ORIGIN/../build/firmware.elf", SCRIPT_PORT, board, uart,
                                                  f"$ORIGIN/{platform.repl}"))
    samples = recording(plan, fs, seconds)
    reference = StreamingReference(plan)
    answers = [reference.step(samples[t:t + plan.hop]) for t in range(0, samples.size, plan.hop)]
    last = reference.flush()
    sample_bytes = 1 if plan.mode == "int8" else 2
    exchanges = robot_exchanges(samples, [(a["aa"], a["va"]) for a in answers], (last["aa"], last["va"]),
                                plan.hop, sample_bytes)
    title = f"{plan.mode} model, {samples.size / fs:g} s synthetic ECG ({len(answers)} hops + flush)"
    (folder / "afkd.robot").write_text(render_robot("${CURDIR}/../build/firmware.elf", f"${{CURDIR}}/{platform.repl}",
                                                    exchanges, board, uart, title))
    (folder / "afkd-renode.yml").write_text(render_workflow(project_name, board, toolchain))
    return folder
