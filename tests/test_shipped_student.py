"""The shipped FitNet student, as a user takes it: export (ONNX, TFLite, stm32, host) and validate.

Issue acceptance: the host build and the QEMU run of the STM32 ELF give AA and VA bit-exact
with the quantized model run in TFLM, in both quantization modes, on 20 segments of 30 s.
"""

import json
from pathlib import Path

import pytest

from afkd import cli
from conftest import require_tool

STUDENT = Path(__file__).resolve().parents[1] / "models" / "student_fitnet.pt"
PRUNED = STUDENT.with_name("student_fitnet_pruned.pt")


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    out = tmp_path_factory.mktemp("shipped") / "val"
    assert cli.main(["data", "synth", "--records", "20", "--seconds", "30", "--seed", "7", "--dataset",
                     "--out", str(out)]) == 0
    return out


def test_the_shipped_models_are_small_and_load():
    from afkd.training.checkpoint import load_checkpoint

    models = sorted(STUDENT.parent.rglob("*.pt"))
    names = {str(p.relative_to(STUDENT.parent)) for p in models}
    # The shipped models (fine-tuned on the rhythms) and the AF-only models they came from.
    assert names >= {"teacher.pt", "student_fitnet.pt", "student_none.pt", "af_only/teacher.pt",
                     "af_only/student_fitnet.pt", "af_only/student_at.pt", "af_only/student_none.pt"}
    assert sum(p.stat().st_size for p in models) < 20 * 2**20
    for path in models:
        model, meta = load_checkpoint(path)
        # the f-wave models, and the classifiers (tests/test_shipped_classifiers.py)
        roles = ("teacher", "student", "detector", "resnet34-narrow", "beat-cnn")
        assert meta["role"] in roles and model.cfg.fs == 250


@pytest.mark.slow
def test_shipped_student_exports_to_onnx_and_tflite_in_one_command_each(tmp_path):
    assert cli.main(["export", "--checkpoint", str(STUDENT), "--target", "onnx", "--out", str(tmp_path / "onnx")]) == 0
    onnx = json.loads((tmp_path / "onnx" / "export.json").read_text())
    assert onnx["onnx_max_abs_err"] < 1e-4
    assert cli.main(["export", "--checkpoint", str(STUDENT), "--target", "tflite", "--out", str(tmp_path / "tfl")]) == 0
    tflite = json.loads((tmp_path / "tfl" / "export.json").read_text())
    assert tflite["quantization"]["mode"] == "int16x8" and tflite["tflite_int16x8_snr_db"] >= 30.0
    # Every TFLite export measures both modes and the ONNX form, so the user sees the choice.
    assert {"onnx_max_abs_err", "tflite_int8_snr_db", "tflm_bit_exact", "ops"} <= set(tflite)
    assert tflite["tflite_int8_snr_db"] < tflite["tflite_int16x8_snr_db"] and tflite["onnx_max_abs_err"] < 1e-4
    assert tflite["stream_reference_vs_tflm_bit_exact"] is True


@pytest.mark.slow
@pytest.mark.parametrize("quant,storage", [("int16x8", "int16"), ("int8", "int16"), ("int16x8", "int8"), ("int8", "int8")])
@pytest.mark.parametrize("target,runner", [("host", "host"), ("stm32", "qemu")])
def test_shipped_student_firmware_is_bit_exact_on_20_segments(segments, tmp_path, quant, storage, target, runner):
    """Both quantization modes, each with both weight storages (int16, the default, and int8)."""
    require_tool("cmake")
    if runner == "qemu":
        require_tool("arm-none-eabi-gcc")
        require_tool("qemu-system-arm")
    build = tmp_path / "fw"
    assert cli.main(["export", "--checkpoint", str(STUDENT), "--target", target, "--quant", quant,
                     "--weight-storage", storage, "--out", str(build)]) == 0
    assert json.loads((build / "export.json").read_text())["firmware"]["weight_storage"] == storage
    report_path = tmp_path / "report.json"
    code = cli.main(["validate", "--build", str(build), "--runner", runner, "--data", str(segments),
                     "--segments", "20", "--json", str(report_path)])
    report = json.loads(report_path.read_text())
    assert code == 0, report["checks"]["failures"]
    exact = report["fidelity"]["vs_tflite"]
    assert exact["bit_exact"] and exact["samples"] == 2 * 20 * 7500
    assert report["fidelity"]["streaming"]["equal"] and len(report["segments"]) == 20
    # The student looks 8 hops ahead, so its output lags the ECG by 80 samples: compared with the
    # ground truth it estimates it separates (eval: about 6 dB); unaligned it would be below 0 dB.
    assert report["quality"]["snr_aa_db"] > 3.0


