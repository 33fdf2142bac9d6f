"""The shipped classifiers as a user (and the deployment) takes them: they load, keep the budgets and
the recorded split, classify real CinC records, and the detector streams hop by hop as it runs one-shot."""

from pathlib import Path

import numpy as np
import pytest
import torch

from afkd import cli
from afkd.training.checkpoint import load_checkpoint
from afkd.training.data.heldout import heldout_records
from afkd.training.evaluate_classify import read_record_list
from afkd.training.model_beat import BEAT_CNN, BeatCNN
from afkd.training.model_detector import (COMPACT_DETECTOR, RhythmTCN, StreamingDetector,
                                          detector_macs_per_frame, detector_ring_frames)
from afkd.training.model_resnet import HANNUN_34_NARROW, ResNet34
from tests.conftest import require_shared_data

MODELS = Path(__file__).resolve().parents[1] / "models"


def test_shipped_classifiers_load_with_their_presets_and_split():
    detector, meta = load_checkpoint(MODELS / "detector.pt")
    assert isinstance(detector, RhythmTCN) and detector.cfg == COMPACT_DETECTOR and meta["task"] == "rhythm"
    resnet, resnet_meta = load_checkpoint(MODELS / "resnet34_narrow.pt")
    assert isinstance(resnet, ResNet34) and resnet.cfg == HANNUN_34_NARROW
    beats, beat_meta = load_checkpoint(MODELS / "beat_cnn.pt")
    assert isinstance(beats, BeatCNN) and beats.cfg == BEAT_CNN and beat_meta["task"] == "beats"
    # Both rhythm models chose their checkpoint on the split the README's figures use, and no
    # held-out record is in it.
    val = read_record_list(MODELS / "cinc2017_val_records.txt")
    assert meta["split"]["val_records"] == resnet_meta["split"]["val_records"] == val
    assert len(val) == 752 and not set(val) & heldout_records()


def test_shipped_detector_keeps_the_firmware_budget():
    model, _ = load_checkpoint(MODELS / "detector.pt")
    cfg = model.cfg
    assert detector_macs_per_frame(cfg) * cfg.fs / cfg.hop < 2.0e6  # < 2 M MACs per second of ECG
    assert sum(p.numel() for p in model.parameters()) < 48_000  # int8 weights well inside 64 KB
    assert detector_ring_frames(cfg) * cfg.hidden * 2 < 20_000  # int16 rings well inside 32 KB
    slopes = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.PReLU)])
    assert (slopes >= 0).all()  # the exporter's LEAKY_RELU needs them


def test_shipped_detector_streams_a_real_record_as_it_runs_one_shot():
    from host_tools.cli_classify import read_preprocessed

    base = require_shared_data("cinc2017", "A00001.hea").with_suffix("")
    model, _ = load_checkpoint(MODELS / "detector.pt")
    S = model.cfg.hop
    x = torch.from_numpy(read_preprocessed(base, model.cfg.fs, None))
    x = x[: len(x) // S * S]
    with torch.no_grad():
        one_shot = model(x[None])[0]  # (classes, frames)
    stream = StreamingDetector(model)
    for t in range(one_shot.shape[1]):
        torch.testing.assert_close(stream.step(x[t * S : (t + 1) * S]), one_shot[:, t], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(stream.result(), one_shot.mean(dim=1), rtol=1e-4, atol=1e-4)


def test_shipped_detector_classifies_the_shared_cinc_records(tmp_path):
    src = require_shared_data("cinc2017")
    csv = tmp_path / "answers.csv"
    assert cli.main(["classify", "--model", str(MODELS / "detector.pt"), "--data", str(src), "--csv", str(csv),
                     "--threads", "1"]) == 0
    rows = [line.split(",") for line in csv.read_text().splitlines()]
    assert len(rows) == 150 and {label for _, label in rows} <= {"N", "A", "O", "~"}
    truth = dict(line.split(",") for line in (src / "REFERENCE.csv").read_text().splitlines() if line)
    # Most AF records are found (a weak floor: some of these 150 records trained the model).
    found = np.mean([label == "A" for name, label in rows if truth[name] == "A"])
    assert found > 0.6
