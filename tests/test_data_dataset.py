"""The dataset directory: write_dataset / Dataset round trip and training crops."""

import json

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.training.data.dataset import Dataset, write_dataset

FS = 250.0


def make_segments(rng):
    truth = {"source": "synthetic", "record": "s0", "lead": "ecg", "start": 0, "label": "A",
             "aa": rng.standard_normal(1000), "va": rng.standard_normal(1000)}
    truth["ecg"] = truth["aa"] + truth["va"]
    real = {"source": "cinc2017", "record": "A00001", "lead": "ECG", "start": 750, "label": "N",
            "ecg": rng.standard_normal(600)}
    return [truth, real]


def test_round_trip_keeps_arrays_and_metadata(tmp_path):
    segs = make_segments(np.random.default_rng(0))
    write_dataset(tmp_path / "ds", segs, FS, 4.0)
    manifest = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert manifest["format"] == "afkd-dataset" and manifest["version"] == 1 and manifest["fs"] == FS
    assert manifest["signals"] == ["ecg", "aa", "va"]
    ds = Dataset(tmp_path / "ds")
    assert len(ds) == 2 and ds.fs == FS and ds.manifest["segment_seconds"] == 4.0
    ecg = np.load(tmp_path / "ds" / "ecg.npy", mmap_mode="r")
    assert ecg.dtype == np.float32 and ecg.shape == (1600,)
    a, b = ds.segment(0), ds.segment(1)
    for name in ("ecg", "aa", "va"):
        np.testing.assert_array_equal(a[name], segs[0][name].astype(np.float32))
    np.testing.assert_array_equal(b["ecg"], segs[1]["ecg"].astype(np.float32))
    assert np.isnan(b["aa"]).all() and np.isnan(b["va"]).all() and b["aa"].shape == (600,)
    assert (b["offset"], b["length"], b["start"], b["label"], b["has_ground_truth"]) == (1000, 600, 750, "N", False)
    assert a["id"] == "s0:ecg:0" and a["has_ground_truth"] is True


def test_without_ground_truth_only_ecg_is_stored(tmp_path):
    segs = make_segments(np.random.default_rng(1))[1:]
    ds = Dataset(write_dataset(tmp_path / "ds", segs, FS, 30))
    assert not (tmp_path / "ds" / "aa.npy").exists() and not ds.has_ground_truth
    assert np.isnan(ds.segment(0)["va"]).all()


def test_crops_are_windows_of_the_segments(tmp_path):
    segs = make_segments(np.random.default_rng(2))
    ds = Dataset(write_dataset(tmp_path / "ds", segs, FS, 4.0))
    batch = ds.crops(16, 512, np.random.default_rng(3))
    assert batch["ecg"].shape == (16, 512) and batch["ecg"].dtype == np.float32
    # Only the segment with ground truth is long enough and has aa/va.
    assert (batch["index"] == 0).all()
    full = ds.segment(0)
    for row in range(16):
        start = int(np.flatnonzero(np.isclose(full["ecg"], batch["ecg"][row, 0]))[0])
        np.testing.assert_array_equal(batch["aa"][row], full["aa"][start:start + 512])
    # Same generator state, same crops.
    again = ds.crops(16, 512, np.random.default_rng(3))
    np.testing.assert_array_equal(again["ecg"], batch["ecg"])
    # Without the ground-truth filter the real segment can be drawn (it is >= 512 long).
    mixed = ds.crops(64, 512, np.random.default_rng(4), ground_truth=False)
    assert set(mixed["index"].tolist()) == {0, 1}
    assert np.isnan(mixed["aa"][mixed["index"] == 1]).all()


def test_batches_yields_the_requested_steps(tmp_path):
    ds = Dataset(write_dataset(tmp_path / "ds", make_segments(np.random.default_rng(5)), FS, 4.0))
    assert len(list(ds.batches(4, 256, np.random.default_rng(0), steps=3))) == 3


def test_bad_crop_requests_and_bad_directories(tmp_path):
    ds = Dataset(write_dataset(tmp_path / "ds", make_segments(np.random.default_rng(6)), FS, 4.0))
    with pytest.raises(AfkdError, match="multiple of 8"):
        ds.crops(2, 500, np.random.default_rng(0))
    with pytest.raises(AfkdError, match="at least 2048 samples"):
        ds.crops(2, 2048, np.random.default_rng(0))
    with pytest.raises(AfkdError, match="not a dataset"):
        Dataset(tmp_path)
    (tmp_path / "ds" / "va.npy").write_bytes(b"junk")
    with pytest.raises(AfkdError, match="va.npy"):
        Dataset(tmp_path / "ds")


def test_write_refuses_bad_segments_and_leaves_nothing(tmp_path):
    with pytest.raises(AfkdError, match="label"):
        write_dataset(tmp_path / "ds", [{"source": "wfdb", "record": "r", "lead": "0", "start": 0,
                                         "label": "X", "ecg": np.zeros(10)}], FS, 30)
    with pytest.raises(AfkdError, match="no segments"):
        write_dataset(tmp_path / "ds", [], FS, 30)
    assert list(tmp_path.iterdir()) == []
