"""The monitor build: the f-wave extractor and the rhythm detector on one ECG stream, one
firmware. Every hop's aa and va equal the extractor's TFLM one-shot outputs, every detector frame
equals the detector's TFLM logits on the requantized input, the running answer its sums; on host
and on the STM32 ELF under QEMU, with one footprint report."""

import functools
import json

import numpy as np
import pytest

from afkd.export.checks import run_tflm
from afkd.export.fold import fold_classifier
from afkd.export.keras_detector import build_detector_keras
from afkd.export.monitor import export_monitor, requantize_for_detector
from afkd.export.plan import plan_from_tflite
from afkd.export.tflite_export import convert
from afkd.host_tools.runners import open_runner
from afkd.training.model_detector import RhythmTCN, RhythmTCNConfig
from conftest import require_tool
from tiny_classifiers import full_range, trained_looking
from tiny_tflite import LENGTH, ecg_like, tiny_tflite

DETECTOR_HOP20 = RhythmTCNConfig(enc_channels=8, enc_kernel=40, bottleneck=8, hidden=12, blocks=3, repeats=1)


@functools.lru_cache(maxsize=None)
def detector_hop20(quant: str) -> bytes:
    model = trained_looking(RhythmTCN(DETECTOR_HOP20), 5)
    return convert(build_detector_keras(fold_classifier(model), LENGTH, leaky_relu=quant == "int16x8"), quant,
                   ecg_like(8, LENGTH))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor")
    (root / "sep.tflite").write_bytes(tiny_tflite("int16x8"))
    (root / "det.tflite").write_bytes(detector_hop20("int16x8"))
    return root


def _check_stream(build, models, runner_spec: str) -> dict:
    manifest = json.loads((build / "export.json").read_text())["monitor"]
    sep, det = (models / "sep.tflite").read_bytes(), (models / "det.tflite").read_bytes()
    sep_plan = plan_from_tflite(sep)
    hop, classes = sep_plan.hop, 4
    x = full_range(np.int16, LENGTH, 9)
    with open_runner(runner_spec, build / manifest["firmware"]) as runner:
        info = runner.info()
        assert (info.model_kind, info.hop, info.values_per_hop) == ("monitor", hop, 2 * hop + classes)
        runner.reset()
        values, counts = runner.run_values(x)
        last, _ = runner.flush_values()
        result = runner.result()
    order = [d["index"] for d in __import__("afkd.export.checks", fromlist=["interpreter"]).interpreter(sep).get_output_details()]
    outputs = run_tflm(sep, [x.reshape(1, 1, -1, 1)])[0]
    want = {k: np.asarray(outputs[order.index(t)]).reshape(-1) for k, t in sep_plan.output_tensors.items()}
    # Step t answers the extractor's hop t-1; FLUSH the last.
    aa = np.concatenate([values[1:, :hop].reshape(-1), last[:hop]])
    va = np.concatenate([values[1:, hop:2 * hop].reshape(-1), last[hop:2 * hop]])
    np.testing.assert_array_equal(aa, want["aa"])
    np.testing.assert_array_equal(va, want["va"])
    q_det = requantize_for_detector(x, manifest, np.int16)
    frames = np.asarray(run_tflm(det, [q_det.reshape(1, 1, -1, 1)], 1)[0][0]).reshape(-1, classes)
    ratio = manifest["ratio"]
    logits = values[:, 2 * hop:]
    np.testing.assert_array_equal(logits[ratio - 1::ratio], frames)  # frame k completes at step (k+1)*ratio-1
    np.testing.assert_array_equal(result.sums, frames.astype(np.int64).sum(axis=0))
    assert result.frames == frames.shape[0] and result.decision == int(np.argmax(frames.astype(np.int64).sum(axis=0)))
    return {"counts": counts, "manifest": manifest}


@pytest.mark.slow
def test_monitor_on_host_equals_both_models(models, tmp_path):
    require_tool("cmake")
    manifest = export_monitor(models / "sep.tflite", models / "det.tflite", tmp_path / "host", "host",
                              class_names=["N", "A", "O", "~"])
    assert manifest["ratio"] == 2 and manifest["kind"] == "monitor"
    header = (tmp_path / "host" / "model" / "monitor.h").read_text()
    assert "uint32_t monitor_step(" in header and "#define MONITOR_DETECTOR_RATIO 2" in header
    _check_stream(tmp_path / "host", models, "host")


@pytest.mark.slow
def test_monitor_stm32_on_qemu_equals_both_models_with_one_footprint(models, tmp_path):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    manifest = export_monitor(models / "sep.tflite", models / "det.tflite", tmp_path / "stm32", "stm32")
    run = _check_stream(tmp_path / "stm32", models, "qemu")
    footprint = manifest["footprint"]
    assert footprint["flash"]["weights"] > 0 and footprint["ram"]["model_state"] > 0
    assert footprint["heap"]["uses_heap"] is False
    # a hop that completes a detector frame costs more than one that does not
    assert run["counts"][1::2].mean() > run["counts"][0::2].mean() > 0


def test_monitor_refuses_what_it_cannot_join(models, tmp_path, capsys):
    from afkd import cli
    from afkd.errors import AfkdError
    from afkd.export.monitor import monitor_context

    assert cli.main(["export", "--checkpoint", "x.pt", "--detector", "y.pt", "--target", "tflite",
                     "--out", str(tmp_path / "o")]) == 2
    assert "--detector: the monitor is a firmware build" in capsys.readouterr().err
    sep = {"output_kind": "decoded", "fs": 250, "hop": 10, "sample_bytes": 1, "mode": "int8"}
    det = {"output_kind": "frames", "fs": 250, "hop": 25, "sample_bytes": 1, "mode": "int8"}
    with pytest.raises(AfkdError, match="not a multiple of the extractor's"):
        monitor_context(sep, det, "monitor", False, None, None)
    with pytest.raises(AfkdError, match="do not fit"):
        monitor_context(sep, {**det, "hop": 20, "sample_bytes": 2, "mode": "int16x8"}, "monitor", False, None, None)
    with pytest.raises(AfkdError, match="three different prefixes"):
        export_monitor(models / "sep.tflite", models / "det.tflite", tmp_path / "m", "host", detector_prefix="dtfe")
