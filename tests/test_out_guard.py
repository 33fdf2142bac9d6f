"""Every command that writes a folder refuses an --out it must not touch: exit 2, one line, no change.

The table is every such command x every bad --out; after each refusal the whole test folder
(names, sizes, modification times) must be exactly as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afkd import cli, outdir
from afkd.training.checkpoint import save_checkpoint
from afkd.training.data.synth import synth_dataset, write_synth_wfdb
from afkd.training.model import DTFENet, DTFENetConfig
from fs_snapshot import snapshot

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Inputs every command can read: WFDB records, a dataset and a checkpoint, in folders of their own."""
    root = tmp_path_factory.mktemp("inputs")
    write_synth_wfdb(root / "records", 1, seconds=10.0)
    synth_dataset(root / "dataset", 2, 10.0, 250.0)
    (root / "ckpt").mkdir()
    save_checkpoint(root / "ckpt" / "teacher.pt", DTFENet(TINY))
    return root


# command -> (argv before --out, its output kind, the folder inputs it reads: name -> path in `inputs`)
COMMANDS = {
    "synth": (lambda i: ["data", "synth", "--records", "1", "--seconds", "10"], outdir.SYNTH_WFDB, ()),
    "synth --dataset": (lambda i: ["data", "synth", "--records", "1", "--seconds", "10", "--dataset"],
                        outdir.DATASET, ()),
    "import": (lambda i: ["data", "import", str(i / "records")], outdir.DATASET, ("records",)),
    "train": (lambda i: ["train", "--config", json.dumps(TINY.to_dict()), "--data", str(i / "dataset"),
                         "--epochs", "1", "--steps-per-epoch", "1", "--threads", "1", "--no-progress"],
              outdir.RUN, ("dataset",)),
    "distill": (lambda i: ["distill", "--teacher", str(i / "ckpt" / "teacher.pt"), "--data", str(i / "dataset"),
                           "--epochs", "1", "--steps-per-epoch", "1", "--threads", "1", "--no-progress"],
                outdir.RUN, ("dataset", "ckpt")),
    **{f"export {target}": (lambda i, t=target: ["export", "--checkpoint", str(i / "ckpt" / "teacher.pt"),
                                                  "--target", t, "--calibration", str(i / "dataset"),
                                                  "--seconds", "2"], outdir.EXPORT, ("dataset", "ckpt"))
       for target in ("onnx", "tflite", "stm32", "host", "qemu", "renode")},
    "demo": (lambda i: ["demo", "--records", "1", "--val-records", "1", "--steps", "1", "--epochs", "1"],
             outdir.DEMO, ()),
}


def _own_manifest(kind: outdir.OutputKind) -> str:
    return json.dumps({"run": {}, "epochs": []} if kind is outdir.RUN else
                      {"format": {outdir.DATASET: "afkd-dataset", outdir.SYNTH_WFDB: "afkd-synth-wfdb",
                                  outdir.EXPORT: "afkd-export", outdir.DEMO: "afkd-demo"}[kind]})


def make_out(case: str, work: Path, inputs: Path, kind: outdir.OutputKind, reads: tuple, monkeypatch) -> tuple[str, str]:
    """Set up the bad --out of ``case`` inside ``work``; returns (the --out argument, the expected words)."""
    if case == "a file":
        (work / "notes.txt").write_text("mine")
        return str(work / "notes.txt"), "is a file, not a folder"
    if case == "below a file":
        (work / "notes.txt").write_text("mine")
        return str(work / "notes.txt" / "out"), "lies below the file"
    if case == "a folder of someone else's":
        (work / "docs").mkdir()
        (work / "docs" / "README.md").write_text("# keep me")
        return str(work / "docs"), "holds 'README.md'"
    if case == "its own kind plus a stranger":
        (work / "old").mkdir()
        (work / "old" / kind.manifest).write_text(_own_manifest(kind))
        (work / "old" / "zz-notes.txt").write_text("mine")
        return str(work / "old"), "holds 'zz-notes.txt'"
    if case == "the current folder":
        (work / "notes.txt").write_text("mine")
        monkeypatch.chdir(work)
        return ".", "is the current folder or holds it"
    if case == "an ancestor of the current folder":
        (work / "deeper").mkdir()
        monkeypatch.chdir(work / "deeper")
        return "..", "is the current folder or holds it"
    if case == "not writable":
        monkeypatch.setattr(outdir.os, "access", lambda path, mode: Path(path) != work)
        return str(work / "new"), "cannot write in"
    name = reads[0]
    if case == "an input":
        return str(inputs / name), "is the input"
    if case == "inside an input":
        return str(inputs / name / "out"), "lies inside the input"
    if case == "holding an input":
        return str(inputs), "holds the input"
    raise AssertionError(case)


