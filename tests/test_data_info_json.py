"""``afkd data info --json``: the same figures as the lines, as one JSON object on stdout."""

import json

from afkd import cli


def test_info_json_is_the_whole_stdout_and_writes_nothing_into_the_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    assert cli.main(["data", "synth", "--records", "3", "--seconds", "5", "--seed", "4", "--dataset",
                     "--out", str(out)]) == 0
    capsys.readouterr()
    before = sorted(p.name for p in out.iterdir())
    assert cli.main(["data", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["segments"], info["records"], info["fs"], info["with_ground_truth"]) == (3, 3, 250.0, 3)
    assert info["labels"] == {"A": 3} and len(info["f0_hz"]) == 3 and info["seconds_total"] == 15.0
    assert sorted(p.name for p in out.iterdir()) == before  # no info.png unless --png asks
    assert cli.main(["data", "info", str(out), "--json", "--png", str(tmp_path / "h.png")]) == 0
    assert json.loads(capsys.readouterr().out)["segments"] == 3 and (tmp_path / "h.png").is_file()
