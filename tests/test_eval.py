"""afkd eval: JSON keys and sane values, any segment length, cost figures, ABS and bad input."""

import json

import numpy as np
import pytest
import torch

from afkd import cli
from afkd.training.checkpoint import save_checkpoint
from afkd.training.data.dataset import write_dataset
from afkd.training.data.synth import synth_dataset
from afkd.training.evaluate import evaluate, format_table, predict, score
from afkd.training.model import DTFENet, DTFENetConfig, count_parameters, macs_per_second

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    data = synth_dataset(root / "data", 3, seconds=10.0, seed=5)
    torch.manual_seed(0)
    model = DTFENet(TINY).eval()
    save_checkpoint(root / "tiny.pt", model, {"role": "student"})
    return root, data, model


def test_eval_cli_json_has_the_keys_and_sane_values(setup, capsys):
    root, data, model = setup
    out = root / "results.json"
    assert cli.main(["eval", "--model", str(root / "tiny.pt"), "--method", "abs", "--data", str(data),
                     "--json", str(out), "--threads", "1"]) == 0
    table = capsys.readouterr().out
    assert "abs" in table and "tiny.pt" in table and "SNR_AA" in table
    results = json.loads(out.read_text())["results"]
    tiny, abs_ = results[str(root / "tiny.pt")], results["abs"]
    for r in (tiny, abs_):
        for key in ("snr_aa_db", "snr_va_db", "nmse_aa", "nmse_va", "sc", "params", "macs_per_second"):
            assert key in r, key
        assert np.isfinite(r["snr_aa_db"]) and r["nmse_aa"] >= 0 and 0 <= r["sc"] <= 1
        assert r["segments"] == r["segments_with_ground_truth"] == 3
        # Each segment's SNR_AA is kept for paired comparisons; the table's figure is their mean.
        assert len(r["segment_snr_aa_db"]) == 3
        assert np.mean(r["segment_snr_aa_db"]) == pytest.approx(r["snr_aa_db"])
    assert tiny["params"] == count_parameters(model) and tiny["size_bytes"] == 4 * tiny["params"]
    assert tiny["macs_per_second"] == pytest.approx(macs_per_second(TINY))
    assert abs_["params"] is None and abs_["macs_per_second"] is None
    # ABS removes the QRST: its VA estimate beats "VA = 0" (0 dB) by far on clean synthetic data.
    assert abs_["snr_va_db"] > 3.0


def test_a_perfect_estimate_scores_perfectly(setup):
    from afkd.training.data.dataset import Dataset

    _, data, _ = setup
    ds = Dataset(data)
    segs = [ds.segment(i) for i in range(len(ds))]
    perfect = score(segs, [(s["aa"], s["va"]) for s in segs], ds.fs)
    assert perfect["snr_aa_db"] > 100 and perfect["nmse_aa"] < 1e-9
    zero = score(segs, [(np.zeros_like(s["aa"]), np.zeros_like(s["va"])) for s in segs], ds.fs)
    assert zero["snr_aa_db"] == pytest.approx(0.0, abs=1e-6) and zero["nmse_va"] == pytest.approx(1.0)


def test_segments_of_any_length_are_padded_and_cropped_back(setup, tmp_path):
    root, _, model = setup
    rng = np.random.default_rng(0)
    lengths = (1003, 2500, 777)
    segments = [{"source": "wfdb", "record": f"r{i}", "lead": "I", "start": 0, "label": None,
                 "ecg": rng.standard_normal(n).astype(np.float32) * 0.3} for i, n in enumerate(lengths)]
    data = write_dataset(tmp_path / "odd", segments, fs=250, segment_seconds=10)
    outputs = predict(model, [s["ecg"] for s in segments])
    assert [o[0].shape for o in outputs] == [(n,) for n in lengths]
    # The 2500-sample segment needs no padding: it equals the plain forward pass.
    with torch.no_grad():
        direct = model(torch.from_numpy(segments[1]["ecg"])[None])[0][0].numpy()
    np.testing.assert_allclose(outputs[1][0], direct, rtol=1e-5, atol=1e-6)
    results = evaluate([root / "tiny.pt", "abs"], data, segments=2)
    for r in results.values():
        assert r["snr_aa_db"] is None and r["segments"] == 2 and np.isfinite(r["sc"])
        assert r["segment_snr_aa_db"] == []
    assert "-" in format_table(results)  # missing ground truth shows as a dash


def test_bad_input_is_one_line_and_exit_2(setup, tmp_path, capsys):
    root, data, _ = setup
    assert cli.main(["eval", "--model", str(tmp_path / "missing.pt"), "--data", str(data)]) == 2
    assert cli.main(["eval", "--data", str(data)]) == 2
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert cli.main(["eval", "--model", str(tmp_path / "junk.pt"), "--data", str(data)]) == 2
    assert cli.main(["eval", "--method", "abs", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert all(line.startswith("afkd eval: error:") for line in err.strip().splitlines())
