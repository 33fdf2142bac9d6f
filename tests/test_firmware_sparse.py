"""Compressed sparse weights are bit-exact end to end: a tiny DT-FENet whose 1x1 convs are
magnitude-pruned, exported with ``--weight-storage sparse`` for the host, equals TFLM bit for
bit on synthetic segments with the stream equal to the one-shot model (afkd validate), in both
quantization modes; the pruned layers are stored compressed and run the sparse kernels, and
changing their stored weights is caught.
"""

import json
import re
import shutil
import subprocess

import pytest
import torch

from afkd import cli
from afkd.training.checkpoint import save_checkpoint
from conftest import require_tool
from tiny_tflite import tiny_model

SECONDS = 2
SPARSITY = 0.8


def prune_pointwise(model: torch.nn.Module, sparsity: float) -> torch.nn.Module:
    """Zero the smallest-magnitude ``sparsity`` of each 1x1 conv's weights (no retraining)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv1d) and module.kernel_size == (1,) and module.groups == 1:
                w = module.weight
                cut = w.abs().flatten().kthvalue(int(sparsity * w.numel())).values
                w.mul_((w.abs() > cut).to(w.dtype))
    return model


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    require_tool("cmake")
    root = tmp_path_factory.mktemp("sparse")
    save_checkpoint(root / "pruned.pt", prune_pointwise(tiny_model(), SPARSITY))
    assert cli.main(["data", "synth", "--records", "4", "--seconds", str(SECONDS), "--seed", "5",
                     "--dataset", "--out", str(root / "data")]) == 0
    return root


def _export(workdir, quant: str, target: str = "host"):
    out = workdir / f"{target}_{quant}"
    if not out.exists():
        assert cli.main(["export", "--checkpoint", str(workdir / "pruned.pt"), "--target", target, "--quant", quant,
                         "--seconds", str(SECONDS), "--calibration-segments", "4", "--validation-segments", "2",
                         "--weight-storage", "sparse", "--out", str(out)]) == 0
    return out


def _validate(build, data, tmp_path, *extra, runner: str = "host"):
    report = tmp_path / "report.json"
    code = cli.main(["validate", "--build", str(build), "--runner", runner, "--data", str(data),
                     "--json", str(report), *extra])
    return code, json.loads(report.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["int8", "int16x8"])
def test_sparse_host_firmware_is_bit_exact_with_tflm(workdir, tmp_path, quant):
    build = _export(workdir, quant)
    assert json.loads((build / "export.json").read_text())["firmware"]["weight_storage"] == "sparse"
    weights_c = (build / "model" / "dtfe_weights.c").read_text()
    model_c = (build / "model" / "dtfe_model.c").read_text()
    sparse_layers = re.findall(r"const afkd_sparse_s(?:8|16)_params dtfe_(\w+)_params", weights_c)
    # every pruned 1x1 conv (bottleneck, in/out convs of each block, self conv: both paths) went sparse
    assert len(sparse_layers) >= 10 and all(f"dtfe_{name}_bitmap" in weights_c for name in sparse_layers)
    assert model_c.count("afkd_dense_sparse_s") == len(sparse_layers)
    assert "dtfe_aa_encoder_weights" in weights_c      # the unpruned encoder stays dense int8
    code, report = _validate(build, workdir / "data", tmp_path)
    assert code == 0, report["checks"]["failures"]
    exact = report["fidelity"]["vs_tflite"]
    assert exact["bit_exact"] and exact["max_abs_lsb"] == 0 and exact["samples"] == 2 * 4 * SECONDS * 250
    assert report["fidelity"]["streaming"]["equal"]


@pytest.mark.slow
def test_sparse_stm32_elf_on_qemu_is_bit_exact(workdir, tmp_path):
    """The Cortex-M4 build (arm-none-eabi-gcc, DSP output stages) of the same sparse layers."""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    build = _export(workdir, "int16x8", target="stm32")
    code, report = _validate(build, workdir / "data", tmp_path, "--segments", "2", runner="qemu")
    assert code == 0, report["checks"]["failures"]
    assert report["fidelity"]["vs_tflite"]["bit_exact"] and report["fidelity"]["streaming"]["equal"]
    assert report["footprint"]["flash"]["weights"] > 0


@pytest.mark.slow
def test_changed_sparse_weights_are_caught(workdir, tmp_path):
    """The check can fail: negating one compressed layer's nonzero weights breaks bit-exactness."""
    build = tmp_path / "wrong"
    shutil.copytree(_export(workdir, "int8"), build)
    source = build / "model" / "dtfe_weights.c"
    text = source.read_text()
    match = re.search(r"dtfe_aa_block1_in_values\[\d+\][^=]*= \{(.*?)\};", text, re.S)
    assert match, "aa_block1_in is not stored sparse"
    flipped = re.sub(r"-?\d+", lambda m: str(-max(int(m.group()), -127)), match.group(1))
    source.write_text(text[:match.start(1)] + flipped + text[match.end(1):])
    shutil.rmtree(build / "build")
    subprocess.run(["cmake", "-S", str(build), "-B", str(build / "build"), "-DAFKD_BOARD=host"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(build / "build")], check=True, capture_output=True)
    code, report = _validate(build, workdir / "data", tmp_path, "--segments", "2")
    assert code == 1 and not report["fidelity"]["vs_tflite"]["bit_exact"]


def test_sparse_storage_keeps_unpruned_layers_as_int8():
    """Where the bitmap would not pay (an unpruned model), sparse storage writes int8's arrays."""
    from afkd.export.codegen import build_context
    from afkd.export.plan import plan_from_tflite
    from tiny_tflite import tiny_tflite

    plan = plan_from_tflite(tiny_tflite("int8"), "tiny.tflite")
    sparse = build_context(plan, "dtfe", 250, "tiny.tflite", "0" * 64, "sparse")
    dense = build_context(plan, "dtfe", 250, "tiny.tflite", "0" * 64, "int8")
    assert not any(p["ctype"].startswith("afkd_sparse") for p in sparse["params"])
    assert sparse["arrays"] == dense["arrays"] and sparse["params"] == dense["params"]


def test_a_one_window_model_refuses_sparse_storage():
    from afkd.errors import AfkdError
    from afkd.export.codegen_window import build_window_context
    from afkd.export.window_plan import window_plan_from_tflite
    from tiny_classifiers import beat_tflite

    window = window_plan_from_tflite(beat_tflite("int8"))
    with pytest.raises(AfkdError, match="weight storage 'sparse': a one-window model takes int16 or int8"):
        build_window_context(window, "beat", 250, "beat.tflite", "0" * 64, "sparse")
