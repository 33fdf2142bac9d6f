"""Classifier firmware end to end, as a user runs it: afkd export --target host|stm32 ->
afkd validate on real records.

The detector is the shipped one (models/detector.pt; where a checkout has not got it yet, the
compact architecture with random weights and trained-looking statistics): on every one of the 150 CinC
2017 records in ../shared/data its firmware's frame logits equal TFLM's one-shot logits bit for
bit, its running sums and RESULT decision equal those of the one-shot frames, so its class
decision is TFLite's on every record; the STM32 ELF under QEMU does the same. The beat CNN's
firmware (the shipped models/beat_cnn.pt where there is one) equals TFLM on annotated MIT-BIH
beat windows, on host and QEMU.
"""

import json
import shutil
from pathlib import Path

import pytest
import torch

from afkd import cli
from afkd.training.checkpoint import save_checkpoint
from afkd.training.model_beat import BeatCNN
from afkd.training.model_detector import COMPACT_DETECTOR, RhythmTCN
from conftest import require_shared_data, require_tool
from tiny_classifiers import TINY_BEAT, trained_looking


SHIPPED_DETECTOR = Path(__file__).resolve().parents[1] / "models" / "detector.pt"
SHIPPED_BEAT = Path(__file__).resolve().parents[1] / "models" / "beat_cnn.pt"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("classifier_fw")
    torch.manual_seed(7)
    if SHIPPED_DETECTOR.exists():
        shutil.copy(SHIPPED_DETECTOR, root / "detector.pt")
    else:
        save_checkpoint(root / "detector.pt", trained_looking(RhythmTCN(COMPACT_DETECTOR), 7))
    if SHIPPED_BEAT.exists():  # the shipped beat CNN: 640-sample windows, one 640-byte SAMPLES frame each
        shutil.copy(SHIPPED_BEAT, root / "beat.pt")
    else:
        save_checkpoint(root / "beat.pt", trained_looking(BeatCNN(TINY_BEAT), 8))
    return root


def export(workdir, which: str, target: str, quant: str = "int16x8"):
    out = workdir / f"{which}_{target}_{quant}"
    if not out.exists():
        require_tool("cmake")
        if target != "host":
            require_tool("arm-none-eabi-gcc")
        assert cli.main(["export", "--checkpoint", str(workdir / f"{which}.pt"), "--target", target, "--quant", quant,
                         "--calibration-segments", "4", "--validation-segments", "2", "--out", str(out)]) == 0
    return out


def validate(build, data, runner: str, tmp_path, *extra) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    code = cli.main(["validate", "--build", str(build), "--runner", runner, "--data", str(data),
                     "--json", str(report), *extra])
    return code, json.loads(report.read_text())


@pytest.mark.slow
def test_detector_firmware_decisions_equal_tflite_on_every_cinc_record(workdir, tmp_path):
    data = require_shared_data("cinc2017")
    code, report = validate(export(workdir, "detector", "host"), data, "host", tmp_path, "--segments", "0")
    assert code == 0, report["checks"]["failures"]
    assert len(report["records"]) == 150
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["fidelity"]["streaming"]["equal"]
    c = report["classification"]
    assert c["items"] == 150 and c["agreement_tflite"] == 1.0 and c["disagreeing_with_tflite"] == []
    assert all(r["firmware"] == r["tflite"] for r in report["records"])
    assert c["labelled"] == 150 and c["agreement_torch"] is not None  # labels from REFERENCE.csv
    # 9-61 s records at 250 Hz, hop 20: every frame of every record was compared
    frames = sum(r["frames"] for r in report["records"])
    assert report["fidelity"]["vs_tflite"]["samples"] == 4 * frames and frames > 150 * 9 * 250 // 20


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["int16x8", "int8"])
def test_detector_stm32_elf_on_qemu_is_bit_exact_with_counts(workdir, tmp_path, quant):
    require_tool("qemu-system-arm")
    data = require_shared_data("cinc2017")
    code, report = validate(export(workdir, "detector", "stm32", quant), data, "qemu", tmp_path, "--segments", "3")
    assert code == 0, report["checks"]["failures"]
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["fidelity"]["streaming"]["equal"]
    assert report["classification"]["agreement_tflite"] == 1.0 and report["target"] == "stm32f4"
    timing = report["timing"]
    assert timing["unit"] == "instructions" and timing["hop"] == COMPACT_DETECTOR.hop
    assert timing["instructions_per_hop"] > timing["macs_per_hop"] > 0
    footprint = report["footprint"]
    assert footprint["heap"]["uses_heap"] is False and footprint["flash_bytes"] > footprint["flash"]["weights"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("target,runner", [("host", "host"), ("stm32", "qemu")])
def test_beat_firmware_equals_tflm_on_mitdb_beats(workdir, tmp_path, target, runner):
    if runner == "qemu":
        require_tool("qemu-system-arm")
    data = require_shared_data("mitdb")
    code, report = validate(export(workdir, "beat", target, "int8"), data, runner, tmp_path,
                            "--windows-per-record", "40")
    assert code == 0, report["checks"]["failures"]
    assert len(report["records"]) == 40 and all(r["label"] in ("N", "S", "V", "F", "Q") for r in report["records"])
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["classification"]["agreement_tflite"] == 1.0
    if runner == "qemu":
        assert report["timing"]["per_hop_mean"] > report["timing"]["macs_per_hop"] > 0  # per classification