def test_the_shipped_pruned_student_is_the_student_with_whole_channels_removed():
    """models/student_fitnet_pruned.pt: the same architecture, narrower in every pruned group
    (a smaller dense model, not the student with zeroed weights)."""
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.model import count_parameters
    from afkd.training.pruning import dtfenet_channels

    pruned, meta = load_checkpoint(PRUNED)
    # Pruned from the AF-only FitNet student, which was models/student_fitnet.pt then.
    student, _ = load_checkpoint(STUDENT.parent / "af_only" / "student_fitnet.pt")
    assert meta["pruned"]["from"] == "models/student_fitnet.pt"
    widths = {g.name: g.size for g in dtfenet_channels.channel_groups(pruned)}
    full = {g.name: g.size for g in dtfenet_channels.channel_groups(student)}
    assert widths.keys() == full.keys() and all(widths[n] <= full[n] for n in full)
    assert count_parameters(pruned) <= 0.6 * count_parameters(student)  # 40.4 % removed
    for name, p in pruned.state_dict().items():
        if p.dim() >= 2:  # no output channel of a weight tensor is all zero
            assert p.flatten(1).abs().sum(dim=1).min() > 0, name


@pytest.mark.slow
@pytest.mark.parametrize("quant,storage", [("int16x8", "int16"), ("int16x8", "int8"), ("int16x8", "mixed")])
def test_shipped_pruned_student_firmware_is_bit_exact(segments, tmp_path, quant, storage):
    """The pruned student's default build, its compact (int8-stored) build and the mixed one it
    ships in (int8 1x1 weights, int16 taps), on the host."""
    require_tool("cmake")
    build = tmp_path / "fw"
    assert cli.main(["export", "--checkpoint", str(PRUNED), "--target", "host", "--quant", quant,
                     "--weight-storage", storage, "--out", str(build)]) == 0
    report_path = tmp_path / "report.json"
    code = cli.main(["validate", "--build", str(build), "--runner", "host", "--data", str(segments),
                     "--segments", "5", "--json", str(report_path)])
    report = json.loads(report_path.read_text())
    assert code == 0, report["checks"]["failures"]
    exact = report["fidelity"]["vs_tflite"]
    assert exact["bit_exact"] and exact["samples"] == 2 * 5 * 7500
    assert report["fidelity"]["streaming"]["equal"]
    assert report["quality"]["snr_aa_db"] > 3.0


@pytest.mark.slow
def test_shipped_pruned_student_stm32_build_is_bit_exact_on_qemu(segments, tmp_path):
    """The build models/README.md gives for the pruned student (mixed storage, -Os), as the
    STM32 ELF under QEMU: bit-exact with TFLM, streaming equal to one-shot. Its flash and
    instructions per hop are benchmark figures (benchmarks/bench_firmware.py), not asserted here."""
    require_tool("cmake")
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    build = tmp_path / "fw"
    assert cli.main(["export", "--checkpoint", str(PRUNED), "--target", "stm32", "--weight-storage", "mixed",
                     "--optimize", "size", "--out", str(build)]) == 0
    definitions = (build / "CMakeLists.txt").read_text()
    assert "AFKD_S16_DENSE_W16=0" in definitions and "AFKD_S16_TAPS_W8=0" in definitions
    report_path = tmp_path / "report.json"
    code = cli.main(["validate", "--build", str(build), "--runner", "qemu", "--data", str(segments),
                     "--segments", "2", "--json", str(report_path)])
    report = json.loads(report_path.read_text())
    assert code == 0, report["checks"]["failures"]
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["fidelity"]["streaming"]["equal"]
    assert report["timing"]["unit"] == "instructions"
