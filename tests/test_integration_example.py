"""The integration guide's worked example (docs/examples/adc_dma: ADC in circular DMA, the
half/full-transfer callbacks feeding hops, the model stepped from the main loop) builds the way
docs/integration.md says (the export's model/afkd_model.cmake as a library), for the host and
for the Cortex-M4 and M0+, and on the host its output equals the Python chain: the fixed-point
front end twin, then the streaming reference (bit-exact with TFLM), hop for hop."""

import subprocess

import numpy as np
import pytest

from afkd import cli
from afkd.training.checkpoint import save_checkpoint
from conftest import REPO, require_tool
from tiny_tflite import tiny_model

FIXTURE = REPO / "tests" / "fixtures" / "adc_dma"
ADC = {"rate": 500, "gain_mv": 0.000732, "offset": 2048}  # AD8232 (x1100) on a 3.3 V 12-bit ADC


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    require_tool("cmake")
    root = tmp_path_factory.mktemp("adc_dma")
    save_checkpoint(root / "tiny.pt", tiny_model())
    out = root / "export"
    assert cli.main(["export", "--checkpoint", str(root / "tiny.pt"), "--target", "host", "--quant", "int16x8",
                     "--seconds", "2", "--calibration-segments", "4", "--validation-segments", "2",
                     "--adc-rate", str(ADC["rate"]), "--adc-gain-mv", str(ADC["gain_mv"]),
                     "--adc-offset", str(ADC["offset"]), "--out", str(out)]) == 0
    return out


def _cmake(build, export, *extra):
    for step in (["cmake", "-S", str(FIXTURE), "-B", str(build), f"-DAFKD_EXPORT={export}", *extra],
                 ["cmake", "--build", str(build), "-j2"]):
        result = subprocess.run(step, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_the_example_streams_an_adc_recording_like_the_python_chain(exported, tmp_path):
    import json

    from afkd.export.plan import plan_from_tflite
    from afkd.export.preprocess_fixed import FrontEnd
    from afkd.export.stream_ref import StreamingReference
    from afkd.training.data.synth import synthesize_record

    manifest = json.loads((exported / "export.json").read_text())
    assert manifest["firmware"]["preprocess"]["adc_rate"] == 500
    assert {"afkd_model.cmake", "dtfe_preprocess.h", "dtfe_preprocess.c"} <= {p.name for p in (exported / "model").iterdir()}
    _cmake(tmp_path / "host", exported)
    # 12 s of synthetic ECG at the ADC's rate, as the 12-bit ADC would read it.
    ecg = synthesize_record(1, 12.0, ADC["rate"], 4)["ecg"].astype(np.float64)
    counts = np.clip(np.round(ecg / ADC["gain_mv"]) + ADC["offset"], 0, 4095).astype(np.int64)
    counts = counts[: counts.size // 64 * 64]  # whole DMA halves (32 samples): a partial one never completes
    run = subprocess.run([str(tmp_path / "host" / "adc_dma_example")], input="\n".join(map(str, counts)),
                         capture_output=True, text=True, check=True)
    assert run.stderr.strip() == "overruns 0"
    hops = [line.split("|") for line in run.stdout.strip().splitlines()]
    got_aa = np.array([[int(v) for v in aa.split()] for aa, _ in hops])
    got_va = np.array([[int(v) for v in va.split()] for _, va in hops])

    plan = plan_from_tflite((exported / manifest["firmware"]["tflite"]).read_bytes(), "tiny")
    spec = FrontEnd(ADC["rate"], 250, ADC["gain_mv"], ADC["offset"], plan.input.scale, plan.input.zero_point, 2)
    codes = spec.run(counts)
    reference = StreamingReference(plan)
    whole = codes.size // plan.hop
    want = [reference.step(codes[t * plan.hop:(t + 1) * plan.hop]) for t in range(whole)]
    assert len(hops) == whole > 250  # every complete hop of the 12 s (the last partial one waits)
    np.testing.assert_array_equal(got_aa, np.array([w["aa"] for w in want]))
    np.testing.assert_array_equal(got_va, np.array([w["va"] for w in want]))
    assert np.abs(got_aa).max() > 0  # the recording got through, not silence


@pytest.mark.slow
@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m0plus"])
def test_the_example_builds_for_the_target(exported, tmp_path, core):
    require_tool("arm-none-eabi-gcc")
    toolchain = REPO / "firmware" / "cmake" / f"arm-none-eabi-{core}.cmake"
    _cmake(tmp_path / core, exported, f"-DCMAKE_TOOLCHAIN_FILE={toolchain}")
    assert (tmp_path / core / "libadc_dma_example.a").is_file() and (tmp_path / core / "libdtfe_model.a").is_file()
