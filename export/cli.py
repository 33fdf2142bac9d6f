"""``afkd export`` (alias ``afkd-export``): a checkpoint to ONNX, TFLite or a firmware project.

Each ``--target`` maps to one function taking the parsed arguments and returning the
manifest it wrote (``DIR/export.json``). The firmware targets quantize first (the .tflite is
the numeric reference) and then write and build a CMake project (export.firmware_project).
"""

from __future__ import annotations

import argparse
from typing import Callable

from afkd.argtypes import finite_float, positive_float, positive_int
from afkd.errors import AfkdError

FIRMWARE_TARGETS = ("stm32", "host", "qemu", "renode")
#: the generated C symbols' prefix per model kind, unless --prefix says otherwise
DEFAULT_PREFIX = {"separator": "dtfe", "detector": "rhythm", "window": "beat"}


def _onnx(args: argparse.Namespace) -> dict:
    from afkd.export.onnx_export import export_onnx

    return export_onnx(args.checkpoint, args.out, seconds=args.seconds, dynamic=args.dynamic)


def _tflite(args: argparse.Namespace) -> dict:
    from afkd.export.tflite_export import export_tflite

    return export_tflite(args.checkpoint, args.out, quant=args.quant, calibration=args.calibration,
                         calibration_segments=args.calibration_segments,
                         validation_segments=args.validation_segments, seconds=args.seconds,
                         headroom=args.headroom)


def _monitor(args: argparse.Namespace) -> dict:
    """The monitor: quantize the extractor (--checkpoint) and the detector (--detector), build both
    into one firmware (export.monitor)."""
    import tempfile
    from pathlib import Path

    from afkd.export.monitor import export_monitor

    with tempfile.TemporaryDirectory(prefix="afkd-monitor-") as scratch:
        refs = {}
        for role, checkpoint in (("separator", args.checkpoint), ("detector", args.detector)):
            out = Path(scratch) / role
            refs[role] = _tflite(argparse.Namespace(**{**vars(args), "checkpoint": checkpoint, "out": out}))
            refs[role]["_path"] = out / refs[role]["files"][refs[role]["quantization"]["mode"]]
        if refs["separator"]["kind"] != "separator" or refs["detector"]["kind"] != "detector":
            raise AfkdError("--detector: the monitor joins an f-wave extractor (--checkpoint) and a rhythm "
                            f"detector (--detector), not a {refs['separator']['kind']} and a {refs['detector']['kind']}")
        paths = {role: refs[role].pop("_path") for role in refs}
        firmware = export_monitor(paths["separator"], paths["detector"], Path(args.out), args.target,
                                  class_names=refs["detector"]["classes"], build=not args.no_build,
                                  fs=refs["separator"]["fs"], separator_manifest=refs["separator"],
                                  detector_manifest=refs["detector"])
    both = all(refs[role].get("stream_reference_vs_tflm_bit_exact") for role in refs)
    return {**refs["separator"], "monitor": firmware, "stream_reference_vs_tflm_bit_exact": both,
            "detector_export": {k: refs["detector"].get(k) for k in
                                ("stream_reference_vs_tflm_bit_exact", "tflm_bit_exact", "quantized_vs_float")}}


