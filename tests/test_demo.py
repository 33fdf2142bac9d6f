"""``afkd demo`` PASSes on more than bit-exactness: its quality thresholds hold for its own run
and fail for an untrained student of the same size on the same data."""

import json

import pytest
import torch

from afkd import cli
from afkd.demo import DEMO_THRESHOLDS
from conftest import require_tool


@pytest.mark.slow
def test_the_demo_meets_its_quality_thresholds_and_an_untrained_student_does_not(tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--threads", "1"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["checks"]["passed"] and report["checks"]["thresholds"]["min_snr_aa_db"] == DEMO_THRESHOLDS["min_snr_aa_db"]
    assert report["quality"]["snr_aa_db"] >= DEMO_THRESHOLDS["min_snr_aa_db"]

    from afkd.training.checkpoint import load_checkpoint, save_checkpoint
    from afkd.training.model import DTFENet

    trained, _ = load_checkpoint(out / "student" / "best.pt")
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "untrained.pt", DTFENet(trained.cfg).eval())
    assert cli.main(["export", "--checkpoint", str(tmp_path / "untrained.pt"), "--target", "host",
                     "--calibration", str(out / "data" / "train"), "--out", str(tmp_path / "untrained")]) == 0
    (tmp_path / "demo_thresholds.json").write_text(json.dumps(DEMO_THRESHOLDS))
    assert cli.main(["validate", "--build", str(tmp_path / "untrained"), "--runner", "host",
                     "--data", str(out / "data" / "val"), "--thresholds", str(tmp_path / "demo_thresholds.json"),
                     "--json", str(tmp_path / "untrained.json")]) == 1
    untrained = json.loads((tmp_path / "untrained.json").read_text())
    assert untrained["fidelity"]["vs_tflite"]["bit_exact"]  # bit-exact, and still a FAIL
    assert [f.split(":")[0] for f in untrained["checks"]["failures"]] == ["min_snr_aa_db"]
    print(f"demo SNR_AA {report['quality']['snr_aa_db']:.2f} dB, untrained {untrained['quality']['snr_aa_db']:.2f} dB")
