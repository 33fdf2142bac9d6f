"""The exported firmware project is built where it stays, so a user can rebuild it in place.

(It used to be built in the temporary folder that was then renamed: build/CMakeCache.txt
pointed at a folder that no longer existed.) A re-export that fails to build puts the
previous project back.
"""

import subprocess

import pytest

from afkd import cli
from afkd.errors import AfkdError
from afkd.export import firmware_project
from afkd.training.checkpoint import save_checkpoint
from conftest import require_tool
from tiny_tflite import tiny_model

EXPORT = ["--target", "host", "--quant", "int8", "--seconds", "2", "--calibration-segments", "4",
          "--validation-segments", "2"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    require_tool("cmake")
    root = tmp_path_factory.mktemp("inplace")
    save_checkpoint(root / "tiny.pt", tiny_model())
    assert cli.main(["export", "--checkpoint", str(root / "tiny.pt"), *EXPORT, "--out", str(root / "fw")]) == 0
    return root


def _cache_home(project):
    for line in (project / "build" / "CMakeCache.txt").read_text().splitlines():
        if line.startswith("CMAKE_HOME_DIRECTORY:"):
            return line.split("=", 1)[1]
    raise AssertionError("no CMAKE_HOME_DIRECTORY in the cache")


@pytest.mark.slow
def test_the_written_project_rebuilds_in_place(exported):
    project = exported / "fw"
    assert _cache_home(project) == str(project.resolve())
    model_c = next((project / "model").glob("*_model.c"))
    model_c.write_text(model_c.read_text() + "\n/* touched */\n")
    result = subprocess.run(["cmake", "--build", str(project / "build")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (project / "build" / "firmware").is_file()
    assert not [p.name for p in exported.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


@pytest.mark.slow
def test_a_failed_rebuild_puts_the_previous_project_back(exported, monkeypatch, capsys):
    project = exported / "fw"
    before = sorted(str(p.relative_to(project)) for p in project.rglob("*"))
    manifest = (project / "export.json").read_bytes()

    def broken(path, board):
        raise AfkdError(f"{path.name}: build failed (simulated)")

    monkeypatch.setattr(firmware_project, "build_project", broken)
    assert cli.main(["export", "--checkpoint", str(exported / "tiny.pt"), *EXPORT, "--out", str(project)]) == 2
    assert "build failed (simulated)" in capsys.readouterr().err
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == before
    assert (project / "export.json").read_bytes() == manifest
    assert not [p.name for p in exported.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


@pytest.mark.slow
def test_validate_names_a_firmware_built_from_another_model(exported, tmp_path, capsys):
    """The ELF of another model in this build: the model hash says so, before any comparison."""
    import shutil

    from afkd.training.data.synth import synth_dataset

    save_checkpoint(tmp_path / "other.pt", tiny_model(seed=5))
    other = tmp_path / "other"
    assert cli.main(["export", "--checkpoint", str(tmp_path / "other.pt"), *EXPORT, "--out", str(other)]) == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(exported / "fw", mixed, symlinks=True)
    shutil.copy(other / "build" / "firmware", mixed / "build" / "firmware")
    synth_dataset(tmp_path / "ds", 2, 2.0, 250.0)
    capsys.readouterr()
    code = cli.main(["validate", "--build", str(mixed), "--runner", "host", "--data", str(tmp_path / "ds")])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("afkd")]
    assert code == 2 and len(err) == 1 and "it was built from another model" in err[0], err