def _firmware(args: argparse.Namespace) -> dict:
    """Quantize to TFLite (the numeric reference), then generate and build the C project."""
    if getattr(args, "detector", None):
        return _monitor(args)
    import tempfile
    from pathlib import Path

    from afkd.export.c_literals import c_prefix
    from afkd.export.firmware_project import export_firmware

    if args.prefix is not None:
        c_prefix(args.prefix)  # refuse a bad prefix, board, clock or UART before minutes of quantization
    from afkd.export.boards import board_for, clock_for, uart_for

    chosen = board_for(args.target, args.board)
    if chosen.name != "host":
        clock_for(chosen, args.clock_hz)
        uart_for(chosen, args.uart)
    adc = None
    if args.adc_gain_mv is not None:
        adc = {"rate": args.adc_rate, "gain_mv": args.adc_gain_mv, "offset": args.adc_offset}
    elif args.adc_rate is not None or args.adc_offset is not None:
        raise AfkdError("--adc-rate/--adc-offset: the front end also needs --adc-gain-mv (mV per ADC count)")
    with tempfile.TemporaryDirectory(prefix="afkd-export-") as scratch:
        reference = Path(scratch) / "tflite"
        manifest = _tflite(argparse.Namespace(**{**vars(args), "out": reference}))
        tflite = reference / manifest["files"][manifest["quantization"]["mode"]]
        prefix = args.prefix or DEFAULT_PREFIX[manifest["kind"]]
        firmware = export_firmware(tflite, Path(args.out), args.target, prefix, manifest["fs"],
                                   build=not args.no_build, reference_manifest=manifest,
                                   weight_storage=args.weight_storage, board=args.board, clock_hz=args.clock_hz,
                                   uart=args.uart, adc=adc, optimize=args.optimize)
    return {**manifest, "firmware": firmware}


TARGETS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "onnx": _onnx, "tflite": _tflite, **{name: _firmware for name in FIRMWARE_TARGETS},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from afkd.export.tflite_export import DEFAULT_QUANT, QUANT_MODES

    parser.add_argument("--checkpoint", required=True, help="afkd checkpoint (.pt) to export")
    parser.add_argument("--target", required=True, choices=sorted(TARGETS),
                        help="onnx, tflite (float32 + full-integer) or a firmware target")
    parser.add_argument("--out", required=True, help="output directory (replaced atomically)")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even when it holds files that are not an earlier export's")
    parser.add_argument("--seconds", type=positive_float, default=None,
                        help="fixed input length in seconds at the model rate (default 30 for the f-wave "
                        "models, 64 for a rhythm detector: longer than any CinC 2017 record; the beat CNN "
                        "reads its window)")
    parser.add_argument("--dynamic", action="store_true",
                        help="onnx: any input length (a multiple of the hop) instead of a fixed one")
    parser.add_argument("--quant", choices=QUANT_MODES, default=DEFAULT_QUANT,
                        help=f"tflite: int8 or int16x8 (16-bit activations, 8-bit weights); default {DEFAULT_QUANT}")
    parser.add_argument("--calibration", default=None,
                        help="tflite: dataset directory at the model rate for calibration and "
                        "validation windows (default: synthetic ECG)")
    parser.add_argument("--calibration-segments", type=positive_int, default=16,
                        help="tflite: windows used to calibrate activation ranges (default 16)")
    parser.add_argument("--headroom", type=finite_float, default=None,
                        help="tflite: widen every activation range by this gain by also calibrating on "
                        "GAIN x each window, so louder real recordings do not clip (default 8 for int16x8, "
                        "1 for int8, where wider ranges cost resolution)")
    parser.add_argument("--validation-segments", type=positive_int, default=4,
                        help="tflite: other windows for the quantized-vs-float figures (default 4)")
    parser.add_argument("--prefix", default=None,
                        help="firmware targets: prefix of every generated C symbol (default dtfe for the f-wave "
                        "models, rhythm for a detector, beat for the beat CNN)")
    parser.add_argument("--weight-storage", choices=("int16", "int8", "sparse", "mixed"), default=None,
                        help="firmware targets: keep the int8 weights of the 1x1 and encoder convs (and, "
                        "int16x8, the depthwise and decoder ones) sign-extended to int16 in flash (fastest; "
                        "the f-wave models' default) or as packed bytes (half their flash, more instructions; "
                        "the classifiers' default, for their flash budget); sparse (streaming models): as int8, "
                        "but each pruned 1x1/encoder conv whose nonzero weights and bitmap take fewer bytes is "
                        "stored so and its zero products skipped; mixed (16x8): the 1x1 and encoder weights "
                        "as int8, the depthwise and decoder ones as int16, most of int8's flash saving at a "
                        "fraction of its instructions; same bits")
    parser.add_argument("--optimize", choices=("speed", "size"), default="speed",
                        help="firmware targets: compile the model and kernels for speed (-O2, default) or size "
                        "(-Os: less flash, more instructions; same bits)")
    from afkd.export.boards import BOARDS

    parser.add_argument("--board", choices=sorted(BOARDS), default=None,
                        help="firmware targets: the board to build for (default: stm32f4 for stm32/renode, "
                             "mps2_an386 for qemu); docs/integration.md lists them")
    parser.add_argument("--clock-hz", type=int, default=None,
                        help="firmware targets: core clock the board sets up, its PLL clock (the default) or "
                             "the oscillator it resets on; CPU load is quoted at this clock")
    parser.add_argument("--uart", default=None,
                        help="firmware targets: the UART of the test protocol (default: the board's ST-LINK "
                             "virtual COM port where it has one, e.g. usart2 on Nucleo-64 boards)")
    parser.add_argument("--adc-gain-mv", type=float, default=None,
                        help="firmware targets: generate the front end <prefix>_preprocess.[ch] (ADC counts -> "
                             "the model's input, in integer arithmetic): millivolts per ADC count")
    parser.add_argument("--adc-offset", type=int, default=None,
                        help="firmware targets: the ADC count that reads 0 mV (default 0)")
    parser.add_argument("--adc-rate", type=int, default=None,
                        help="firmware targets: the ADC's sample rate in Hz when it is above the model's "
                             "(e.g. 500 or 360): the front end resamples as the dataset import does")
    parser.add_argument("--detector", default=None, metavar="CKPT",
                        help="firmware targets: build the monitor, the f-wave extractor of --checkpoint and this rhythm "
                        "detector on one ECG stream in one firmware (one protocol, one footprint report)")
    parser.add_argument("--no-build", action="store_true",
                        help="firmware targets: write the CMake project without building it")


