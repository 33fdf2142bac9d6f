"""Validate a built firmware: run it, compare it with TFLite (TFLM) and PyTorch, report.

One segment at a time, the ECG is quantized with the model's input parameters and sent to
the firmware (RESET, SAMPLES..., FLUSH). The same integer input goes through TFLM's
interpreter (the numeric reference the firmware must equal bit for bit) and, dequantized
back to mV, through the float PyTorch model. The firmware's stream is realigned by the
model's latency (output hop t arrives with input hop t+1; FLUSH gives the last hop), so the
comparison is sample for sample. A model with lookahead estimates the signal of
``lookahead_samples`` earlier (export.json), so ground truth is shifted by as much before the
SNR is taken.

The .tflite has a fixed input length (``export --seconds``). A segment of that length is
compared whole. A shorter one is zero-padded for TFLM, which leaves every output hop but the
last unchanged (the network is causal); the last hop is then compared with the NumPy streaming
reference, whose equality with TFLite one-shot is tested separately.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from afkd.errors import AfkdError
from afkd.host_tools import compare, report
from afkd.host_tools.build_manifest import check_build_manifest
from afkd.host_tools.runners import check_runner_spec, find_firmware, open_runner

def _runner_boards(kind: str) -> tuple[str, ...]:
    """The boards a runner can run: QEMU's and Renode's from export/boards.py; a serial port any."""
    from afkd.export.boards import BOARDS

    if kind == "host":
        return ("host",)
    if kind == "qemu":
        return tuple(b.name for b in BOARDS.values() if b.qemu_machine)
    if kind == "renode":
        return tuple(b.name for b in BOARDS.values() if b.renode)
    return tuple(b.name for b in BOARDS.values() if b.name != "host")


@dataclass
class FirmwareBuild:
    """An ``afkd export --target <firmware>`` output directory."""

    root: Path
    manifest: dict[str, Any]  # export.json
    tflite: bytes
    firmware: Path

    @property
    def fw(self) -> dict[str, Any]:
        return self.manifest["firmware"]

    @property
    def quant(self) -> dict[str, Any]:
        return self.manifest["quantization"]


def load_build(root: str | Path, runner: str) -> FirmwareBuild:
    check_runner_spec(runner)  # a typo is a bad runner, not a target mismatch
    root = Path(root)
    manifest_path = root / "export.json"
    if not manifest_path.is_file():
        raise AfkdError(f"{root}: not an afkd firmware build (no export.json; run afkd export --target stm32)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise AfkdError(f"{manifest_path}: not valid JSON ({err.msg})") from None
    except ValueError:  # not UTF-8
        raise AfkdError(f"{manifest_path}: not valid JSON (not UTF-8 text)") from None
    if isinstance(manifest, dict) and isinstance(manifest.get("monitor"), dict):
        raise AfkdError(f"{root}: a monitor build (extractor + detector); validate each model's own build "
                        "(tests/test_monitor.py checks the monitor against both)")
    fw = manifest.get("firmware") if isinstance(manifest, dict) else None
    if not isinstance(fw, dict) or "board" not in fw:
        raise AfkdError(f"{root}: export.json describes no firmware (export with --target stm32|qemu|host)")
    check_build_manifest(manifest, manifest_path)
    kind = runner.split(":")[0]
    boards = _runner_boards(kind)
    if fw["board"] not in boards:
        raise AfkdError(f"{root}: firmware built for {fw['board']}, the {kind} runner needs "
                        f"{' or '.join(boards)} (re-export with the matching --board)")
    if not fw.get("firmware"):
        raise AfkdError(f"{root}: the project was exported with --no-build; build it first")
    firmware = find_firmware(root / fw["firmware"], ())
    _check_machine(firmware, fw["board"])
    tflite_path = root / fw["tflite"]
    if not tflite_path.is_file():
        raise AfkdError(f"{tflite_path}: the reference model is missing from the build")
    return FirmwareBuild(root, manifest, tflite_path.read_bytes(), firmware)


def _check_machine(firmware: Path, board: str) -> None:
    """The file on disk must be what export.json says: an ARM ELF for a board, else a host binary."""
    head = firmware.read_bytes()[:20]
    if head[:4] != b"\x7fELF":
        raise AfkdError(f"{firmware}: not an ELF file")
    machine = int.from_bytes(head[18:20], "little")
    arm = machine == 40  # EM_ARM
    if arm != (board != "host"):
        raise AfkdError(f"{firmware}: an ELF for {'ARM' if arm else 'another machine'}, "
                        f"but export.json says board {board}")


def _tflm_outputs(tflite: bytes, x: np.ndarray, positions: dict[str, int]) -> dict[str, np.ndarray]:
    from afkd.export.checks import run_tflm

    out = run_tflm(tflite, [x.reshape(1, 1, -1, 1)])[0]
    return {name: np.asarray(out[pos]).reshape(-1) for name, pos in positions.items()}


class Validator:
    """Holds the references (TFLM, streaming plan, PyTorch) for one build."""

    def __init__(self, build: FirmwareBuild, checkpoint: str | Path | None):
        from afkd.export.plan import plan_from_tflite
        from afkd.export.stream_ref import StreamingReference

        self.build = build
        q = build.quant
        self.dtype = np.dtype(q["input"]["dtype"])
        self.in_scale, self.in_zp = float(q["input"]["scale"]), int(q["input"]["zero_point"])
        self.outputs = {name: (float(o["scale"]), int(o["zero_point"])) for name, o in q["outputs"].items()}
        self.positions = {name: int(o["subgraph_output_position"]) for name, o in q["outputs"].items()}
        self.length = int(build.manifest["input"]["shape"][2])
        self.hop = int(build.manifest["hop"])
        self.lookahead = int(build.manifest.get("lookahead_samples", 0))  # exports before lookahead: none
        self.fs = int(build.manifest["fs"])
        self.stream_ref = StreamingReference(plan_from_tflite(build.tflite, build.fw["tflite"]))
        self.torch_model = None
        if checkpoint is not None:
            from afkd.training.checkpoint import load_checkpoint

            self.torch_model, _ = load_checkpoint(checkpoint)

    def quantize(self, mv: np.ndarray) -> np.ndarray:
        from afkd.export.checks import quantize

        return quantize(mv, self.in_scale, self.in_zp, self.dtype)

    def references(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """TFLM's outputs for ``q`` (any length up to the model's), completed by the stream reference."""
        n = q.size
        if n > self.length:
            raise AfkdError(f"segment of {n} samples is longer than the model's {self.length}")
        padded = np.full(self.length, self.in_zp, dtype=self.dtype)
        padded[:n] = q
        tflm = _tflm_outputs(self.build.tflite, padded, self.positions)
        if n == self.length:
            return tflm
        tail = self.stream_ref.run(q)  # only its last hop is used: TFLM saw padding after it
        return {k: np.concatenate([tflm[k][: n - self.hop], tail[k][n - self.hop:]]) for k in tflm}

    def torch_outputs(self, mv: np.ndarray) -> dict[str, np.ndarray] | None:
        if self.torch_model is None:
            return None
        import torch

        with torch.no_grad():
            aa, va = self.torch_model(torch.from_numpy(mv.astype(np.float32))[None])
        return {"aa": aa[0].numpy(), "va": va[0].numpy()}

    def dequantize(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: compare.dequantize(v, *self.outputs[k]) for k, v in outputs.items()}


def run_segments(validator: Validator, runner_spec: str, segments: list[dict], *, timeout_s: float = 10.0,
                 progress=None) -> dict[str, Any]:
    """Stream every segment through the firmware; collect what the report needs."""
    hop = validator.hop
    firmware_out, reference_out, torch_ref, firmware_mv, inputs = [], [], [], [], []
    counts, qualities, traces, ids, used = [], [], [], [], []
    with open_runner(runner_spec, validator.build.firmware, timeout_s=timeout_s) as runner:
        info = runner.info()
        expected = str(validator.build.fw.get("tflite_sha256", ""))[:16]
        if expected and info.model_hash != expected:
            raise AfkdError(f"{validator.build.firmware}: the firmware runs model {info.model_hash}, but the "
                            f"build's {validator.build.fw['tflite']} is {expected}: it was built from another "
                            "model (rebuild it, or re-export)")
        if info.hop != hop or info.sample_bytes != validator.dtype.itemsize:
            raise AfkdError(f"{validator.build.firmware}: the firmware answers hop {info.hop} x "
                            f"{info.sample_bytes} bytes, export.json says hop {hop} x {validator.dtype.itemsize}")
        for seg in segments:
            n = (min(seg["ecg"].size, validator.length) // hop) * hop
            if n < 2 * hop:
                continue
            mv = seg["ecg"][:n].astype(np.float32)
            q = validator.quantize(mv)
            runner.reset()
            aa, va, c = runner.run(q)
            last_aa, last_va, _ = runner.flush()
            # Step t answers output hop t-1 (latency one hop); FLUSH gives the last.
            fw = {"aa": np.concatenate([aa[hop:], last_aa]), "va": np.concatenate([va[hop:], last_va])}
            firmware_out.append(fw)
            inputs.append(q)
            reference_out.append(validator.references(q))
            fw_mv = validator.dequantize(fw)
            firmware_mv.append(fw_mv)
            # The float model sees the ECG itself: input quantization is part of the firmware's error.
            torch = validator.torch_outputs(mv)
            if torch is not None:
                torch_ref.append(torch)
            counts.append(c)
            ids.append(str(seg.get("id", len(ids))))
            used.append(seg)
            truth = {k: seg[k][:n] for k in ("aa", "va") if k in seg and np.all(np.isfinite(seg[k][:n]))}
            # Output sample i estimates the truth at i - lookahead: SNR over the samples both cover
            # (none in a segment no longer than the lookahead: SC only, as without ground truth).
            lag = validator.lookahead
            truth = truth if n > lag else {}
            truth_at_output = {k: np.concatenate([np.full(lag, np.nan, v.dtype), v[: n - lag]]) for k, v in truth.items()}
            qualities.append(report.segment_quality(ids[-1], fw_mv["aa"], validator.fs, va=fw_mv["va"],
                                                    aa_true=truth.get("aa"), va_true=truth.get("va"),
                                                    label=seg.get("label"), lag=lag))
            if len(traces) < 4:
                # The plots show every signal at output time: the ECG delayed by the lag too, so that
                # an extracted P wave sits before its QRS as in the input.
                ecg_at_output = np.concatenate([np.full(lag, np.nan, np.float32), mv[: n - lag]]) if lag < n else mv
                traces.append({"id": ids[-1], "fs": validator.fs, "ecg": ecg_at_output, "lag": lag,
                               "aa": fw_mv["aa"], "va": fw_mv["va"],
                               **({"aa_reference": torch["aa"]} if torch is not None else {}),
                               **({"aa_true": truth_at_output["aa"]} if "aa" in truth else {}),
                               **({"va_true": truth_at_output["va"]} if "va" in truth else {})})
            if progress:
                progress(len(ids))
    if not ids:
        raise AfkdError("no segment long enough to validate (need at least two hops)")
    return {"info": info, "inputs": inputs, "firmware": firmware_out, "reference": reference_out, "firmware_mv": firmware_mv,
            "torch": torch_ref, "counts": np.concatenate(counts), "quality": qualities, "traces": traces, "ids": ids,
            "used_segments": used}
