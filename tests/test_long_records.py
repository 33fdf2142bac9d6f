"""Long records stream through import: the same dataset as a whole-record import, bounded memory.

The threshold and chunk size are made small here so that a 3-minute record takes the long
path in many chunks (benchmarks/bench_import.py measures the memory on a 200 MB record).
"""

import numpy as np
import pytest
import wfdb

from afkd import cli
from afkd.training.data import long_records, wfdb_io
from afkd.training.data.dataset import Dataset
from afkd.training.data.synth import synthesize_record


def mitdb_like(folder, name="long", fs=360, seconds=180.0, nan_at=None):
    x = synthesize_record(0, seconds, fs, seed=4)["ecg"].astype(np.float64)
    digital = np.round(x * 200).astype(int)
    fmt = "212"
    if nan_at is not None:
        digital[nan_at], fmt = -32768, "16"  # the invalid-sample value of format 16
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["MLII", "V5"], fmt=[fmt, fmt],
                d_signal=np.stack([digital, digital], axis=1), adc_gain=[200, 200], baseline=[0, 0],
                write_dir=str(folder))
    return folder / name


def import_both(tmp_path, capsys, rec, *args):
    """(code, stderr) of the whole-record import and of the streamed one."""
    results = []
    for mode, threshold in (("whole", 10**12), ("streamed", 1000)):
        wfdb_io.LONG_RECORD = threshold
        code = cli.main(["data", "import", str(rec), "--out", str(tmp_path / mode), *args])
        results.append((code, capsys.readouterr().err.strip()))
    return results


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(wfdb_io, "LONG_RECORD", wfdb_io.LONG_RECORD)
    monkeypatch.setattr(long_records, "CHUNK", 7777)  # not a multiple of anything: chunk edges everywhere


@pytest.mark.parametrize("fs_in", [360, 250, 300])
def test_streamed_import_equals_the_whole_record_import(tmp_path, capsys, fs_in):
    rec = mitdb_like(tmp_path, fs=fs_in)
    assert import_both(tmp_path, capsys, rec, "--lead", "V5", "--segment-seconds", "20") == [(0, ""), (0, "")]
    whole, streamed = Dataset(tmp_path / "whole"), Dataset(tmp_path / "streamed")
    assert whole.segments == streamed.segments and len(whole) == 9
    a, b = (np.load(d / "ecg.npy") for d in (tmp_path / "whole", tmp_path / "streamed"))
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)  # float32 outputs: equal up to float64 rounding


def test_a_nan_in_a_long_record_is_named_as_in_a_short_one(tmp_path, capsys):
    rec = mitdb_like(tmp_path, nan_at=50_000)
    (whole, streamed) = import_both(tmp_path, capsys, rec)
    assert whole[0] == streamed[0] == 2
    assert whole[1] == streamed[1] and "first NaN at sample 50000" in whole[1]


def test_a_flat_long_record_is_refused(tmp_path, capsys):
    wfdb.wrsamp("flat", fs=250, units=["mV"], sig_name=["ECG"], fmt=["16"], d_signal=np.full((60_000, 1), 7),
                adc_gain=[1000], baseline=[0], write_dir=str(tmp_path))
    (whole, streamed) = import_both(tmp_path, capsys, tmp_path / "flat")
    assert whole == streamed and whole[0] == 2 and "is flat" in whole[1]
