"""afkd prune on the classifiers: BeatCNN's structured pruning rebuilds a smaller dense BeatCNN
(equal to the gated original, loadable, exported to ONNX with fewer filters and no zero filter);
the goal-driven stop on a classifier never returns a ticket that breaks the goal on the data it
was measured on; a resumed classifier prune equals an uninterrupted one; unstructured LTH runs on
the rhythm families."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from afkd import cli
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.model_beat import BeatCNN, BeatCNNConfig, beat_macs
from afkd.training.pruning import beat_channels
from afkd.training.pruning.classify_task import ClassificationTask, flat_metrics
from afkd.training.pruning.masks import sparsity
from afkd.training.runs import train_model
from afkd.training.trainer import TrainSettings
from conftest import require_tool
from test_export_fold import randomize_batchnorm

TINY = BeatCNNConfig(before=48, after=48, channels=(8, 12, 8), kernels=(5, 5, 3), dense=12, dropout=0.0)
FS = 250


def test_rebuild_equals_the_model_with_removed_filters_gated_off():
    torch.manual_seed(0)
    model = randomize_batchnorm(BeatCNN(TINY)).eval()
    keep = {"conv0": [0, 2, 3, 7], "conv1": [1, 4, 5, 6, 9, 11], "conv2": [0, 1, 5, 6], "dense": [0, 3, 4, 8, 10]}
    groups = {g.name: g for g in beat_channels.channel_groups(model)}
    gates = {name: torch.zeros(g.size) for name, g in groups.items()}
    for name, kept in keep.items():
        gates[name][kept] = 1.0
    handles = [module.register_forward_hook(lambda _m, _i, out, g=gates[name]: out * g.view(1, -1, *([1] * (out.dim() - 2))))
               for name, g in groups.items() for module in g.gates]
    x = torch.randn(5, TINY.window)
    with torch.no_grad():
        gated = model(x)
    for h in handles:
        h.remove()
    smaller = beat_channels.rebuild(model, keep)
    assert smaller.cfg.channels == (4, 6, 4) and smaller.cfg.dense == 5
    with torch.no_grad():
        torch.testing.assert_close(smaller(x), gated, rtol=1e-5, atol=1e-5)
    widths = {name: len(k) for name, k in keep.items()}
    assert beat_channels.parameter_count(smaller.cfg) == sum(p.numel() for p in smaller.parameters())
    assert beat_channels.parameter_count(beat_channels.config_with_widths(TINY, widths)) == \
        sum(p.numel() for p in smaller.parameters())
    with pytest.raises(ValueError, match="conv1"):
        beat_channels.rebuild(model, {"conv1": [0, 12]})


@pytest.fixture(scope="module")
def beats(tmp_path_factory):
    """Two 40 s records at 250 Hz (N narrow spikes, V wide ones) and a tiny BeatCNN trained on them."""
    from afkd.training.data.beats import beat_arrays
    from afkd.training.data.dataset import write_dataset

    root = tmp_path_factory.mktemp("prune_beats")
    rng = np.random.default_rng(5)
    segs = []
    for record in ("901", "902"):
        x = 0.03 * rng.standard_normal(40 * FS)
        peaks = np.arange(100, 40 * FS - 100, 180) + rng.integers(-20, 20, size=len(range(100, 40 * FS - 100, 180)))
        labels = rng.integers(0, 2, peaks.size) * 2  # 0 = N, 2 = V
        for p, c in zip(peaks, labels):
            width = 7 if c == 0 else 21
            x[p - width // 2 : p - width // 2 + width] += np.hanning(width)
        segs.append({"source": "mitdb", "record": record, "lead": "MLII", "start": 0, "label": None, "ecg": x,
                     "beats": (peaks, labels)})
    write_dataset(root / "ds", segs, FS, 0.0, extra={"kind": "beats", "beat_classes": ["N", "S", "V", "F", "Q"]},
                  arrays=beat_arrays(segs))
    best = train_model({"family": "beat_cnn", **TINY.to_dict()}, root / "ds", root / "run", epochs=2,
                       steps_per_epoch=15, batch_size=16, lr=1e-2, task="beats", threads=1, progress=False)
    return root, best


def _prune(root, model, out, method, *extra):
    return cli.main(["prune", "--model", str(model), "--method", method, "--data", str(root / "ds"),
                     "--out", str(out), "--finetune-epochs", "1", "--steps-per-epoch", "3", "--batch-size", "16",
                     "--lr", "1e-3", "--threads", "1", "--val-fraction", "0.25", *extra])


def test_multistage_on_the_beat_cnn_gives_a_smaller_dense_model_that_exports(beats, tmp_path):
    import onnx
    import onnxruntime as ort
    root, best = beats
    out = tmp_path / "ms"
    assert _prune(root, best, out, "multistage", "--sparsity", "0.5", "--stages", "2", "--importance-batches", "2",
                  "--channel-multiple", "2", "--min-channels", "2") == 0
    pruned, meta = load_checkpoint(out / "pruned.pt")
    base, _ = load_checkpoint(best)
    assert isinstance(pruned, BeatCNN) and meta["prune"]["method"] == "multistage"
    n_pruned, n_base = (sum(p.numel() for p in m.parameters()) for m in (pruned, base))
    assert n_pruned <= 0.5 * n_base
    assert sum(pruned.cfg.channels) + pruned.cfg.dense < sum(base.cfg.channels) + base.cfg.dense
    assert beat_macs(pruned.cfg) < beat_macs(base.cfg)
    assert sparsity(pruned)["zeros"] == 0  # filters are gone, not zeroed
    summary = json.loads((out / "prune.json").read_text())
    assert [r["kind"] for r in summary["rows"]] == ["start", "round", "round"]
    assert summary["rows"][0]["macs"] == beat_macs(base.cfg) and summary["rows"][-1]["macs"] == beat_macs(pruned.cfg)
    assert "f1" in summary["rows"][-1]["metrics"] and "f1_V" in summary["rows"][-1]["metrics"]

    # ONNX of the pruned model: its conv filters are the pruned widths, none all zero, and it computes
    # what PyTorch computes.
    pruned.eval()
    x = torch.randn(3, pruned.cfg.window)
    path = tmp_path / "beat.onnx"
    torch.onnx.export(pruned, (x,), str(path), input_names=["beat"], output_names=["logits"], dynamo=False)
    graph = onnx.load(str(path)).graph
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    conv_weights = [inits[n.input[1]] for n in graph.node if n.op_type == "Conv"]
    assert [w.shape[0] for w in conv_weights] == list(pruned.cfg.channels)
    for w in conv_weights:
        assert np.all(np.abs(w.reshape(w.shape[0], -1)).sum(axis=1) > 0)
    got = ort.InferenceSession(str(path)).run(None, {"beat": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, pruned(x).numpy(), rtol=1e-4, atol=1e-4)

    # oneshot: the baseline, one stage; --budget macs: the sparsity is the share of MACs per beat removed.
    assert _prune(root, best, tmp_path / "os", "oneshot", "--sparsity", "0.5", "--importance-batches", "2",
                  "--channel-multiple", "2", "--min-channels", "2", "--budget", "macs") == 0
    one = json.loads((tmp_path / "os" / "prune.json").read_text())
    small, _ = load_checkpoint(tmp_path / "os" / "pruned.pt")
    assert [r["kind"] for r in one["rows"]] == ["start", "round"]
    assert one["rows"][1]["sparsity"] == pytest.approx(1 - beat_macs(small.cfg) / beat_macs(base.cfg))
    assert beat_macs(small.cfg) <= 0.5 * beat_macs(base.cfg)


@pytest.mark.parametrize("bound", [0.0, 0.05])
def test_goal_driven_stop_on_a_classifier_never_returns_a_ticket_that_breaks_the_goal(beats, tmp_path, bound):
    root, best = beats
    out = tmp_path / "lth"
    assert _prune(root, best, out, "lth", "--goal", f"f1_drop:{bound}", "--rate", "0.6", "--rounds", "4",
                  "--search-steps", "2", "--finetune-epochs", "0") == 0
    summary = json.loads((out / "prune.json").read_text())
    rows = summary["rows"]
    assert all(r["met"] == (r["goal_loss"] <= bound) for r in rows)
    assert summary["result_row"]["met"]
    assert summary["result_row"]["target"] == max(r["target"] for r in rows if r["met"])
    # Measured again, on the same validation rows, by an independent task object.
    train = TrainSettings(epochs=1, batch_size=16, val_fraction=0.25, seed=0, progress=False, threads=1)
    task = ClassificationTask(best, str(root / "ds"), None, train)
    base = task.evaluate(task.load(best))["f1"]
    result = task.evaluate(task.load(out / "pruned.pt"))["f1"]
    assert base - result <= bound + 1e-12
    assert any(not r["met"] for r in rows)  # the goal did bite: an unpruned-only answer would be vacuous here


def test_a_resumed_classifier_prune_equals_an_uninterrupted_one(beats, tmp_path, monkeypatch):
    from afkd.training.pruning import classify_task

    root, best = beats
    args = ("--importance-batches", "2", "--channel-multiple", "2", "--min-channels", "2", "--sparsity", "0.5",
            "--stages", "2")
    assert _prune(root, best, tmp_path / "whole", "multistage", *args) == 0
    real = classify_task.ClassificationTask.finetune
    calls = {"n": 0}

    def killed_in_stage_2(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(classify_task.ClassificationTask, "finetune", killed_in_stage_2)
    assert _prune(root, best, tmp_path / "resumed", "multistage", *args) == 130
    monkeypatch.setattr(classify_task.ClassificationTask, "finetune", real)
    assert _prune(root, best, tmp_path / "resumed", "multistage", *args) == 0
    whole, resumed = (json.loads((tmp_path / d / "prune.json").read_text())["rows"] for d in ("whole", "resumed"))
    assert resumed == whole and len(whole) == 3
    a, _ = load_checkpoint(tmp_path / "whole" / "pruned.pt")
    b, _ = load_checkpoint(tmp_path / "resumed" / "pruned.pt")
    assert a.cfg == b.cfg
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name


def test_lth_on_a_rhythm_model_and_bad_options(tmp_path, capsys):
    from afkd.training.data.dataset import write_dataset
    from afkd.training.model_detector import RhythmTCN, RhythmTCNConfig

    rng = np.random.default_rng(3)
    segs = [{"source": "cinc2017", "record": f"Q{i:05d}", "lead": "ECG", "start": 0, "label": "NAO~"[i % 4],
             "ecg": rng.standard_normal(FS * 4).astype(np.float32)} for i in range(1, 13)]
    write_dataset(tmp_path / "ds", segs, FS, 0.0, extra={"kind": "records"})
    torch.manual_seed(0)
    model = RhythmTCN(RhythmTCNConfig(enc_channels=6, enc_kernel=20, bottleneck=6, hidden=8, blocks=2, repeats=1))
    save_checkpoint(tmp_path / "det.pt", model.eval())
    args = ["prune", "--model", str(tmp_path / "det.pt"), "--data", str(tmp_path / "ds"), "--val-fraction", "0.5",
            "--finetune-epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--crop-seconds", "2",
            "--threads", "1"]
    assert cli.main([*args, "--method", "lth", "--rounds", "2", "--rate", "0.5", "--out", str(tmp_path / "l")]) == 0
    summary = json.loads((tmp_path / "l" / "prune.json").read_text())
    assert summary["rows"][-1]["weight_sparsity"] == pytest.approx(0.75, abs=0.01)
    assert {"f1", "challenge", "accuracy", "f1_A"} <= set(summary["rows"][-1]["metrics"])
    pruned, _ = load_checkpoint(tmp_path / "l" / "pruned.pt")
    assert sparsity(pruned)["sparsity"] == pytest.approx(0.75, abs=0.01)
    # Fine-tuning never trains on the rows the goal is measured on: its split is the goal's.
    train = TrainSettings(epochs=1, batch_size=2, crop_seconds=2.0, steps_per_epoch=1, val_fraction=0.5, seed=0,
                          progress=False, threads=1)
    task = ClassificationTask(tmp_path / "det.pt", str(tmp_path / "ds"), None, train)
    task.finetune(task.load(tmp_path / "det.pt"), tmp_path / "ft", 1, keep_sparsity=False, seed=1234)
    _, meta = load_checkpoint(tmp_path / "ft" / "train" / "last.pt")
    assert meta["split"]["val_records"] == task.inner.split["val_records"]
    capsys.readouterr()
    # No channel structure for the rhythm families yet; distillation is the f-wave models'.
    assert cli.main([*args, "--method", "multistage", "--out", str(tmp_path / "m")]) == 2
    assert "no channel structure" in capsys.readouterr().err
    assert cli.main([*args, "--method", "lth", "--kd", "outputs", "--out", str(tmp_path / "k")]) == 2
    assert "--kd" in capsys.readouterr().err
    assert cli.main([*args, "--method", "lth", "--budget", "macs", "--out", str(tmp_path / "b")]) == 2
    assert "--budget macs" in capsys.readouterr().err
    assert cli.main([*args, "--method", "lth", "--alpha", "0.01", "--out", str(tmp_path / "a")]) == 2
    assert "--alpha" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in ("m", "k", "b", "a"))


def test_flat_metrics_names_what_goals_read():
    summary = {"macro_f1": 0.5, "accuracy": 0.75, "challenge_score": 0.6, "f1": {"N": 0.9, "A": None}}
    assert flat_metrics(summary) == {"f1": 0.5, "accuracy": 0.75, "challenge": 0.6, "f1_N": 0.9}


@pytest.mark.slow
def test_a_pruned_beat_cnn_exports_to_firmware_bit_exact_with_tflm(beats, tmp_path):
    """The structurally pruned beat CNN is an ordinary checkpoint: afkd export writes its smaller
    firmware, which equals TFLM bit for bit on the beat windows (afkd validate on the host build)."""
    require_tool("cmake")
    root, best = beats
    assert _prune(root, best, tmp_path / "os", "oneshot", "--sparsity", "0.5", "--importance-batches", "2",
                  "--channel-multiple", "2", "--min-channels", "2") == 0
    small, _ = load_checkpoint(tmp_path / "os" / "pruned.pt")
    build = tmp_path / "fw"
    assert cli.main(["export", "--checkpoint", str(tmp_path / "os" / "pruned.pt"), "--target", "host", "--quant", "int8",
                     "--calibration-segments", "4", "--validation-segments", "2", "--out", str(build)]) == 0
    firmware = json.loads((build / "export.json").read_text())["firmware"]
    assert firmware["macs_per_hop"] == beat_macs(small.cfg)
    report = tmp_path / "report.json"
    assert cli.main(["validate", "--build", str(build), "--runner", "host", "--data", str(root / "ds"),
                     "--windows-per-record", "5", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["fidelity"]["vs_tflite"]["bit_exact"] and result["classification"]["agreement_tflite"] == 1.0
