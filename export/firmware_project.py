"""``afkd export --target stm32|qemu|host|renode [--board B]``: a complete, self-contained CMake project.

Layout of the output directory::

    CMakeLists.txt          generated; calls afkd_add_firmware for the board (--board, --clock-hz, --uart)
    model/                  generated C: <prefix>_model.[ch] (the step), <prefix>_weights.[ch]
                            (weights and kernel parameters), afkd_model_glue.[ch] (the test harness's),
                            <prefix>_preprocess.[ch] (with --adc-gain-mv), afkd_model.cmake (the model
                            as a library for your own firmware: docs/integration.md)
    afkd/                   the runtime kernels the model calls, harness, boards and CMake files
    renode/                 offline .repl, .resc, a Robot test and a CI workflow (boards Renode models)
    build/                  firmware.elf (+ .bin .hex .map on ARM), unless --no-build
    model_<quant>.tflite    the numeric reference the firmware reproduces bit for bit
    export.json             what was exported, with footprint and the plan summary

The project copies what it needs, so it builds on a machine without afkd.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from afkd import __version__
from afkd.errors import AfkdError
from afkd.export.boards import BOARDS, Board, board_for, clock_for, uart_for
from afkd.export.codegen import TEMPLATE_SOURCE, build_context, render_model, template_dir
from afkd.export.plan import plan_from_tflite, plan_summary
from afkd.export.renode_files import write_renode_dir
from afkd.export.runtime_files import HARNESS_RUNTIME, runtime_files

_COPIED = ("harness", "boards", "cmake")  # whole; of runtime/, only what the model calls
# --optimize: GCC's level for the model and kernels. Integer arithmetic only, so both levels give
# the same bits; size trades instructions for flash (the compact detector fits 64 KB with it).
OPTIMIZE_FLAGS = {"speed": "-O2", "size": "-Os"}


def firmware_dir() -> Path:
    return Path(str(resources.files("afkd.firmware")))


def _run(command: list[str], cwd: Path, what: str) -> str:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise AfkdError(f"{what}: {command[0]} is not installed (run `make setup`)") from None
    if result.returncode:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise AfkdError(f"{what} failed: {' '.join(command)}\n{tail}")
    return result.stdout


def build_project(project: Path, board: str) -> Path:
    """Configure and build ``project`` into project/build; returns the firmware path."""
    project = Path(project).resolve()  # cmake runs inside the project: relative paths would double
    build = project / "build"
    configure = ["cmake", "-S", str(project), "-B", str(build), f"-DAFKD_BOARD={board}"]
    if board != "host":
        configure.append(f"-DCMAKE_TOOLCHAIN_FILE={project / 'afkd' / 'cmake' / BOARDS[board].toolchain}")
    _run(configure, project, f"{project.name}: cmake configure")
    _run(["cmake", "--build", str(build), "-j2"], project, f"{project.name}: build")
    firmware = build / ("firmware" if board == "host" else "firmware.elf")
    if not firmware.exists():
        raise AfkdError(f"{project.name}: the build produced no {firmware.name}")
    return firmware


def default_weight_storage(tflite: bytes, source_name: str = "model") -> str:
    """int16-stored weights for the f-wave models (fastest); int8 for the classifiers, whose
    flash budget is the target (the compact detector: 64 KB) and whose MAC rate is low."""
    from afkd.export.window_plan import is_window_graph

    if is_window_graph(tflite, source_name):
        return "int8"
    return "int8" if plan_from_tflite(tflite, source_name).output_kind == "frames" else "int16"


def plan_and_render(tflite: bytes, prefix: str, fs: int, source_name: str, weight_storage: str,
                    class_names: list[str] | None = None) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """(plan, template context, file name -> C source) of a streaming or one-window model."""
    from afkd.export.window_plan import is_window_graph, window_plan_from_tflite

    digest = hashlib.sha256(tflite).hexdigest()
    if is_window_graph(tflite, source_name):
        from afkd.export.codegen_window import build_window_context, render_window_model

        plan = window_plan_from_tflite(tflite, source_name)
        if plan.mode not in ("int8", "int16x8"):
            raise AfkdError(f"{source_name}: a {plan.mode} model; the firmware runs int8 or int16x8 models")
        context = build_window_context(plan, prefix, fs, source_name, digest, weight_storage, class_names)
        return plan, context, render_window_model(context)
    plan = plan_from_tflite(tflite, source_name)
    if plan.mode not in ("int8", "int16x8"):
        raise AfkdError(f"{source_name}: a {plan.mode} model; the firmware runs int8 or int16x8 models")
    context = build_context(plan, prefix, fs, source_name, digest, weight_storage,
                            class_names if plan.output_kind == "frames" else None)
    return plan, context, render_model(context)


def write_build_files(out: Path, generated: dict[str, str], target: str, prefix: str, mode: str, source_name: str,
                      optimization: str, weights16_only: bool, definitions: list[str],
                      chosen: Board | None = None, clock: int = 0, uart: str = "stdio",
                      front_end_sources: tuple[str, ...] = ()) -> None:
    """The generated C in out/model, the runtime files it calls, the harness, boards, CMake files,
    the project's CMakeLists.txt and the model as a library for a user's own firmware
    (model/afkd_model.cmake); shared by one-model projects and the monitor.

    chosen/clock/uart: the board and its settings (None: the target's default board at its
    default clock and UART); front_end_sources: generated C that only the user's firmware calls."""
    if chosen is None:
        chosen = board_for(target, None)
        clock, uart = (0, "stdio") if chosen.name == "host" else (clock_for(chosen, None), uart_for(chosen, None))
    (out / "model").mkdir(parents=True, exist_ok=True)
    for name, text in generated.items():
        (out / "model" / name).write_text(text)
    for part in _COPIED:
        shutil.copytree(firmware_dir() / part, out / "afkd" / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (out / "afkd" / "runtime").mkdir()
    harness_code = [path.read_text() for part in ("harness", "boards") for path in (firmware_dir() / part).rglob("*.[ch]")]
    runtime = runtime_files([*generated.values(), *harness_code], firmware_dir() / "runtime")
    for name in runtime:
        shutil.copy(firmware_dir() / "runtime" / name, out / "afkd" / "runtime" / name)
    # afkd_firmware.cmake compiles the harness's protocol and CRC itself
    kernels = [name for name in runtime if name.endswith(".c") and name not in HARNESS_RUNTIME]
    sources = ([f"model/{name}" for name in generated if name.endswith(".c")]
               + [f"afkd/runtime/{k}" for k in kernels])
    # built (and warning-checked) with the firmware; the harness does not call them
    sources[1:1] = list(front_end_sources)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    cmake = env.get_template("CMakeLists.txt.j2").render(
        version=__version__, template_source=TEMPLATE_SOURCE, template="CMakeLists.txt.j2",
        prefix=prefix, mode=mode, source_name=source_name, target=target, board=chosen.name,
        toolchain=chosen.toolchain, clock_hz=clock, uart=uart,
        sources=sources, optimization=optimization, weights16_only=weights16_only, definitions=definitions)
    (out / "CMakeLists.txt").write_text(cmake)
    # The model alone, for a user's own firmware (docs/integration.md): the glue and the
    # harness stay out, the front end goes in.
    library = [src for src in sources if src != "model/afkd_model_glue.c"]
    (out / "model" / "afkd_model.cmake").write_text(env.get_template("model.cmake.j2").render(
        version=__version__, template_source=TEMPLATE_SOURCE, template="model.cmake.j2", prefix=prefix, sources=library,
        definitions=definitions))


def write_project(out: Path, tflite: bytes, target: str, prefix: str, fs: int, source_name: str,
                  optimization: str = "-O2", weight_storage: str | None = None, board: str | None = None,
                  clock_hz: int | None = None, uart: str | None = None,
                  project_name: str = "firmware", adc: dict | None = None,
                  class_names: list[str] | None = None) -> dict[str, Any]:
    """Render the model and the project files into ``out`` (an empty directory).

    weight_storage: None picks the model kind's default (:func:`default_weight_storage`);
    board/clock_hz/uart: ``--board``, ``--clock-hz``, ``--uart`` (None: the target's defaults);
    project_name: the folder's final name (the CI workflow looks for the project there);
    adc: {"rate", "gain_mv", "offset"} to generate the front end ``<prefix>_preprocess.[ch]``
    (export/preprocess_fixed.py), None for none."""
    chosen: Board = board_for(target, board)
    clock, uart = (0, "stdio") if chosen.name == "host" else (clock_for(chosen, clock_hz), uart_for(chosen, uart))
    board = chosen.name
    weight_storage = weight_storage or default_weight_storage(tflite, source_name)
    plan, context, files = plan_and_render(tflite, prefix, fs, source_name, weight_storage, class_names)
    definitions = ["AFKD_S16_WEIGHTS16_ONLY=1"] if context["weights16_only"] else []
    if context["weights8_only"]:
        definitions.append("AFKD_S8_WEIGHTS8_ONLY=1")
    if context["s8_weights16_only"]:
        definitions.append("AFKD_S8_WEIGHTS16_ONLY=1")
    if not context["s16_w8_wide"]:
        definitions.append("AFKD_S16_W8_WIDE=0")
    if not context.get("s16_dense_w16", True):
        definitions.append("AFKD_S16_DENSE_W16=0")
    if not context.get("s16_taps_w8", True):
        definitions.append("AFKD_S16_TAPS_W8=0")
    if context["output_kind"] == "window":  # the receive buffer holds one whole window
        definitions.append(f"AFKD_PROTO_MAX_PAYLOAD={context['max_payload']}u")
    front_end = None
    if adc is not None:
        from afkd.export import preprocess_fixed

        front_end = preprocess_fixed.FrontEnd(int(adc.get("rate") or fs), fs, float(adc["gain_mv"]),
                                              int(adc.get("offset") or 0), plan.input.scale, plan.input.zero_point,
                                              1 if plan.mode == "int8" else 2)
        files = {**files, **preprocess_fixed.render(front_end, prefix, source_name)}
    write_build_files(out, files, target, prefix, plan.mode, source_name, optimization, context["weights16_only"],
                      definitions, chosen, clock, uart,
                      () if front_end is None else (f"model/{prefix}_preprocess.c",))
    if chosen.renode and context["output_kind"] == "decoded":  # the Robot test checks aa and va
        write_renode_dir(out, plan, fs, board, uart, chosen.toolchain, project_name)
    preprocess = None if front_end is None else {
        "adc_rate": front_end.fs_in, "gain_mv": front_end.gain_mv, "offset_counts": front_end.offset_counts,
        "resampler": [front_end.up, front_end.down], "taps_per_output": front_end.taps_per_phase,
        "delay_samples": front_end.delay_samples, "files": [f"model/{prefix}_preprocess.h", f"model/{prefix}_preprocess.c"]}
    return {"board": board, "clock_hz": clock, "uart": uart, "plan": plan, "context": context, "preprocess": preprocess}


def _summary(plan) -> dict[str, Any]:
    from afkd.export.window_plan import WindowPlan, window_plan_summary

    return window_plan_summary(plan) if isinstance(plan, WindowPlan) else plan_summary(plan)


def _footprint(project: Path, board: str, prefix: str, scratch_bytes: int) -> dict[str, Any] | None:
    if board == "host":
        return None
    from afkd.host_tools.footprint import FootprintRules, analyze
    from afkd.host_tools.stack_usage import harness_indirect_targets

    build = project / "build"
    result = analyze(build / "firmware.elf", build / "firmware.map", sorted(build.rglob("*.ci")),
                     FootprintRules.for_prefix(prefix), scratch_in_state=scratch_bytes,
                     indirect_targets=harness_indirect_targets(project / "afkd" / "harness" / "main.c"))
    return result.to_dict()


def export_firmware(tflite_path: Path, out_dir: Path, target: str, prefix: str, fs: int,
                    build: bool = True, reference_manifest: dict | None = None,
                    weight_storage: str | None = None, board: str | None = None, clock_hz: int | None = None,
                    uart: str | None = None, adc: dict | None = None, optimize: str = "speed") -> dict[str, Any]:
    """Generate (and build) the project for ``target`` from an int8/int16x8 .tflite into ``out_dir``;
    ``optimize``: speed (-O2) or size (-Os)."""
    from afkd.atomic import atomic_dir

    tflite_path = Path(tflite_path)
    if not tflite_path.is_file():
        raise AfkdError(f"{tflite_path}: no such .tflite file")
    if optimize not in OPTIMIZE_FLAGS:
        raise AfkdError(f"--optimize {optimize!r}: choose one of {', '.join(OPTIMIZE_FLAGS)}")
    tflite = tflite_path.read_bytes()
    result: dict[str, Any] = {}

    def build_in_place(project: Path) -> None:
        # CMake records the absolute paths of its source and build folders: building in the
        # temporary folder would leave a build/ that points at a folder that no longer exists.
        firmware = build_project(project, made["board"]) if build else None
        ctx = made["context"]
        result.update({
            "target": target, "board": made["board"], "clock_hz": made["clock_hz"], "uart": made["uart"],
            "prefix": prefix, "mode": ctx["mode"], "fs": fs,
            "output_kind": ctx["output_kind"], "classes": ctx.get("classes", 0),
            "hop": ctx["hop"], "latency_hops": ctx["latency_hops"], "macs_per_hop": ctx["macs_per_hop"],
            "state_bytes": ctx["state_bytes"], "scratch_bytes": ctx["scratch_bytes"], "weight_bytes": ctx["weight_bytes"],
            "weight_storage": ctx["weight_storage"], "optimize": optimize, "preprocess": made["preprocess"],
            "tflite": tflite_path.name, "tflite_sha256": ctx["source_sha256"],
            "firmware": None if firmware is None else str(firmware.relative_to(project.resolve())),
            "plan": _summary(made["plan"]),
            "footprint": _footprint(project, made["board"], prefix, ctx["scratch_bytes"]) if firmware else None,
        })
        from afkd.export.manifest import write_manifest

        write_manifest(project, {**(reference_manifest or {}), "firmware": result})

    # The new project replaces the old one, is built where it stays, and the old one comes
    # back if the build fails.
    with atomic_dir(out_dir, finish=build_in_place) as tmp:
        made = write_project(tmp, tflite, target, prefix, fs, tflite_path.name, optimization=OPTIMIZE_FLAGS[optimize],
                             weight_storage=weight_storage,
                             board=board, clock_hz=clock_hz, uart=uart, project_name=Path(out_dir).name, adc=adc,
                             class_names=(reference_manifest or {}).get("classes"))
        shutil.copy(tflite_path, tmp / tflite_path.name)
    return result