GENERAL = ("a file", "below a file", "a folder of someone else's", "its own kind plus a stranger",
           "the current folder", "an ancestor of the current folder", "not writable")
ABOUT_INPUTS = ("an input", "inside an input", "holding an input")
TABLE = [(command, case) for command, (_, _, reads) in COMMANDS.items()
         for case in GENERAL + (ABOUT_INPUTS if reads else ())]


@pytest.mark.parametrize("command, case", TABLE)
def test_bad_out_is_refused_and_nothing_changes(command, case, inputs, tmp_path, capsys, monkeypatch):
    argv, kind, reads = COMMANDS[command]
    work = tmp_path / "work"
    work.mkdir()
    out, words = make_out(case, work, inputs, kind, reads, monkeypatch)
    before = snapshot(tmp_path), snapshot(inputs)
    capsys.readouterr()
    code = cli.main([*argv(inputs), "--out", out])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"afkd {argv(inputs)[0]}: error: --out {out}: "), err[0]
    assert words in err[0], err[0]
    assert (snapshot(tmp_path), snapshot(inputs)) == before


def test_the_guard_runs_before_any_work(inputs, tmp_path, capsys):
    # A refused --out must cost nothing: the checkpoint named is not even read.
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("x")
    code = cli.main(["export", "--checkpoint", str(tmp_path / "missing.pt"), "--target", "stm32",
                     "--out", str(tmp_path / "docs")])
    assert code == 2 and "holds 'a.md'" in capsys.readouterr().err


def test_a_command_replaces_its_own_earlier_output(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    for _ in range(2):
        assert cli.main(["data", "import", str(inputs / "records"), "--out", str(out)]) == 0
    # data info's histograms inside the dataset are afkd's too.
    assert cli.main(["data", "info", str(out)]) == 0 and (out / "info.png").is_file()
    assert cli.main(["data", "import", str(inputs / "records"), "--out", str(out)]) == 0
    assert not (out / "info.png").exists()
    for _ in range(2):
        assert cli.main(["data", "synth", "--records", "1", "--seconds", "10", "--out", str(tmp_path / "s")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s"]  # no .tmp-/.old- left


def test_force_replaces_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("x")
    argv = ["data", "synth", "--records", "1", "--seconds", "10", "--dataset", "--out", str(tmp_path / "docs")]
    assert cli.main(argv) == 2
    assert cli.main([*argv, "--force"]) == 0
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["aa.npy", "dataset.json", "ecg.npy", "va.npy"]


@pytest.mark.parametrize("flag", ["--json", "--png"])
def test_file_outputs_refuse_a_folder_and_an_input(flag, inputs, tmp_path, capsys):
    (tmp_path / "folder").mkdir()
    argv = (["eval", "--model", str(inputs / "ckpt" / "teacher.pt"), "--data", str(inputs / "dataset")]
            if flag == "--json" else ["data", "info", str(inputs / "dataset")])
    before = snapshot(tmp_path), snapshot(inputs)
    assert cli.main([*argv, flag, str(tmp_path / "folder")]) == 2
    assert f"{flag} {tmp_path / 'folder'}: is a folder, not a file" in capsys.readouterr().err
    if flag == "--json":
        assert cli.main([*argv, flag, str(inputs / "ckpt" / "teacher.pt")]) == 2
        assert "is the input" in capsys.readouterr().err
    assert (snapshot(tmp_path), snapshot(inputs)) == before


def test_an_unwritable_place_is_one_line(tmp_path, capsys):
    # A real failure of the file system (not the guard's access check): /proc takes no folders.
    code = cli.main(["data", "synth", "--records", "1", "--seconds", "10", "--out", "/proc/afkd-out"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("afkd data: error: "), err
    assert not Path("/proc/afkd-out").exists()


@pytest.mark.parametrize("command", ["train", "distill"])
def test_a_run_that_fails_in_its_first_epoch_leaves_no_folder(command, inputs, tmp_path, capsys, monkeypatch):
    import torch

    from afkd.training.tasks import separation  # the f-wave task's loss (the trainer runs every task)

    monkeypatch.setattr(separation, "task_loss", lambda *a, **k: torch.tensor(float("nan"), requires_grad=True))
    argv, _, _ = COMMANDS[command]
    code = cli.main([*argv(inputs), "--out", str(tmp_path / "runs" / "r")])
    assert code == 2 and "loss became nan" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
