"""Fine-tuning (--init): a fresh run from a checkpoint's weights, epoch 0, a fresh optimizer."""

import dataclasses
import json

import pytest
import torch

from afkd import cli
from afkd.errors import AfkdError
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.data.synth import synth_dataset
from afkd.training.model import STUDENT, DTFENet
from afkd.training.trainer import TrainSettings, fit


def test_init_starts_a_new_run_from_the_weights(tmp_path):
    train = synth_dataset(tmp_path / "train", 3, seconds=6.0, seed=11)
    val = synth_dataset(tmp_path / "val", 1, seconds=6.0, seed=12)
    torch.manual_seed(5)
    start = DTFENet(STUDENT).eval()
    # A checkpoint that claims a long history: --init must not take it over.
    save_checkpoint(tmp_path / "start.pt", start, {"role": "student", "epoch": 50, "best_val_snr_aa_db": 99.0})
    settings = TrainSettings(epochs=1, batch_size=1, crop_seconds=4.0, steps_per_epoch=1, lr=1e-9, progress=False,
                             threads=1)
    best = fit(None, dataclasses.replace(settings, init=str(tmp_path / "start.pt")), train, tmp_path / "run",
               val_dir=val, role="student")
    model, meta = load_checkpoint(best)
    assert meta["epoch"] == 1 and meta["best_epoch"] == 1 and meta["best_val_snr_aa_db"] < 99.0
    # One step at a negligible rate: the weights are the initial ones (BatchNorm statistics aside).
    for name, value in start.state_dict().items():
        if "running" not in name and "num_batches" not in name:
            torch.testing.assert_close(model.state_dict()[name], value, atol=1e-6, rtol=0)
    log = json.loads((tmp_path / "run" / "log.json").read_text())
    assert log["run"]["initialized_from"] == str(tmp_path / "start.pt") and not log["run"]["resumed_optimizer"]
    with pytest.raises(AfkdError, match="--resume and --init"):
        fit(None, dataclasses.replace(settings, init=str(best)), train, tmp_path / "run2", val_dir=val, resume=best)


def test_init_on_the_command_line(tmp_path):
    train = synth_dataset(tmp_path / "train", 2, seconds=6.0, seed=1)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "s.pt", DTFENet(STUDENT).eval(), {"role": "student", "epoch": 7})
    assert cli.main(["train", "--preset", "student", "--init", str(tmp_path / "s.pt"), "--data", str(train),
                     "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "1", "--crop-seconds", "4",
                     "--threads", "1", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    assert load_checkpoint(tmp_path / "run" / "best.pt")[1]["epoch"] == 1
