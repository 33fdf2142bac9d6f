"""What classifier firmware is validated on: whole CinC records with their labels, and beat windows
at the annotated R peaks, the same from a WFDB folder as from a beats dataset."""

import numpy as np

from afkd import cli
from afkd.host_tools.classifier_inputs import beat_windows, records
from conftest import require_shared_data


def test_records_are_whole_preprocessed_and_labelled():
    data = require_shared_data("cinc2017")
    items = records(data, 250, limit=3)
    assert [i.id for i in items] == sorted(p.stem for p in data.glob("*.hea"))[:3]
    assert all(i.label in ("N", "A", "O", "~") for i in items)
    assert all(9 * 250 <= i.ecg.size <= 61 * 250 and i.ecg.dtype == np.float32 for i in items)


def test_beat_windows_from_the_folder_equal_those_of_a_beats_dataset(tmp_path):
    data = require_shared_data("mitdb")
    assert cli.main(["data", "import", str(data), "--kind", "beats", "--lead", "MLII", "--out", str(tmp_path / "b")]) == 0
    from_folder = beat_windows(data, 250, 24, 40, per_record=25)
    from_dataset = beat_windows(tmp_path / "b", 250, 24, 40, per_record=25)
    assert len(from_folder) == len(from_dataset) == 25
    for a, b in zip(from_folder, from_dataset):
        assert a.label == b.label and a.label in ("N", "S", "V", "F", "Q") and a.ecg.size == 64
        np.testing.assert_array_equal(a.ecg, b.ecg)
    # R peak at sample `before` of each window: the window's largest deflection sits near it
    assert np.median([np.argmax(np.abs(w.ecg)) for w in from_folder]) in range(20, 29)
