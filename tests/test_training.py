"""The training loop: the loss goes down, checkpoints carry their meta, runs resume, every
distillation method writes a loadable student, and the torchrun code path is chosen right."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from afkd import cli
from afkd.errors import AfkdError
from afkd.training import ddp
from afkd.training.checkpoint import load_checkpoint
from afkd.training.data.synth import synth_dataset
from afkd.training.losses import task_loss
from afkd.training.model import DTFENet, DTFENetConfig
from afkd.training.runs import distill_student, resolve_config, train_model

TINY = dict(enc_channels=8, bottleneck=8, hidden=8, blocks=2)
FAST = dict(threads=1, progress=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return synth_dataset(root / "train", 6, seconds=6.0, seed=11), synth_dataset(root / "val", 2, seconds=6.0, seed=12)


@pytest.fixture(scope="module")
def teacher(data, tmp_path_factory):
    train, val = data
    cfg = {**TINY, "enc_channels": 12, "causal": False, "norm": "gln"}
    return train_model(cfg, train, tmp_path_factory.mktemp("teacher"), epochs=1, steps_per_epoch=2,
                       crop_seconds=2.0, val_dir=val, **FAST)


def fixed_batch_loss(model: DTFENet, train_dir) -> float:
    from afkd.training.data.dataset import Dataset

    batch = Dataset(train_dir).crops(4, 1000, np.random.default_rng(99), multiple=10)
    x, aa, va = (torch.from_numpy(batch[k]) for k in ("ecg", "aa", "va"))
    model.eval()
    with torch.no_grad():
        out_aa, out_va = model(x)
    return task_loss(aa, va, out_aa, out_va, lag=model.cfg.lookahead_samples).item()


@pytest.mark.slow
@pytest.mark.parametrize("lookahead", [0, 2])
def test_training_steps_reduce_the_loss(data, tmp_path, lookahead):
    train, val = data
    cfg = DTFENetConfig(**TINY, norm="none", lookahead=lookahead)
    torch.manual_seed(0)  # the trainer seeds the same way: these are its initial weights
    before = fixed_batch_loss(DTFENet(cfg), train)
    train_model(cfg, train, tmp_path, epochs=2, steps_per_epoch=30, batch_size=4, crop_seconds=4.0,
                val_dir=val, lr=3e-3, **FAST)
    after = fixed_batch_loss(load_checkpoint(tmp_path / "last.pt")[0], train)
    assert after < 0.8 * before, (before, after)


def test_crops_too_short_for_the_lookahead_are_refused(data, tmp_path):
    train, val = data
    with pytest.raises(AfkdError, match="training crops of 250 samples: the model's lookahead lags its output by 200"):
        train_model(DTFENetConfig(**TINY, lookahead=20), train, tmp_path, epochs=1, steps_per_epoch=1,
                    crop_seconds=1.0, val_dir=val, **FAST)


def test_checkpoint_meta_logs_and_resume(data, tmp_path):
    train, val = data
    best = train_model(TINY, train, tmp_path, epochs=1, steps_per_epoch=2, crop_seconds=2.0, val_dir=val,
                       role="student", **FAST)
    model, meta = load_checkpoint(best)
    assert model.cfg == DTFENetConfig(**TINY)
    assert meta["role"] == "student" and meta["epoch"] == 1 and meta["best_epoch"] == 1
    assert meta["args"]["crop_seconds"] == 2.0 and meta["args"]["steps_per_epoch"] == 2
    assert np.isfinite(meta["val"]["snr_aa_db"]) and meta["best_val_snr_aa_db"] == meta["val"]["snr_aa_db"]
    for name in ("last.pt", "last.opt.pt", "log.json", "log.csv", "loss.png"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    train_model(None, train, tmp_path, epochs=2, steps_per_epoch=2, crop_seconds=2.0, val_dir=val,
                resume=tmp_path / "last.pt", **FAST)
    log = json.loads((tmp_path / "log.json").read_text())
    assert [row["epoch"] for row in log["epochs"]] == [1, 2]
    assert log["run"]["resumed_optimizer"] is True
    assert load_checkpoint(tmp_path / "last.pt")[1]["epoch"] == 2
    assert len((tmp_path / "log.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs


def test_validation_split_holds_out_whole_records(data):
    from afkd.training.train_data import TrainingData

    split = TrainingData(data[0], val_fraction=0.34, seed=0)
    train_records = {split.train.segments[i]["record"] for i in split.train_ids}
    val_records = {s["record"] for s in split.val_segments}
    assert len(val_records) == 2 and not train_records & val_records
    assert len(train_records) + len(val_records) == 6


@pytest.mark.parametrize("method", ["fitnet", "at", "none"])
def test_distill_writes_a_loadable_student(method, data, teacher, tmp_path):
    train, val = data
    best = distill_student(teacher, method, train, tmp_path, student=TINY, epochs=1, steps_per_epoch=2,
                           crop_seconds=2.0, val_dir=val, **FAST)
    student, meta = load_checkpoint(best)
    assert student.cfg == DTFENetConfig(**TINY)  # the student, not the teacher, and no regressors
    assert meta["role"] == "student" and meta["method"] == method and meta["teacher"] == str(teacher)
    log = json.loads((tmp_path / "log.json").read_text())
    kd = log["epochs"][0]["train_kd_loss"]
    assert (kd > 0) if method != "none" else (kd == 0)


def test_cli_train_and_distill(data, teacher, tmp_path, capsys):
    train, val = data
    common = ["--data", str(train), "--val", str(val), "--epochs", "1", "--steps-per-epoch", "1",
              "--crop-seconds", "2", "--threads", "1", "--no-progress"]
    assert cli.main(["train", "--preset", "student", "--enc-channels", "4", "--bottleneck", "4", "--hidden", "4",
                     "--blocks", "1", "--out", str(tmp_path / "t"), *common]) == 0
    model, meta = load_checkpoint(tmp_path / "t" / "best.pt")
    assert (model.cfg.enc_channels, model.cfg.blocks, meta["role"]) == (4, 1, "student")
    assert cli.main(["distill", "--teacher", str(teacher), "--method", "at", "--gamma", "5",
                     "--config", json.dumps(TINY), "--out", str(tmp_path / "s"), *common]) == 0
    assert load_checkpoint(tmp_path / "s" / "best.pt")[1]["args"]["gamma"] == 5.0
    assert "best checkpoint" in capsys.readouterr().out
    # Bad input: one line, exit 2.
    assert cli.main(["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert cli.main(["train", "--data", str(train), "--out", str(tmp_path / "x"), "--crop-seconds", "60",
                     "--config", json.dumps(TINY)]) == 2
    assert "longer than the shortest training segment" in capsys.readouterr().err


def test_config_resolution():
    assert resolve_config("teacher").enc_channels == 256
    assert resolve_config("student", {"blocks": 3, "hidden": None}).blocks == 3
    assert resolve_config('{"enc_channels": 5}').enc_channels == 5
    with pytest.raises(AfkdError):
        resolve_config("huge")
    with pytest.raises(AfkdError):
        resolve_config({"enc_kernel": 7})


def test_placement_follows_the_torchrun_environment():
    single = ddp.placement_from_env({}, cuda_devices=0)
    assert (single.world_size, single.distributed, single.device.type, single.is_main) == (1, False, "cpu", True)
    gpu = ddp.placement_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}, cuda_devices=2)
    assert gpu.distributed and gpu.device == torch.device("cuda", 1) and gpu.backend == "nccl" and not gpu.is_main
    cpu = ddp.placement_from_env({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}, cuda_devices=0)
    assert cpu.distributed and cpu.device.type == "cpu" and cpu.backend == "gloo"
    with pytest.raises(AfkdError):
        ddp.placement_from_env({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "3"}, cuda_devices=2)
    with pytest.raises(AfkdError):
        ddp.placement_from_env({"WORLD_SIZE": "2", "RANK": "2"}, cuda_devices=0)


@pytest.mark.slow
def test_torchrun_two_cpu_processes(data, tmp_path):
    train, val = data
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    # --standalone: a private rendezvous on a free port, so parallel test runs do not collide.
    out = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", "-m", "afkd", "train", "--config", json.dumps(TINY),
         "--data", str(train), "--val", str(val), "--out", str(tmp_path), "--epochs", "1", "--steps-per-epoch", "2",
         "--crop-seconds", "2", "--threads", "1", "--no-progress"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"},
        start_new_session=True)
    assert out.returncode == 0, out.stderr[-2000:]
    log = json.loads((tmp_path / "log.json").read_text())
    assert log["run"]["processes"] == 2
    assert out.stdout.count("best checkpoint") == 1  # rank 0 only
    load_checkpoint(tmp_path / "best.pt")


def test_learning_rate_decays_over_the_last_epochs_only():
    """--lr-decay-epochs N: the paper's constant rate until the last N epochs, then a cosine
    decay to LR_FLOOR of it; the rate depends on the position only (so a resumed run follows it)."""
    from afkd.training.trainer import LR_FLOOR, TrainSettings, learning_rate

    s = TrainSettings(epochs=10, lr=1e-3, lr_decay_epochs=4)
    steps = 50
    rates = [learning_rate(s, e, k, steps) for e in range(1, 11) for k in range(steps)]
    assert all(r == 1e-3 for r in rates[: 6 * steps])                   # epochs 1-6
    decay = rates[6 * steps:]
    assert decay[0] == pytest.approx(1e-3) and all(a > b for a, b in zip(decay, decay[1:]))
    assert decay[len(decay) // 2] == pytest.approx((1e-3 + 1e-3 * LR_FLOOR) / 2)  # cosine midpoint
    assert decay[-1] == pytest.approx(1e-3 * LR_FLOOR, rel=1e-2)  # the last step, one short of the end
    assert all(learning_rate(TrainSettings(epochs=10), e, 3, steps) == 1e-3 for e in range(1, 11))
    with pytest.raises(AfkdError, match="--lr-decay-epochs 11"):
        TrainSettings(epochs=10, lr_decay_epochs=11).check()


def test_save_epochs_keeps_the_rewind_points(data, tmp_path):
    """--save-epochs: epoch_0.pt holds the weights before the first step (the seeded
    initialization), epoch_1.pt those after epoch 1 (last.pt then), and a resumed run
    neither rewrites nor loses them."""
    train, val = data
    torch.manual_seed(0)  # the trainer's seeding: these are its initial weights
    initial = DTFENet(DTFENetConfig(**TINY)).state_dict()
    common = dict(steps_per_epoch=2, crop_seconds=2.0, val_dir=val, save_epochs=(0, 1), **FAST)
    train_model(TINY, train, tmp_path, epochs=1, **common)
    zero, zero_meta = load_checkpoint(tmp_path / "epoch_0.pt")
    one, one_meta = load_checkpoint(tmp_path / "epoch_1.pt")
    assert zero_meta["epoch"] == 0 and one_meta["epoch"] == 1
    for name, value in initial.items():
        assert torch.equal(zero.state_dict()[name], value), name
    after_one = load_checkpoint(tmp_path / "last.pt")[0].state_dict()
    assert all(torch.equal(one.state_dict()[k], v) for k, v in after_one.items())
    assert any(not torch.equal(zero.state_dict()[k], v) for k, v in after_one.items())  # it trained
    zero_bytes = (tmp_path / "epoch_0.pt").read_bytes()

    train_model(None, train, tmp_path, epochs=2, resume=tmp_path / "last.pt", **common)
    assert (tmp_path / "epoch_0.pt").read_bytes() == zero_bytes
    assert load_checkpoint(tmp_path / "epoch_1.pt")[1]["epoch"] == 1
    assert not (tmp_path / "epoch_2.pt").exists()  # not asked for


def test_save_epochs_is_checked(data, tmp_path, capsys):
    train, val = data
    with pytest.raises(AfkdError, match="--save-epochs 3: must be between 0 and --epochs 2"):
        train_model(TINY, train, tmp_path, epochs=2, steps_per_epoch=1, val_dir=val, save_epochs=(3,), **FAST)
    for bad in ("1,,2", "x", "-1", ""):
        assert cli.main(["train", "--preset", "student", "--data", str(train), "--out", str(tmp_path / "o"),
                         "--save-epochs", bad]) == 2
        assert "--save-epochs" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
