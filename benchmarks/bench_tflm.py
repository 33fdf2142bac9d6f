"""afkd beside TensorFlow Lite Micro (CMSIS-NN kernels and reference kernels), same model, same
QEMU machine, same instruction counter: a printed table.

    python -m benchmarks.bench_tflm --tflm DIR --cmsis-nn DIR --cmsis DIR --flatbuffers DIR \\
        --gemmlowp DIR --ruy DIR [--checkpoint models/student_fitnet.pt] [--work build/bench/tflm] [-j 2]

The source folders are git checkouts (their commits are printed; bench_tflm builds nothing from
the network). TFLM pins its dependencies in tensorflow/lite/micro/tools/make: the measured
README table used those pins (CMSIS-NN and CMSIS_6 from ext_libs/*_download.sh, flatbuffers,
gemmlowp and ruy from third_party_downloads.inc).

What is compared:
- The checkpoint is exported once to an int16x8 .tflite whose input is the model's receptive
  field (measured: the stream reference's output stops changing after an impulse that far
  back), rounded up to whole hops. That is the window a deployment without streaming must run
  for every 40 ms hop to get that hop right. The same .tflite feeds afkd's firmware export.
- TFLM is built for the Cortex-M4F with TFLM's own flags (kernels -O2, core -Os), once with
  CMSIS-NN's kernels where TFLM has them and once with the reference kernels only, around
  benchmarks/tflm/bench_main.cc, and run on QEMU's mps2-an386 under -icount: instructions of
  one Invoke() on that window (the second call; the first pays one-time preparation), read
  with afkd's SysTick counter. Its outputs are compared with TFLM's Python interpreter.
- afkd: ``afkd export --target qemu`` of the same .tflite (mps2-an386), run by the qemu runner
  on the same recording: instructions per 40 ms step.
- flash = text + data of the image without the benchmark's recording and expected outputs;
  RAM = static data + the arena TFLM actually used (afkd: its state and static data); neither
  counts the stack.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "tflm"
OPS_CMSIS = ("add", "conv", "depthwise_conv", "mul", "pad", "transpose_conv")  # TFLM has cmsis_nn/ versions
# variant -> (label, the ops that take TFLM's cmsis_nn/ kernel; the others its reference kernel)
VARIANTS = {
    "cmsis_nn": ("TFLM + CMSIS-NN", OPS_CMSIS),
    "cmsis_nn_ref_tconv": ("TFLM + CMSIS-NN, reference TRANSPOSE_CONV", tuple(o for o in OPS_CMSIS if o != "transpose_conv")),
    "reference": ("TFLM reference kernels", ()),
}
KERNELS = ("pad", "pad_common", "conv", "conv_common", "depthwise_conv", "depthwise_conv_common", "leaky_relu",
           "leaky_relu_common", "add", "add_common", "logistic", "logistic_common", "mul", "mul_common",
           "transpose_conv", "strided_slice", "strided_slice_common", "kernel_util", "micro_tensor_utils")
CPU = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
COMMON = ["-ffunction-sections", "-fdata-sections", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables",
          "-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_DISABLE_X86_NEON", "-DNDEBUG", "-DTF_LITE_MCU_DEBUG_LOG",
          "-DARM_NN_ENABLE_F16=0", "-DARM_NN_ENABLE_F32=0", "-Wno-type-limits"]
CXX = ["-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics"]
ICOUNT_SHIFT = 6


def commit(folder: Path) -> str:
    result = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown (not a git checkout)"


def tflm_sources(tflm: Path, cmsis_nn: Path | None, cmsis_ops: tuple[str, ...] = OPS_CMSIS) -> list[tuple[Path, str]]:
    """(source, optimization) pairs: TFLM's core at -Os, kernels and CMSIS-NN at -O2 (TFLM's own
    choice); with ``cmsis_nn`` the ``cmsis_ops`` use TFLM's CMSIS-NN kernels."""
    lite = tflm / "tensorflow" / "lite"
    core = [p for p in (tflm / "tensorflow").rglob("*.c*") if p.suffix in (".cc", ".c")
            and "lite/micro" not in p.as_posix() and "lite/experimental" not in p.as_posix()
            and p.name != "array.cc" and not p.name.endswith("_test.cc")]
    micro = lite / "micro"
    for folder in (micro, micro / "arena_allocator", micro / "memory_planner", micro / "tflite_bridge"):
        core += [p for p in folder.glob("*.cc") if not p.name.endswith("_test.cc")
                 and p.name not in ("debug_log.cc", "fake_micro_context.cc", "mock_micro_graph.cc",
                                    "recording_micro_allocator.cc", "test_helpers.cc", "test_helper_custom_ops.cc")]
    kernels = []
    for name in KERNELS:
        optimized = micro / "kernels" / "cmsis_nn" / f"{name}.cc"
        kernels.append(optimized if cmsis_nn is not None and name in cmsis_ops else micro / "kernels" / f"{name}.cc")
    out = [(p, "-Os") for p in core] + [(p, "-O2") for p in kernels]
    if cmsis_nn is not None:
        out += [(p, "-O2") for p in (cmsis_nn / "Source").rglob("*.c")
                if not p.name.endswith(("_f16.c", "_f32.c"))]
    return sorted(out)


