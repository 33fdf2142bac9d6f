"""Classifier training through the task-generic trainer: it learns, checkpoints carry the family and
the split, runs resume, a task/model mismatch is refused; classify writes the answers CSV; eval
prints and writes F1 per class, the challenge score and the confusion matrix; the metrics and the
boosted-trees baseline are right."""

import json

import numpy as np
import pytest
import torch

from afkd import cli
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.classify import record_logits
from afkd.training.data.dataset import Dataset, write_dataset
from afkd.training.gbm import GBMSettings, GradientBoosting
from afkd.training.metrics_classify import classification_summary, f1_per_class
from afkd.training.model_detector import RhythmTCN, RhythmTCNConfig
from afkd.training.runs import train_model
from tests.test_data_import import write_record

FS = 250
TINY_DETECTOR = dict(family="rhythm_tcn", enc_channels=6, enc_kernel=20, bottleneck=6, hidden=8, blocks=3, repeats=1)
FAST = dict(threads=1, progress=False)


def pulses(rate_hz: float, jitter: float, seconds: float, rng) -> np.ndarray:
    """Unit spikes at ``rate_hz`` with relative timing jitter, plus a little noise (mV)."""
    x = 0.02 * rng.standard_normal(int(seconds * FS))
    t = 0.2
    while t < seconds - 0.1:
        k = int(t * FS)
        x[k : k + 5] += np.hanning(5)
        t += (1 + jitter * rng.uniform(-1, 1)) / rate_hz
    return x


RHYTHMS = {"N": (1.0, 0.0), "A": (1.6, 0.6), "O": (2.2, 0.0), "~": None}


def rhythm_record(label: str, seconds: float, rng) -> np.ndarray:
    if RHYTHMS[label] is None:
        return 0.5 * rng.standard_normal(int(seconds * FS))
    return pulses(*RHYTHMS[label], seconds, rng)


@pytest.fixture(scope="module")
def rhythm_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("rhythm")
    rng = np.random.default_rng(3)
    segs = [{"source": "cinc2017", "record": f"Q{k:05d}", "lead": "ECG", "start": 0, "label": label,
             "ecg": rhythm_record(label, rng.uniform(9, 20), rng)}
            for k, label in enumerate(["N", "A", "O", "~"] * 10)]
    write_dataset(root / "ds", segs, FS, 0.0, extra={"kind": "records"})
    return root / "ds"


def test_rhythm_training_learns_checkpoints_and_resumes(rhythm_data, tmp_path):
    out = tmp_path / "run"
    best = train_model(dict(TINY_DETECTOR), rhythm_data, out, epochs=3, steps_per_epoch=25, batch_size=8,
                       lr=1e-2, seed=1, task="rhythm", val_fraction=0.3, **FAST)
    model, meta = load_checkpoint(best)
    assert isinstance(model, RhythmTCN) and meta["task"] == "rhythm"
    log = json.loads((out / "log.json").read_text())
    val = set(log["run"]["split"]["val_records"])
    assert len(val) == 12 and meta["split"]["val_records"] == sorted(val)  # 30 % of each class: 3 each
    assert {"val_challenge_score", "val_accuracy", "train_loss"} <= set(log["epochs"][-1])
    # It learns: the training loss falls and the best validation score beats chance (0.25).
    assert log["epochs"][-1]["train_loss"] < log["epochs"][0]["train_loss"]
    assert meta["best_val_challenge_score"] >= 0.5
    # Resume: the epoch count goes on from last.pt, with the optimizer state.
    train_model(None, rhythm_data, out, epochs=4, steps_per_epoch=5, batch_size=8, seed=1,
                resume=out / "last.pt", task="rhythm", val_fraction=0.3, **FAST)
    log = json.loads((out / "log.json").read_text())
    assert [r["epoch"] for r in log["epochs"]] == [1, 2, 3, 4] and log["run"]["resumed_optimizer"]
    assert load_checkpoint(out / "last.pt")[1]["epoch"] == 4


def test_resnet_reference_trains_with_the_same_trainer(rhythm_data, tmp_path):
    cfg = dict(family="resnet34", base_filters=2, kernel=5, blocks=4, dropout=0.0)
    best = train_model(cfg, rhythm_data, tmp_path, epochs=1, steps_per_epoch=2, batch_size=4, task="rhythm", **FAST)
    model, meta = load_checkpoint(best)
    assert type(model).__name__ == "ResNet34" and meta["val"]["count"] == 4


