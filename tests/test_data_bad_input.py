"""Bad input to ``afkd data import``: one error line naming the record, exit 2, nothing written."""

import shutil

import numpy as np
import pytest
import wfdb

from afkd import cli
from afkd.errors import AfkdError
from afkd.training.data.synth import synthesize_record
from afkd.training.data.wfdb_io import check_samples
from tests.conftest import require_shared_data

FS = 250.0


def ecg(seconds=20.0, fs=FS):
    return synthesize_record(0, seconds, fs, seed=8)["ecg"].astype(np.float64)


def write_record(directory, name, x_mv, fs=FS, sig_names=("ECG",)):
    """A format-16 record at 1 uV per unit; ``x_mv`` is (n,) or (n, leads); NaN becomes invalid."""
    x = np.asarray(x_mv, dtype=np.float64).reshape(len(x_mv), -1)
    digital = np.where(np.isfinite(x), np.round(np.nan_to_num(x) * 1000), -32768).astype(int)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * x.shape[1], sig_name=list(sig_names), d_signal=digital,
                fmt=["16"] * x.shape[1], adc_gain=[1000] * x.shape[1], baseline=[0] * x.shape[1],
                write_dir=str(directory))
    return directory / name


def run_import(tmp_path, capsys, *args):
    """Run the import; return (exit code, stderr lines, whether anything was left in tmp_path/out)."""
    out = tmp_path / "out"
    code = cli.main(["data", "import", *map(str, args), "--out", str(out)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name == "out" or p.name.startswith(".out")]
    return code, err, leftovers


def assert_rejected(tmp_path, capsys, record_name, problem, *args):
    code, err, leftovers = run_import(tmp_path, capsys, *args)
    assert code == 2
    assert len(err) == 1, err
    assert record_name in err[0] and problem in err[0], err[0]
    assert leftovers == []


def test_missing_header(tmp_path, capsys):
    rec = write_record(tmp_path, "nohea", ecg())
    (tmp_path / "nohea.hea").unlink()
    assert_rejected(tmp_path, capsys, "nohea", "no header", rec)


@pytest.mark.parametrize("text", ["this is not a header\n", "bad 1 250 5000\nbad.dat sixteen 200 x y\n", ""])
def test_malformed_header(tmp_path, capsys, text):
    write_record(tmp_path, "bad", ecg())
    (tmp_path / "bad.hea").write_text(text)
    code, err, leftovers = run_import(tmp_path, capsys, tmp_path / "bad")
    assert code == 2 and len(err) == 1 and "bad" in err[0] and "header" in err[0] and leftovers == []


def test_dat_shorter_than_header_says(tmp_path, capsys):
    rec = write_record(tmp_path, "short", ecg())
    data = (tmp_path / "short.dat").read_bytes()
    (tmp_path / "short.dat").write_bytes(data[: len(data) // 2])
    assert_rejected(tmp_path, capsys, "short", "header says 5000", rec)


def test_missing_dat(tmp_path, capsys):
    rec = write_record(tmp_path, "nodat", ecg())
    (tmp_path / "nodat.dat").unlink()
    assert_rejected(tmp_path, capsys, "nodat", "nodat.dat is missing", rec)


def test_mat_shorter_than_header_says(tmp_path, capsys):
    src = require_shared_data("cinc2017", "A00001.hea")
    shutil.copy(src, tmp_path / "A00001.hea")
    mat = src.with_suffix(".mat").read_bytes()
    (tmp_path / "A00001.mat").write_bytes(mat[:-1000])
    assert_rejected(tmp_path, capsys, "A00001", "header says 9000", tmp_path / "A00001")


def test_nan_samples(tmp_path, capsys):
    x = ecg()
    x[1234:1240] = np.nan
    assert_rejected(tmp_path, capsys, "gap", "NaN", write_record(tmp_path, "gap", x))


def test_infinite_samples_are_rejected_by_the_sample_check():
    # WFDB integer formats cannot hold inf; the check that every reader goes through can.
    x = ecg()
    x[99] = np.inf
    with pytest.raises(AfkdError, match="rec: lead ECG has 1 NaN/infinite samples.*first infinite at sample 99"):
        check_samples("rec", "ECG", x)


def test_flat_lead(tmp_path, capsys):
    assert_rejected(tmp_path, capsys, "flat", "flat", write_record(tmp_path, "flat", np.full(5000, 0.3)))


def test_clipped_lead(tmp_path, capsys):
    x = np.clip(3 * ecg(), -1.0, 1.0)  # amplifier saturation at +-1 mV
    assert_rejected(tmp_path, capsys, "clipped", "clipped", write_record(tmp_path, "clipped", x))


def test_unknown_lead(tmp_path, capsys):
    rec = write_record(tmp_path, "two", np.stack([ecg(), -ecg()], axis=1), sig_names=("MLII", "V5"))
    assert_rejected(tmp_path, capsys, "two", "no lead 'V7' (leads: MLII, V5)", rec, "--lead", "V7")
    assert_rejected(tmp_path, capsys, "two", "no lead '2'", rec, "--lead", "2")


def test_rate_below_100_hz(tmp_path, capsys):
    rec = write_record(tmp_path, "slow", ecg(20)[::5], fs=50.0)
    assert_rejected(tmp_path, capsys, "slow", "below 100 Hz", rec)


def test_record_shorter_than_min_seconds(tmp_path, capsys):
    rec = write_record(tmp_path, "tiny", ecg(4.0))
    assert_rejected(tmp_path, capsys, "tiny", "shorter than --min-seconds 5", rec)
    # The same record passes with a lower limit (kept whole as one short segment).
    code, _, _ = run_import(tmp_path, capsys, rec, "--min-seconds", "3")
    assert code == 0


def test_directory_skips_bad_records_unless_strict(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    write_record(src, "good", ecg())
    write_record(src, "flat", np.zeros(5000))
    out = tmp_path / "out"
    assert cli.main(["data", "import", str(src), "--out", str(out)]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "flat" in err[0] and "flat (peak-to-peak" in err[0]
    shutil.rmtree(out)
    code, err, leftovers = run_import(tmp_path, capsys, src, "--strict")
    assert code == 2 and len(err) == 1 and "flat" in err[0] and leftovers == []


def test_directory_of_only_bad_records_writes_nothing(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    write_record(src, "flat", np.zeros(5000))
    code, err, leftovers = run_import(tmp_path, capsys, src)
    assert code == 2 and leftovers == []
    assert err[-1].startswith("afkd data: error:") and "no segments" in err[-1]


def test_failed_import_keeps_the_previous_dataset(tmp_path, capsys):
    good = write_record(tmp_path, "good", ecg())
    assert run_import(tmp_path, capsys, good)[0] == 0
    before = (tmp_path / "out" / "ecg.npy").read_bytes()
    bad = write_record(tmp_path, "flat", np.zeros(5000))
    assert run_import(tmp_path, capsys, bad)[0] == 2
    assert (tmp_path / "out" / "ecg.npy").read_bytes() == before


def test_bad_synth_options(tmp_path, capsys):
    out = tmp_path / "s"
    assert cli.main(["data", "synth", "--records", "0", "--out", str(out)]) == 2
    assert cli.main(["data", "synth", "--fs", "50", "--out", str(out)]) == 2
    assert cli.main(["data", "synth", "--f0", "9", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith(("afkd data: error:", "afkd data synth: error:")) for line in err)
    assert not out.exists()