def _compile(job: tuple[list[str], Path, Path]) -> str | None:
    command, source, obj = job
    if obj.exists() and obj.stat().st_mtime > source.stat().st_mtime:
        return None
    obj.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command + ["-c", str(source), "-o", str(obj)], capture_output=True, text=True)
    return None if result.returncode == 0 else f"{source}:\n{result.stderr[-3000:]}"


def build(args: argparse.Namespace, variant: str, data_source: Path, work: Path) -> Path:
    cmsis_ops = VARIANTS[variant][1]
    cmsis_nn = args.cmsis_nn if cmsis_ops else None
    includes = [f"-I{p}" for p in (args.tflm, args.flatbuffers / "include", args.gemmlowp, args.ruy,
                                   REPO / "firmware" / "boards" / "cortex_m", REPO / "firmware" / "harness",
                                   REPO / "firmware" / "runtime")]
    base_includes = list(includes)
    if cmsis_nn is not None:
        includes += [f"-I{cmsis_nn}", f"-I{cmsis_nn / 'Include'}", f"-I{args.cmsis / 'CMSIS' / 'Core' / 'Include'}",
                     "-DCMSIS_NN"]
    objects, jobs = [], []
    sources = tflm_sources(args.tflm, cmsis_nn, cmsis_ops) + [(HERE / "bench_main.cc", "-O2"), (data_source, "-O2"),
                                                   (REPO / "firmware/boards/cortex_m/startup_cortex_m.c", "-O2"),
                                                   (REPO / "firmware/boards/cortex_m/afkd_cortex_m_counter.c", "-O2")]
    for source, level in sources:
        # TFLM's core does not depend on the kernels: compiled without the CMSIS-NN flags, so that
        # every variant shares it. Objects live by their compile command: same command, same object.
        core = "lite/micro/kernels" not in source.as_posix() and source.suffix == ".cc" and args.tflm in source.parents
        compiler = ["arm-none-eabi-g++", *CXX] if source.suffix == ".cc" else ["arm-none-eabi-gcc", "-std=c11"]
        command = [*compiler, *CPU, *COMMON, level, *(base_includes if core else includes)]
        key = hashlib.sha1(" ".join(command).encode()).hexdigest()[:12]
        obj = work / "obj" / key / (re.sub(r"[^\w.]+", "_", str(source.resolve())) + ".o")
        jobs.append((command, source, obj))
        objects.append(obj)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        errors = [e for e in pool.map(_compile, jobs) if e]
    if errors:
        raise SystemExit(f"bench_tflm: {len(errors)} file(s) failed to compile; the first:\n{errors[0]}")
    elf = work / f"tflm_{variant}.elf"
    link = ["arm-none-eabi-g++", *CPU, "-T", str(HERE / "tflm_mps2_an386.ld"), "-nostartfiles", "--specs=nano.specs",
            "--specs=nosys.specs", "-Wl,--gc-sections", f"-Wl,-Map={elf.with_suffix('.map')}", "-o", str(elf),
            *map(str, objects), "-lm"]
    result = subprocess.run(link, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"bench_tflm: link failed:\n{result.stderr[-3000:]}")
    return elf


def run_qemu(elf: Path) -> dict:
    command = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "null",
               "-semihosting-config", "enable=on,target=native", "-icount", f"shift={ICOUNT_SHIFT},sleep=off",
               "-kernel", str(elf)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    output = result.stdout + result.stderr  # QEMU prints semihosting output on its stderr
    values = dict(line.split(" ", 1) for line in output.splitlines() if " " in line and not line.startswith("tflm:"))
    if values.get("result") != "ok":
        log = "\n".join(output.splitlines()[-20:])
        return {"error": log or f"qemu exited {result.returncode}"}
    return {key: int(values[key]) for key in ("counter_kind", "invoke_first", "invoke_instructions",
                                               "arena_used_bytes", "mismatches")}