def test_task_and_model_must_agree(rhythm_data, tmp_path, capsys):
    code = cli.main(["train", "--task", "beats", "--preset", "detector", "--data", str(rhythm_data),
                     "--out", str(tmp_path / "r"), "--threads", "1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "rhythm_tcn" in err[0] and "rhythm task" in err[0]
    code = cli.main(["train", "--task", "rhythm", "--lookahead", "3", "--data", str(rhythm_data),
                     "--out", str(tmp_path / "r"), "--threads", "1", "--no-progress"])
    assert code == 2 and "--lookahead does not apply to a rhythm_tcn" in capsys.readouterr().err


def test_invert_share_flips_that_share_of_the_training_records(tmp_path):
    """--invert-share P: a reversed lead is the same rhythm, so a share P of the training records
    is given with its sign flipped; 0 leaves every record upright, 1 flips them all."""
    from afkd.training.tasks import make_task
    from afkd.training.trainer import TrainSettings

    rng = np.random.default_rng(4)
    segs = [{"source": "cinc2017", "record": f"P{k:05d}", "lead": "ECG", "start": 0, "label": label,
             "ecg": 0.1 + np.abs(rhythm_record(label, 12.0, rng))}  # every sample positive
            for k, label in enumerate(["N", "A", "O", "~"] * 5)]
    write_dataset(tmp_path / "ds", segs, FS, 0.0, extra={"kind": "records"})
    model = RhythmTCN(RhythmTCNConfig(**{k: v for k, v in TINY_DETECTOR.items() if k != "family"}))
    signs = {}
    for share in (0.0, 0.5, 1.0):
        task = make_task("rhythm", TrainSettings(batch_size=8, invert_share=share, val_fraction=0.2), model)
        task.load_data(tmp_path / "ds", None)
        draw = np.random.default_rng(0)
        batches = [task.sample(draw) for _ in range(10)]
        # each record's valid samples, upright (+1) or flipped (-1); zero padding is left out
        signs[share] = np.array([np.sign(b["ecg"][i, : b["lengths"][i]]).mean()
                                 for b in batches for i in range(len(b["lengths"]))])
        assert np.all(np.abs(signs[share]) == 1.0)  # a record is flipped whole or not at all
    assert np.all(signs[0.0] == 1) and np.all(signs[1.0] == -1)
    assert 0.25 < np.mean(signs[0.5] == -1) < 0.75
    with pytest.raises(Exception, match="--invert-share 1.5: must be between 0 and 1"):
        TrainSettings(invert_share=1.5).check()


@pytest.fixture(scope="module")
def beats_data(tmp_path_factory):
    """One record of 60 s at 250 Hz: N beats are narrow spikes, V beats wide ones."""
    root = tmp_path_factory.mktemp("beats")
    rng = np.random.default_rng(5)
    x = 0.02 * rng.standard_normal(60 * FS)
    peaks = np.arange(100, 60 * FS - 100, 200)
    labels = rng.integers(0, 2, peaks.size) * 2  # 0 = N, 2 = V
    for p, c in zip(peaks, labels):
        width = 5 if c == 0 else 25
        x[p - width // 2 : p - width // 2 + width] += np.hanning(width)
    seg = {"source": "mitdb", "record": "900", "lead": "MLII", "start": 0, "label": None, "ecg": x,
           "beats": (peaks, labels)}
    from afkd.training.data.beats import beat_arrays

    write_dataset(root / "ds", [seg], FS, 0.0, extra={"kind": "beats", "beat_classes": ["N", "S", "V", "F", "Q"]},
                  arrays=beat_arrays([seg]))
    return root / "ds"


def test_beat_training_and_eval(beats_data, tmp_path, capsys):
    cfg = dict(family="beat_cnn", before=48, after=48, channels=[4, 4], kernels=[5, 5], dense=8, dropout=0.0)
    best = train_model(cfg, beats_data, tmp_path / "run", epochs=2, steps_per_epoch=20, batch_size=16, lr=1e-2,
                       task="beats", **FAST)
    _, meta = load_checkpoint(best)
    assert meta["task"] == "beats" and meta["split"]["kind"].startswith("intra-patient")
    assert meta["val"]["f1"]["V"] is not None and meta["val"]["accuracy"] > 0.8
    assert cli.main(["eval", "--model", str(best), "--data", str(beats_data), "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "F1 N" in out and "true \\ predicted" in out
    result = json.loads((tmp_path / "e.json").read_text())["results"][str(best)]
    assert result["count"] == sum(result["support"].values()) and result["rows"] == "beats"


def test_invert_share_flips_beat_windows_too(beats_data, tmp_path, capsys):
    from afkd.training.model_beat import BeatCNN, BeatCNNConfig
    from afkd.training.tasks import make_task
    from afkd.training.trainer import TrainSettings

    model = BeatCNN(BeatCNNConfig(before=48, after=48, channels=(4, 4), kernels=(5, 5), dense=8, dropout=0.0))
    batches = {}
    for share in (0.0, 1.0):
        task = make_task("beats", TrainSettings(batch_size=16, invert_share=share), model)
        task.load_data(beats_data, None)
        batches[share] = task.sample(np.random.default_rng(0))
    assert np.array_equal(batches[1.0]["ecg"], -batches[0.0]["ecg"])  # the same windows, every one flipped
    assert np.array_equal(batches[1.0]["label"], batches[0.0]["label"])
    code = cli.main(["train", "--task", "beats", "--preset", "beat-cnn", "--invert-share", "2", "--data",
                     str(beats_data), "--out", str(tmp_path / "r"), "--threads", "1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--invert-share 2" in err[0]
    assert not (tmp_path / "r").exists()


def test_classify_writes_one_answer_per_record(tmp_path, capsys):
    rng = np.random.default_rng(7)
    src = tmp_path / "wfdb"
    src.mkdir()
    for name in ("B2", "B1", "B3"):
        write_record(src, name, rhythm_record("A", 11.0, rng), 300.0)
    torch.manual_seed(0)
    model = RhythmTCN(RhythmTCNConfig(**{k: v for k, v in TINY_DETECTOR.items() if k != "family"}))
    save_checkpoint(tmp_path / "m.pt", model.eval())
    csv = tmp_path / "answers.csv"
    assert cli.main(["classify", "--model", str(tmp_path / "m.pt"), "--data", str(src), "--csv", str(csv)]) == 0
    rows = [line.split(",") for line in csv.read_text().splitlines()]
    assert [r[0] for r in rows] == ["B1", "B2", "B3"]
    # The labels are the model's on the records as import preprocesses them.
    ds_dir = tmp_path / "ds"
    assert cli.main(["data", "import", str(src), "--out", str(ds_dir), "--kind", "records"]) == 0
    ds = Dataset(ds_dir)
    logits = record_logits(model.eval(), [ds.segment(i)["ecg"] for i in range(len(ds))])
    assert [r[1] for r in rows] == [model.cfg.classes[k] for k in logits.argmax(axis=1)]


def test_classify_refuses_models_that_do_not_answer_per_record(tmp_path, capsys):
    from afkd.training.model import DTFENet, DTFENetConfig

    save_checkpoint(tmp_path / "f.pt", DTFENet(DTFENetConfig(enc_channels=4, bottleneck=4, hidden=4, blocks=1)))
    (tmp_path / "w").mkdir()
    write_record(tmp_path / "w", "r", np.sin(np.arange(3000) / 9.0), 250.0)
    code = cli.main(["classify", "--model", str(tmp_path / "f.pt"), "--data", str(tmp_path / "w"),
                     "--csv", str(tmp_path / "a.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "dtfenet" in err[0] and not (tmp_path / "a.csv").exists()


def test_f1_and_challenge_score_by_hand():
    # rows true, columns predicted, classes N A O ~
    true = [0] * 5 + [1] * 3 + [2] * 2 + [3]
    pred = [0, 0, 0, 0, 2] + [1, 1, 0] + [2, 1] + [3]
    s = classification_summary(true, pred, ["N", "A", "O", "~"])
    assert s["confusion"][0] == [4, 0, 1, 0] and s["confusion"][1] == [1, 2, 0, 0]
    f1_n, f1_a, f1_o = 2 * 4 / (5 + 5), 2 * 2 / (3 + 3), 2 * 1 / (2 + 2)
    assert s["f1"]["N"] == pytest.approx(f1_n) and s["f1"]["A"] == pytest.approx(f1_a)
    assert s["challenge_score"] == pytest.approx((f1_n + f1_a + f1_o) / 3)
    assert s["accuracy"] == pytest.approx(8 / 11) and s["f1"]["~"] == 1.0
    assert f1_per_class(np.zeros((2, 2), dtype=int)) == [None, None]


def test_boosted_trees_learn_a_nonlinear_rule():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1200, 4))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int) + 2 * (x[:, 2] > 0.6)  # XOR, doubled by a third feature
    model = GradientBoosting(GBMSettings(rounds=60, learning_rate=0.2, max_depth=3)).fit(x[:800], y[:800], 4)
    assert (model.predict(x[800:]) == y[800:]).mean() > 0.9
    assert (np.bincount(y[:800]) > 0).all()


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["upright", "inverted"])
def test_baseline_finds_r_peaks_and_irregularity(sign):
    from afkd.training.rr_features import FEATURE_NAMES, r_peaks, record_features

    rng = np.random.default_rng(2)
    regular, irregular = pulses(1.2, 0.0, 30.0, rng), pulses(1.4, 0.5, 30.0, rng)
    truth = np.flatnonzero(np.diff((regular > 0.5).astype(int)) == 1)  # rising edges of the spikes
    found = r_peaks(sign * regular, FS)
    assert len(found) == len(truth) and np.all(np.abs(found - truth) <= 3)
    a, b = record_features(sign * regular, FS), record_features(sign * irregular, FS)
    cv = FEATURE_NAMES.index("rr_cv")
    assert a[cv] < 0.02 < 0.15 < b[cv]
    assert len(a) == len(FEATURE_NAMES) and np.isfinite(a[: FEATURE_NAMES.index("tq_fwave_fraction")]).all()
