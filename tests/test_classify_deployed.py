"""afkd classify's deployed routes: a detector's .tflite (TFLM) and its firmware build (host
runner) give the same label per record as each other and as the validated decisions."""

import pytest

from afkd import cli
from afkd.errors import AfkdError
from afkd.host_tools.classify_deployed import classify_firmware, classify_tflite, deployed_kind
from afkd.training.checkpoint import save_checkpoint
from conftest import require_shared_data, require_tool
from tiny_classifiers import tiny_beat, tiny_detector


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    require_tool("cmake")
    root = tmp_path_factory.mktemp("classify_deployed")
    save_checkpoint(root / "det.pt", tiny_detector(3))
    save_checkpoint(root / "beat.pt", tiny_beat(3))
    common = ["--quant", "int8", "--calibration-segments", "3", "--validation-segments", "2"]
    assert cli.main(["export", "--checkpoint", str(root / "det.pt"), "--target", "host", *common,
                     "--out", str(root / "det_host")]) == 0
    assert cli.main(["export", "--checkpoint", str(root / "det.pt"), "--target", "tflite", *common,
                     "--out", str(root / "det_tflite")]) == 0
    assert cli.main(["export", "--checkpoint", str(root / "beat.pt"), "--target", "tflite", *common,
                     "--out", str(root / "beat_tflite")]) == 0
    return root


def _records(count: int):
    data = require_shared_data("cinc2017")
    return sorted(p.with_suffix("") for p in data.glob("*.hea"))[:count]


@pytest.mark.slow
def test_tflite_and_firmware_answer_the_same_label_per_record(builds, tmp_path):
    records = _records(6)
    assert deployed_kind(builds / "det_host") == "build" and deployed_kind(builds / "det_tflite") == "tflite"
    assert deployed_kind(builds / "det_tflite" / "model_int8.tflite") == "tflite"
    assert deployed_kind(builds / "det.pt") is None
    from_tflite = classify_tflite(builds / "det_tflite" / "model_int8.tflite", records)
    from_build_tflite = classify_tflite(builds / "det_host", records)  # the reference inside the build
    from_firmware = classify_firmware(builds / "det_host", records, runner="host")
    assert len(from_tflite) == 6 and set(from_tflite) <= {"N", "A", "O", "~"}
    assert from_firmware == from_build_tflite
    # The command: one CSV row per record, the firmware's answers (a folder of three of the records).
    data = tmp_path / "records"
    data.mkdir()
    for record in records[:3]:
        for part in record.parent.glob(record.name + ".*"):
            (data / part.name).symlink_to(part)
    assert cli.main(["classify", "--model", str(builds / "det_host"), "--data", str(data),
                     "--csv", str(tmp_path / "answers.csv")]) == 0
    rows = (tmp_path / "answers.csv").read_text().splitlines()
    assert rows == [f"{r.name},{label}" for r, label in zip(records[:3], from_firmware)]


def test_a_beat_model_or_a_bare_tflite_is_refused_with_one_line(builds, tmp_path):
    records = _records(1)
    with pytest.raises(AfkdError, match="a window model; afkd classify answers per record"):
        classify_tflite(builds / "beat_tflite", records)
    bare = tmp_path / "model.tflite"
    bare.write_bytes((builds / "det_tflite" / "model_int8.tflite").read_bytes())
    with pytest.raises(AfkdError, match="no export.json beside it"):
        classify_tflite(bare, records)