def image_sizes(elf: Path, exclude: tuple[str, ...]) -> tuple[int, int, int]:
    """(flash, static RAM, size of the excluded symbols) from the section headers and symbols."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as stream:
        image = ELFFile(stream)
        size = {s.name: s["sh_size"] for s in image.iter_sections()}
        symbols = {sym.name: sym["st_size"] for sym in image.get_section_by_name(".symtab").iter_symbols()}
    excluded = sum(symbols.get(name, 0) for name in exclude)
    flash = size.get(".isr_vector", 0) + size[".text"] + size.get(".ARM.exidx", 0) + size.get(".data", 0)
    return flash - excluded, size.get(".data", 0) + size.get(".bss", 0), excluded


def receptive_field_samples(plan) -> int:
    """How many input samples back a change of one hop still changes the stream's outputs (whole
    hops), on a noise background: the masks multiply encoder frames, so on silence a change of
    the masks would not show."""
    from afkd.export.stream_ref import StreamingReference

    hop, hops = plan.hop, 400
    info = np.iinfo(np.int8 if plan.mode == "int8" else np.int16)
    base = np.random.default_rng(0).integers(info.min // 4, info.max // 4, hops * hop)
    kick = base.copy()
    kick[:hop] = info.max // 2
    reference = StreamingReference(plan)
    out_base = [reference.step(base[t * hop:(t + 1) * hop]) for t in range(hops)]
    reference.reset()
    out_kick = [reference.step(kick[t * hop:(t + 1) * hop]) for t in range(hops)]
    last = max(t for t in range(hops) if any(np.any(out_base[t][k] != out_kick[t][k]) for k in out_base[t]))
    if last >= hops - 1:
        raise SystemExit("bench_tflm: a change of one hop still shows after 400 hops")
    return (last + 1) * hop


def model_data(path: Path, tflite: bytes, codes: np.ndarray, expected: list[np.ndarray]) -> None:
    def body(values) -> str:
        return ",".join(str(int(v)) for v in values)

    path.write_text(
        "// GENERATED by benchmarks/bench_tflm.py: the model, one recording and TFLM's answers.\n"
        "#include <cstdint>\n"
        f"alignas(16) extern const unsigned char bench_model[] = {{{body(tflite)}}};\n"
        f"extern const int16_t bench_input[] = {{{body(codes)}}};\n"
        f"extern const int16_t bench_expected[] = {{{body(np.concatenate(expected))}}};\n"
        f"extern const unsigned bench_samples = {codes.size}u;\n"
        f"extern const unsigned bench_outputs = {len(expected)}u;\n")


def afkd_side(tflite_path: Path, work: Path, codes: np.ndarray, fs: int, expected: list[np.ndarray]) -> dict:
    from afkd.export.firmware_project import export_firmware
    from afkd.host_tools.runners import open_runner

    build = work / "afkd_qemu"
    if not (build / "export.json").exists():
        export_firmware(tflite_path, build, "qemu", "dtfe", fs)
    manifest = json.loads((build / "export.json").read_text())["firmware"]
    with open_runner("qemu", build / "build" / "firmware.elf", timeout_s=60) as runner:
        aa, va, counts = runner.run(codes.astype(np.int16))
        last_aa, last_va, _ = runner.flush()
    # step t answers hop t-1 and the flush the last: aligned, the stream is the one-shot model
    stream = [np.concatenate([aa[len(last_aa):], last_aa]), np.concatenate([va[len(last_va):], last_va])]
    exact = any(all(np.array_equal(s, e) for s, e in zip(stream, order)) for order in (expected, expected[::-1]))
    footprint = manifest["footprint"]
    return {"per_hop": float(np.mean(counts)), "macs_per_hop": manifest["macs_per_hop"], "exact": exact,
            "flash": footprint["flash_bytes"], "model_flash": footprint["model_flash_bytes"],
            "ram": footprint["ram_bytes"] - footprint["ram"]["stack"], "hop": manifest["hop"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("tflm", "cmsis-nn", "cmsis", "flatbuffers", "gemmlowp", "ruy"):
        parser.add_argument(f"--{name}", type=Path, required=True, help=f"{name} source folder (a git checkout)")
    parser.add_argument("--checkpoint", type=Path, default=REPO / "models" / "student_fitnet.pt")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench" / "tflm")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    for name in ("tflm", "cmsis_nn", "cmsis", "flatbuffers", "gemmlowp", "ruy"):
        folder = getattr(args, name).resolve()
        if not folder.is_dir():
            parser.error(f"--{name.replace('_', '-')} {folder}: no such folder")
        setattr(args, name, folder)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    from afkd.export.checks import quantize, run_tflm
    from afkd.export.plan import plan_from_tflite
    from afkd.export.tflite_export import export_tflite
    from afkd.training.data.synth import synthesize_record

    probe = work / "probe"
    if not (probe / "export.json").exists():
        export_tflite(args.checkpoint, probe, quant="int16x8", seconds=4.0, calibration_segments=8)
    manifest = json.loads((probe / "export.json").read_text())
    plan = plan_from_tflite((probe / manifest["files"]["int16x8"]).read_bytes(), "probe")
    fs = int(manifest["fs"])
    window = receptive_field_samples(plan)
    tflite_dir = work / f"tflite_{window}"
    if not (tflite_dir / "export.json").exists():
        export_tflite(args.checkpoint, tflite_dir, quant="int16x8", seconds=window / fs, calibration_segments=8)
    tflite_path = tflite_dir / json.loads((tflite_dir / "export.json").read_text())["files"]["int16x8"]
    tflite = tflite_path.read_bytes()
    plan = plan_from_tflite(tflite, tflite_path.name)
    ecg = synthesize_record(0, window / fs, fs, 21)["ecg"][:window]
    codes = quantize(ecg, plan.input.scale, plan.input.zero_point, np.int16)
    outputs = run_tflm(tflite, [codes.reshape(1, 1, -1, 1)])[0]
    expected = [np.asarray(o, dtype=np.int16).reshape(-1) for o in outputs]
    data_source = work / "bench_model_data.cc"
    model_data(data_source, tflite, codes, expected)

    afkd = afkd_side(tflite_path, work, codes, fs, expected)
    invoke_macs = afkd["macs_per_hop"] * window // plan.hop
    rows = [("afkd (streaming step)", afkd["per_hop"], afkd["per_hop"] / plan.hop, afkd["per_hop"] / afkd["macs_per_hop"],
             afkd["flash"], afkd["ram"], "yes" if afkd["exact"] else "no")]
    for variant, (label, _) in VARIANTS.items():
        elf = build(args, variant, data_source, work)
        measured = run_qemu(elf)
        flash, ram, _ = image_sizes(elf, ("bench_input", "bench_expected"))
        if "error" in measured:
            reason = next((line for line in measured["error"].splitlines() if line.startswith("tflm:")), "")
            rows.append((label, None, None, None, flash, None,
                         f"fails: {measured['error'].splitlines()[-1].removeprefix('result ')}"
                         f" ({reason.removeprefix('tflm: ').strip()})"))
            continue
        instructions = measured["invoke_instructions"]
        rows.append((label, instructions, instructions / window, instructions / invoke_macs, flash,
                     ram - (512 * 1024) + measured["arena_used_bytes"],
                     "yes" if measured["mismatches"] == 0 else f"no ({measured['mismatches']} codes differ)"))

    print(f"model: {args.checkpoint.name}, int16x8, {afkd['macs_per_hop']:,} MACs per {plan.hop}-sample hop; "
          f"receptive field {window} samples ({window / fs:.2f} s) = the window TFLM runs per hop")
    print("QEMU mps2-an386 (Cortex-M4F), -icount instruction counts; flash/RAM without the stack\n")
    print(f"| runtime | instructions per 40 ms hop | per output sample | per MAC | flash KB | RAM KB | same codes as TFLM |")
    print("|---|---|---|---|---|---|---|")
    for label, per_hop, per_sample, per_mac, flash, ram, exact in rows:
        def fmt(value, spec):
            return "n/a" if value is None else format(value, spec)
        print(f"| {label} | {fmt(per_hop, ',.0f')} | {fmt(per_sample, ',.0f')} | {fmt(per_mac, '.2f')} | "
              f"{flash / 1024:.0f} | {fmt(None if ram is None else ram / 1024, '.1f')} | {exact} |")
    print("\nTFLM per hop = one Invoke() over the receptive field (no streaming); per output sample = that / "
          f"{window}, what TFLM costs run on back-to-back windows.")
    print("sources: " + ", ".join(f"{name} {commit(getattr(args, name))[:12]}"
                                  for name in ("tflm", "cmsis_nn", "cmsis", "flatbuffers", "gemmlowp", "ruy")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