def summary_lines(manifest: dict) -> list[str]:
    """The figures a user checks, one per line."""
    lines = [f"wrote {', '.join(manifest['files'].values())} and export.json"]
    hop = f"hop {manifest['hop']}" if manifest.get("hop") else "one window a call"
    lines.append(f"fs {manifest['fs']} Hz, {hop}, latency {manifest['latency_samples']} samples, "
                 f"input {manifest['input']['shape']}")
    if "onnx_max_abs_err" in manifest:
        lines.append(f"onnxruntime vs PyTorch: max |err| {manifest['onnx_max_abs_err']:.3g} mV "
                     f"at lengths {manifest['onnx_checked_lengths']}")
    if "quantization" in manifest:
        q = manifest["quantization"]
        fig = manifest["quantized_vs_float"]
        lines.append(f"ops: {' '.join(op['op'] for op in manifest['ops'])}")
        if "aa_snr_db" in fig:
            lines.append(f"{q['mode']}: AA SNR {fig['aa_snr_db']:.1f} dB, VA SNR {fig['va_snr_db']:.1f} dB, "
                         f"|dSC| {fig['sc_abs_diff']:.4f}, input step {fig['input_step_uv']:.3g} uV")
        else:
            per_frame = (f", running decisions {fig['frame_decision_agreement']:.2%} of frames"
                         if "frame_decision_agreement" in fig else "")
            lines.append(f"{q['mode']}: logits SNR {fig['logits_snr_db']:.1f} dB, decisions equal to PyTorch's on "
                         f"{fig['decision_agreement']:.0%} of {fig['windows']} windows{per_frame}, "
                         f"input step {fig['input_step_uv']:.3g} uV")
        if "clipping_on_validation" in manifest:
            from afkd.export.saturation import range_line

            lines.append(f"clipping on the validation windows: {range_line(manifest['clipping_on_validation'])}")
        for mode, other in manifest.get("modes", {}).items():
            if mode != q["mode"]:
                snr = other.get("aa_snr_db", other.get("logits_snr_db"))
                what = "AA" if "aa_snr_db" in other else "logits"
                lines.append(f"{mode} (measured for comparison, not written): "
                             + (f"{what} SNR {snr:.1f} dB" if snr is not None else other.get("error", "n/a")))
        lines.append(f"firmware twin (streaming plan) vs TFLM: "
                     f"{'bit exact' if manifest['stream_reference_vs_tflm_bit_exact'] else 'DIFFERENT'} "
                     f"(max {manifest['stream_reference_vs_tflm_max_lsb_diff']} LSB)")
        lines.append(f"TFLite reference kernels: {manifest['tflm_vs_reference_kernels']}")
    if "monitor" in manifest:
        mon = manifest["monitor"]
        lines.append(f"monitor ({mon['target']}, board {mon['board']}): {mon['firmware'] or 'not built (--no-build)'}; "
                     f"the detector steps every {mon['ratio']} extractor hops, {mon['macs_per_hop']} MACs per hop")
        if mon.get("footprint"):
            fp = mon["footprint"]
            lines.append(f"flash {fp['flash_bytes']} bytes (weights {fp['flash']['weights']}), "
                         f"RAM {fp['ram_bytes']} bytes (model state {fp['ram']['model_state']}, stack {fp['ram']['stack']})")
    if "firmware" in manifest:
        fw = manifest["firmware"]
        lines.append(f"firmware ({fw['target']}, board {fw['board']}): {fw['firmware'] or 'not built (--no-build)'}")
        per = "window" if fw.get("output_kind") == "window" else "hop"
        lines.append(f"model: {fw['macs_per_hop']} MACs per {per}, {fw['weight_bytes']} weight bytes, "
                     f"{'scratch' if per == 'window' else 'state'} {fw['state_bytes']} bytes, "
                     f"weights stored as {fw['weight_storage']}, compiled for {fw.get('optimize', 'speed')}")
        if fw.get("footprint"):
            fp = fw["footprint"]
            stack = fp["stack"]
            bound = (f"at most {stack['worst_bytes']} bytes used" if stack.get("worst_bytes") is not None
                     else "no bound: " + "; ".join(stack.get("problems") or ["not measured"]))
            lines.append(f"flash {fp['flash_bytes']} bytes (weights {fp['flash']['weights']}), "
                         f"RAM {fp['ram_bytes']} bytes (model state {fp['ram']['model_state']}, "
                         f"stack {fp['ram']['stack']} reserved, {bound})")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.target not in TARGETS:
        raise AfkdError(f"--target {args.target}: unknown (choose from {', '.join(sorted(TARGETS))})")
    if args.detector and args.target not in FIRMWARE_TARGETS:
        raise AfkdError(f"--detector: the monitor is a firmware build (--target {'|'.join(FIRMWARE_TARGETS)})")
    from afkd.outdir import EXPORT, check_out_dir

    check_out_dir(args.out, EXPORT, inputs=(args.checkpoint, args.calibration, args.detector), force=args.force)
    manifest = TARGETS[args.target](args)
    for line in summary_lines(manifest):
        print(line)
    # The firmware's twin (the plan + kernel parameters the C is generated from) must equal TFLM,
    # the firmware's reference. On an int8 model TFLite's reference kernels must agree with TFLM
    # too; in 16x8 they can differ (int16 MUL rounds differently and the difference propagates),
    # which export.json records but which is no fault of the export.
    if "quantization" not in manifest:
        return 0
    twin_ok = manifest.get("stream_reference_vs_tflm_bit_exact", False)
    tflite_ok = manifest["quantization"]["mode"] != "int8" or manifest.get("tflm_bit_exact", False)
    return 0 if twin_ok and tflite_ok else 1
