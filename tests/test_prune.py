"""afkd prune: structured pruning rebuilds a smaller dense model that exports and builds with fewer
channels; the goal-driven stop never returns a ticket that breaks the goal; a resumed prune
equals an uninterrupted one; masks and magnitude ranking behave as documented."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from afkd import cli
from afkd.errors import AfkdError
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.model import DTFENet, DTFENetConfig, count_parameters
from afkd.training.pruning import dtfenet_channels
from afkd.training.pruning.driver import PruneSettings, Pruner, next_try
from afkd.training.pruning.goal import Goal
from afkd.training.pruning.magnitude import apply_masks, magnitude_masks
from afkd.training.pruning.masks import SparsityMasks, sparsity
from afkd.training.pruning.structured import select_channels, taylor_importance
from conftest import require_tool
from test_export_fold import randomize_batchnorm

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=12, blocks=2, lookahead=1)


def tiny(seed=0, cfg=TINY):
    torch.manual_seed(seed)
    return randomize_batchnorm(DTFENet(cfg)).eval()


def test_rebuild_equals_the_model_with_removed_channels_gated_off():
    model = tiny()
    keep = {"aa.enc": [0, 2, 3, 5, 7], "va.res": [1, 2, 4, 6], "aa.block1": list(range(0, 12, 2))}
    groups = {g.name: g for g in dtfenet_channels.channel_groups(model)}
    handles = []
    for name, kept in keep.items():  # zero the removed channels at the gate points
        gate = torch.zeros(groups[name].size)
        gate[kept] = 1.0
        for module in groups[name].gates:
            handles.append(module.register_forward_hook(lambda _m, _i, out, g=gate: out * g.view(1, -1, 1)))
    x = torch.randn(2, 300)
    with torch.no_grad():
        want = model(x)
        for h in handles:
            h.remove()
        smaller = dtfenet_channels.rebuild(model, keep)
        got = smaller(x)
    assert smaller.cfg.enc_channels_per_path == (5, 8) and smaller.cfg.bottleneck_per_path == (8, 4)
    assert smaller.cfg.hidden_per_block == (12, 6, 12, 12)
    assert count_parameters(smaller) == dtfenet_channels.parameter_count(smaller.cfg) < count_parameters(model)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_per_path_widths_round_trip_through_a_checkpoint(tmp_path):
    smaller = dtfenet_channels.rebuild(tiny(), {"va.block0": [0, 1, 2, 3], "aa.res": [0, 1, 2, 3]})
    save_checkpoint(tmp_path / "s.pt", smaller)
    loaded, _ = load_checkpoint(tmp_path / "s.pt")
    assert loaded.cfg == smaller.cfg
    with pytest.raises(ValueError, match="hidden_per_block"):
        DTFENetConfig(blocks=2, hidden_per_block=(4, 4, 4))


def test_selection_keeps_multiples_and_meets_the_target():
    model = tiny()
    groups = dtfenet_channels.channel_groups(model)
    x = torch.randn(2, 300)
    importance = taylor_importance(model, groups, [lambda m: sum(o.pow(2).mean() for o in m(x))])
    assert all(v.shape == (g.size,) and torch.all(v >= 0) for g, v in zip(groups, importance.values()))
    count = lambda widths: dtfenet_channels.parameter_count(dtfenet_channels.config_with_widths(model.cfg, widths))
    sizes = {g.name: g.size for g in groups}
    target = int(0.6 * count(sizes))
    keep = select_channels(sizes, importance, count, target, multiple=4, min_channels=4)
    widths = {n: len(k) for n, k in keep.items()}
    assert count(widths) <= target
    assert all(w % 4 == 0 and w >= 4 for w in widths.values())
    # the least important channels of a shrunk group are the ones removed
    shrunk = next(n for n, w in widths.items() if w < sizes[n])
    removed = sorted(set(range(sizes[shrunk])) - set(keep[shrunk]))
    assert importance[shrunk][removed].max() <= importance[shrunk][keep[shrunk]].min()


def test_magnitude_masks_nest_and_training_keeps_zeros():
    model = tiny()
    apply_masks(model, magnitude_masks(model, 0.5))
    first = SparsityMasks.of(model)
    assert sparsity(model)["sparsity"] == pytest.approx(0.5, abs=1e-3)
    apply_masks(model, magnitude_masks(model, 0.75, "layer"))
    second = SparsityMasks.of(model)
    for name, keep in second.masks.items():
        assert not torch.any(keep & ~first.masks[name])  # a pruned weight never comes back
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    second.apply(model)
    assert sparsity(model)["sparsity"] == pytest.approx(0.75, abs=0.02)


def test_goal_parsing():
    g = Goal.parse("snr_aa_drop_db:0.2")
    assert (g.metric, g.bound, g.higher_is_better) == ("snr_aa_db", 0.2, True)
    assert g.met({"snr_aa_db": 7.0}, {"snr_aa_db": 6.81}) and not g.met({"snr_aa_db": 7.0}, {"snr_aa_db": 6.79})
    assert Goal.parse("nmse_aa_rise:0.01").loss({"nmse_aa": 0.2}, {"nmse_aa": 0.25}) == pytest.approx(0.05)
    for bad in ("snr_aa_db:0.2", "f1_drop", "f1_drop:-1", "f1_drop:x"):
        with pytest.raises(AfkdError):
            Goal.parse(bad)


class ToyTask:
    """A tiny MLP 'model family' whose metric falls as weights are pruned, not monotonically."""

    structure = None

    def __init__(self):
        torch.manual_seed(1)
        self.teacher = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
        self.x = torch.randn(64, 16)
        with torch.no_grad():
            self.y = self.teacher(self.x)  # learnable targets: pruning the trained model costs accuracy

    def describe(self):
        return {"task": "toy"}

    def load(self, path):
        model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
        model.load_state_dict(torch.load(path, weights_only=True))
        return model

    def save(self, path, model, meta):
        torch.save(model.state_dict(), path)

    def evaluate(self, model):
        with torch.no_grad():
            err = float(((model(self.x) - self.y) ** 2).mean())
        return {"score": -err}

    def example_input(self, model):
        return self.x[:1]

    def finetune(self, model, work, epochs, keep_sparsity, seed):
        torch.manual_seed(seed)
        masks = SparsityMasks.of(model)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(epochs * 5):
            opt.zero_grad()
            ((model(self.x) - self.y) ** 2).mean().backward()
            opt.step()
            masks.apply(model)
        return model


@pytest.mark.parametrize("bound", [0.0, 0.003, 0.01, 0.03])
def test_goal_driven_stop_never_returns_a_ticket_that_breaks_the_goal(tmp_path, bound):
    task = ToyTask()
    task.save(tmp_path / "start.pt", task.teacher, {})  # the perfect model: every round costs
    settings = PruneSettings("lth", goal=f"score_drop:{bound}", rate=0.5, rounds=6, search_steps=3, finetune_epochs=1)
    summary = Pruner(task, settings, tmp_path / "start.pt", tmp_path / "out", report=lambda line: None).run()
    rows = summary["rows"]
    base = task.evaluate(task.load(tmp_path / "start.pt"))["score"]
    result = task.load(tmp_path / "out" / "pruned.pt")
    assert base - task.evaluate(result)["score"] <= bound + 1e-12  # measured again on the same data
    assert summary["result_row"]["met"]
    assert all(r["met"] or r["goal_loss"] > bound for r in rows)
    met_sparsity = [r["target"] for r in rows if r["met"]]
    assert summary["result_row"]["target"] == max(met_sparsity)
    if not all(r["met"] for r in rows):  # a round broke the goal: the search ran between good and bad
        assert sum(r["kind"] == "search" for r in rows) == 3


def test_next_try_searches_between_the_last_good_and_the_first_bad_round():
    s = PruneSettings("lth", goal="x_drop:0", rate=0.5, rounds=5, search_steps=2)
    rows = [{"kind": "start", "target": 0.0, "met": True}, {"kind": "round", "target": 0.5, "met": True},
            {"kind": "round", "target": 0.75, "met": False}]
    assert next_try(s, rows) == (0.625, 1, "search")
    rows.append({"kind": "search", "target": 0.625, "met": True})
    assert next_try(s, rows) == (0.6875, 3, "search")
    rows.append({"kind": "search", "target": 0.6875, "met": False})
    assert next_try(s, rows) is None


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("prune")
    for name, records, seed in (("train", 6, 1), ("val", 3, 2)):
        assert cli.main(["data", "synth", "--records", str(records), "--seconds", "4", "--seed", str(seed),
                         "--dataset", "--out", str(root / name)]) == 0
    save_checkpoint(root / "model.pt", tiny())
    return root


def _prune_args(root, out, method, *extra):
    return ["prune", "--model", str(root / "model.pt"), "--method", method, "--data", str(root / "train"),
            "--val", str(root / "val"), "--out", str(out), "--finetune-epochs", "1", "--steps-per-epoch", "2",
            "--batch-size", "2", "--crop-seconds", "2", "--threads", "1", "--val-segments", "1", *extra]


def test_resumed_prune_equals_an_uninterrupted_one(tiny_data, monkeypatch):
    from afkd.training.pruning import task as task_module

    args = ("--rate", "0.4", "--rounds", "3", "--goal", "snr_aa_drop_db:10")
    assert cli.main(_prune_args(tiny_data, tiny_data / "whole", "lth", *args)) == 0

    real = task_module.SeparationTask.finetune
    calls = {"n": 0}

    def killed_in_round_3(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill in the middle of the third round's training
        return real(self, *a, **k)

    monkeypatch.setattr(task_module.SeparationTask, "finetune", killed_in_round_3)
    assert cli.main(_prune_args(tiny_data, tiny_data / "resumed", "lth", *args)) == 130  # interrupted
    assert len(json.loads((tiny_data / "resumed" / "prune_state.json").read_text())["rows"]) == 3
    monkeypatch.setattr(task_module.SeparationTask, "finetune", real)
    assert cli.main(_prune_args(tiny_data, tiny_data / "resumed", "lth", *args)) == 0

    whole = json.loads((tiny_data / "whole" / "prune.json").read_text())
    resumed = json.loads((tiny_data / "resumed" / "prune.json").read_text())
    assert resumed["rows"] == whole["rows"] and len(whole["rows"]) == 4
    a, _ = load_checkpoint(tiny_data / "whole" / "pruned.pt")
    b, _ = load_checkpoint(tiny_data / "resumed" / "pruned.pt")
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name
    assert whole["result_row"]["weight_sparsity"] > 0.7


def test_prune_refuses_a_foreign_directory_and_other_settings(tiny_data, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    assert cli.main(_prune_args(tiny_data, tmp_path / "x", "magnitude", "--rounds", "1")) == 2
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
    assert cli.main(_prune_args(tiny_data, tmp_path / "y", "magnitude", "--rounds", "1")) == 0
    assert cli.main(_prune_args(tiny_data, tmp_path / "y", "magnitude", "--rounds", "2")) == 2
    # the VA weight of the loss is a setting too (it steers fine-tuning and channel importance)
    assert cli.main(_prune_args(tiny_data, tmp_path / "y", "magnitude", "--rounds", "1", "--alpha", "0.01")) == 2


@pytest.mark.slow
def test_structured_prune_exports_and_builds_with_fewer_channels(tiny_data, tmp_path):
    require_tool("cmake")
    out = tmp_path / "ms"
    assert cli.main(_prune_args(tiny_data, out, "multistage", "--sparsity", "0.5", "--stages", "2",
                                "--importance-batches", "2")) == 0
    pruned, _ = load_checkpoint(out / "pruned.pt")
    base, _ = load_checkpoint(tiny_data / "model.pt")
    assert count_parameters(pruned) <= 0.5 * count_parameters(base)
    fw = tmp_path / "fw"
    assert cli.main(["export", "--checkpoint", str(out / "pruned.pt"), "--target", "host", "--seconds", "2",
                     "--calibration-segments", "2", "--validation-segments", "1", "--calibration",
                     str(tiny_data / "train"), "--out", str(fw)]) == 0
    from afkd.export.tflite_graph import read_tflite

    graph = read_tflite((fw / "model_int16x8.tflite").read_bytes())
    widths = {g.name: g.size for g in dtfenet_channels.channel_groups(pruned)}
    convs = [graph.tensors[op.inputs[1]] for op in graph.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    for filt in convs:  # no weight row is all zero: the channels are gone, not zeroed
        out_axis = 3 if filt.shape[0] == 1 else 0
        rows = np.moveaxis(filt.data, out_axis, 0).reshape(filt.data.shape[out_axis], -1)
        assert np.all(np.abs(rows).sum(axis=1) > 0), filt.name
    dw = [graph.tensors[op.inputs[1]].shape[3] for op in graph.operators if op.opcode == "DEPTHWISE_CONV_2D"]
    assert dw == [widths[f"{p}.block{i}"] for p in ("aa", "va") for i in range(2)]
    assert sum(dw) < 4 * TINY.hidden
    manifest = json.loads((fw / "export.json").read_text())
    assert manifest["stream_reference_vs_tflm_bit_exact"]
    assert (fw / "build" / "firmware").is_file()  # the host firmware built


def test_lth_rewinds_to_an_early_checkpoint_of_the_original_training(tiny_data, tmp_path):
    """The LTH-ECG recipe end to end: train with --save-epochs, prune with --rewind epoch_1.pt.
    Both tickets prune the same weights (the masks come from the trained model), but the one
    rewound to epoch 1 retrains from that point's values, so its weights differ from the
    ticket rewound to the trained model (fine-tuning rewinding)."""
    run = tmp_path / "run"
    assert cli.main(["train", "--preset", "student", "--enc-channels", "8", "--bottleneck", "8", "--hidden", "8",
                     "--blocks", "2", "--data", str(tiny_data / "train"), "--val", str(tiny_data / "val"),
                     "--out", str(run), "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "2",
                     "--crop-seconds", "2", "--threads", "1", "--val-segments", "1", "--no-progress",
                     "--save-epochs", "1"]) == 0
    args = ("--rate", "0.4", "--rounds", "1", "--goal", "snr_aa_drop_db:10")
    model = ["--model", str(run / "last.pt")]
    early = _prune_args(tiny_data, tmp_path / "early", "lth", *args, "--rewind", str(run / "epoch_1.pt"))
    late = _prune_args(tiny_data, tmp_path / "late", "lth", *args)
    for argv in (early, late):
        argv[argv.index("--model") + 1] = model[1]
        assert cli.main(argv) == 0
    a, _ = load_checkpoint(tmp_path / "early" / "pruned.pt")
    b, _ = load_checkpoint(tmp_path / "late" / "pruned.pt")
    assert any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    # the same weights are pruned either way: the masks come from the trained model
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        if x.dim() > 1:
            assert torch.equal(x == 0, y == 0), name
