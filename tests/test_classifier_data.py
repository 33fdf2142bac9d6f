"""Classifier data: labels per record, whole records, dropped tails said, AAMI beats, the held-out
list and its refusal, and the PhysioNet download against a local HTTP server."""

import functools
import http.server
import json
import threading

import numpy as np
import pytest
import wfdb

from afkd import cli
from afkd.errors import AfkdError
from afkd.training.data.beats import AAMI_CLASSES, DS1, DS2, PACED, load_beats
from afkd.training.data.dataset import Dataset
from afkd.training.data.heldout import heldout_records
from afkd.training.data.importer import ImportOptions, import_dataset
from tests.conftest import SHARED_DATA, require_shared_data
from tests.test_data_import import write_record


def ecg_like(seconds: float, fs: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    return np.sin(2 * np.pi * 1.2 * t) ** 31 + 0.05 * rng.standard_normal(t.size)


def test_records_kind_keeps_whole_records_with_labels_from_a_v3_style_csv(tmp_path):
    src = tmp_path / "wfdb"
    src.mkdir()
    for name, seconds in (("A00001", 12.0), ("A00002", 47.0), ("B00003", 9.5)):
        write_record(src, name, ecg_like(seconds, 300.0), 300.0)
    labels = tmp_path / "REFERENCE-v3.csv"
    labels.write_text("A00/A00001,A,0\nA00/A00002,O,1\nB00/B00003,~,2\n")
    out = tmp_path / "ds"
    assert cli.main(["data", "import", str(src), "--out", str(out), "--kind", "records", "--labels", str(labels)]) == 0
    ds = Dataset(out)
    assert ds.manifest["kind"] == "records"
    rows = {s["record"]: s for s in ds.segments}
    assert {k: v["label"] for k, v in rows.items()} == {"A00001": "A", "A00002": "O", "B00003": "~"}
    assert rows["A00002"]["length"] == 47 * 250 and rows["B00003"]["length"] == int(9.5 * 250)


def test_a_trailing_piece_shorter_than_a_segment_is_said(tmp_path, capsys):
    src = tmp_path / "wfdb"
    src.mkdir()
    write_record(src, "r1", ecg_like(47.0, 250.0), 250.0)
    lines = []
    summary = import_dataset(tmp_path / "ds", [src], ImportOptions(segment_seconds=20.0), warn=lines.append)
    assert summary["segments"] == 2 and summary["tails_dropped"] == 1
    assert lines == [f"{src / 'r1'}: last 7.0 s shorter than a 20 s segment, not imported "
                     "(--kind records keeps whole records)"]


def test_beats_kind_maps_symbols_to_aami_classes_at_the_model_rate(tmp_path):
    src = tmp_path / "mit"
    src.mkdir()
    write_record(src, "201", ecg_like(20.0, 360.0), 360.0, sig_name="MLII")
    samples = np.array([360, 720, 1080, 1440, 1800, 2160, 2520, 2880, 3240])
    symbols = ["N", "V", "A", "+", "F", "/", "L", "~", "j"]  # + and ~ are not beats
    wfdb.wrann("201", "atr", samples, symbols, aux_note=["", "", "", "(AFIB", "", "", "", "", ""],
               write_dir=str(src))
    out = tmp_path / "ds"
    assert cli.main(["data", "import", str(src), "--out", str(out), "--kind", "beats"]) == 0
    ds = Dataset(out)
    beats = load_beats(ds)
    assert beats["classes"] == AAMI_CLASSES
    names = [AAMI_CLASSES[k] for k in beats["label"]]
    assert names == ["N", "V", "S", "F", "Q", "N", "N"]
    kept = np.array([360, 720, 1080, 1800, 2160, 2520, 3240])
    np.testing.assert_array_equal(beats["sample"], np.round(kept * 250 / 360).astype(int))
    assert len(ds) == 1 and ds.segments[0]["length"] == 20 * 250


def test_mitdb_100_beats_are_all_there(tmp_path):
    base = require_shared_data("mitdb", "100.hea").with_suffix("")
    out = tmp_path / "ds"
    assert cli.main(["data", "import", str(base), "--out", str(out), "--kind", "beats", "--lead", "MLII"]) == 0
    beats = load_beats(Dataset(out))
    ann = wfdb.rdann(str(base), "atr")
    assert beats["label"].size == sum(s in "NLRejAaJSVEF/fQ" for s in ann.symbol) == 2273
    counts = np.bincount(beats["label"], minlength=5)
    assert counts.tolist() == [2239, 33, 1, 0, 0]  # record 100: 2239 N, 33 A (S), 1 V


def test_de_chazal_split_lists():
    assert len(DS1) == len(DS2) == 22 and not set(DS1) & set(DS2) and not set(PACED) & (set(DS1) | set(DS2))


def test_packaged_heldout_list_equals_the_shared_file():
    names = heldout_records()
    assert len(names) == 1000 and all(n.startswith("A") and len(n) == 6 for n in names)
    shared = SHARED_DATA / "cinc2017_heldout.txt"
    if not shared.is_file():
        require_shared_data("cinc2017_heldout.txt")
    assert names == {line.strip() for line in shared.read_text().splitlines() if line.strip()}


def heldout_dataset(tmp_path, kind: str):
    """A dataset holding one record named like a held-out CinC record."""
    src = tmp_path / "wfdb"
    src.mkdir()
    held = sorted(heldout_records())[0]
    for name in ("Z00001", held, "Z00002"):
        write_record(src, name, ecg_like(12.0, 300.0), 300.0)
    (src / "REFERENCE.csv").write_text(f"Z00001,N\n{held},A\nZ00002,O\n")
    out = tmp_path / kind
    assert cli.main(["data", "import", str(src), "--out", str(out), "--kind", kind]) == 0
    return out, held, src


@pytest.mark.parametrize("argv", [
    ["train", "--task", "rhythm", "--enc-channels", "4", "--bottleneck", "4", "--hidden", "4", "--blocks", "1"],
    ["train", "--preset", "student", "--enc-channels", "4", "--bottleneck", "4", "--hidden", "4", "--blocks", "1"],
], ids=["rhythm", "separation"])
def test_every_training_command_refuses_a_heldout_record(tmp_path, capsys, argv):
    data, held, _ = heldout_dataset(tmp_path, "records")
    code = cli.main([*argv, "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                     "--steps-per-epoch", "1", "--threads", "1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"record {held} is on the CinC 2017 held-out list" in err[0]
    assert not (tmp_path / "run").exists()


def test_import_can_leave_the_heldout_records_out(tmp_path, capsys):
    src = tmp_path / "wfdb"
    data, held, src = heldout_dataset(tmp_path, "records")
    out = tmp_path / "clean"
    assert cli.main(["data", "import", str(src), "--out", str(out), "--kind", "records", "--skip-heldout"]) == 0
    assert "left out 1 held-out records" in capsys.readouterr().out
    assert held not in {s["record"] for s in Dataset(out).segments}


def physionet_tree(root):
    """A tiny PhysioNet-shaped tree: content/<db>/ (version page), files/<db>/<version>/..."""
    for db, version in (("mitdb", "1.0.0"), ("challenge-2017", "1.0.0")):
        (root / "content" / db / version).mkdir(parents=True)
        (root / "content" / db / "index.html").write_text(f"<p>Version: {version}</p>\n")
        (root / "content" / db / version / "index.html").write_text("ok\n")
    (root / "content" / "challenge-2017" / "1.0.0" / "training").mkdir()
    (root / "content" / "challenge-2017" / "1.0.0" / "training" / "index.html").write_text("ok\n")
    mit = root / "files" / "mitdb" / "1.0.0"
    mit.mkdir(parents=True)
    write_record(mit, "r1", ecg_like(10.0, 360.0), 360.0, sig_name="MLII")
    wfdb.wrann("r1", "atr", np.array([360, 720]), ["N", "V"], write_dir=str(mit))
    (mit / "RECORDS").write_text("r1\n")
    (mit / "ANNOTATORS").write_text("atr\treference beat annotations\n")
    cinc = root / "files" / "challenge-2017" / "1.0.0"
    (cinc / "training").mkdir(parents=True)
    for name in ("A00001", "A00003"):
        write_record(cinc / "training", name, ecg_like(10.0, 300.0), 300.0)
    (cinc / "training" / "RECORDS").write_text("A00001\nA00003\n")
    (cinc / "REFERENCE-v3.csv").write_text("A00001,N\nA00003,A\n")


@pytest.fixture
def physionet(tmp_path):
    root = tmp_path / "physionet"
    physionet_tree(root)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_download_mitdb_and_cinc2017_from_a_local_mirror(tmp_path, physionet, capsys):
    out = tmp_path / "mit"
    assert cli.main(["data", "download", "mitdb", "--out", str(out), "--base-url", physionet]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["r1.atr", "r1.dat", "r1.hea"]
    assert wfdb.rdann(str(out / "r1"), "atr").symbol == ["N", "V"]
    cinc = tmp_path / "cinc"
    assert cli.main(["data", "download", "cinc2017", "--out", str(cinc), "--base-url", physionet]) == 0
    assert {p.name for p in cinc.iterdir()} == {"A00001.hea", "A00001.dat", "A00003.hea", "A00003.dat",
                                                "REFERENCE-v3.csv"}
    ds = tmp_path / "ds"
    assert cli.main(["data", "import", str(cinc), "--out", str(ds), "--kind", "records",
                     "--labels", str(cinc / "REFERENCE-v3.csv")]) == 0
    assert {s["record"]: s["label"] for s in Dataset(ds).segments} == {"A00001": "N", "A00003": "A"}


def test_download_never_overwrites_and_reports_a_missing_database(tmp_path, physionet, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert cli.main(["data", "download", "mitdb", "--out", str(out), "--base-url", physionet]) == 2
    assert "already exists" in capsys.readouterr().err and (out / "mine.txt").read_text() == "keep"
    assert cli.main(["data", "download", "afdb", "--out", str(tmp_path / "afdb"), "--base-url", physionet]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not download afdb" in err[0] and not (tmp_path / "afdb").exists()
