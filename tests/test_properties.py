"""Property-based runs (Hypothesis): whatever the arguments or the file contents, no traceback.

* the command line: any mix of a command's flags with odd values (NaN, inf, negative, huge,
  empty, non-ASCII, paths that are files, folders, missing or the current folder) ends in an
  exit code, and exit 2 comes with one line. The long-running stages (training, quantizing,
  running firmware, synthesizing) are replaced by a marker: reaching one means the arguments
  passed every check, which is a fine outcome too;
* ``dataset.json``: any JSON in any field opens or is refused with AfkdError;
* checkpoint configs: any value in any field builds or is refused with AfkdError, before a
  model is built.

AFKD_PROPERTY_EXAMPLES scales the number of examples (default 1: about 60 s of one core in all).
"""

from __future__ import annotations

import io
import json
import os
import contextlib
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afkd import cli
from afkd.errors import AfkdError
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.data.dataset import Dataset
from afkd.training.data.synth import synth_dataset, write_synth_wfdb
from afkd.training.model import DTFENet, DTFENetConfig
from afkd.training.runs import resolve_config

SCALE = float(os.environ.get("AFKD_PROPERTY_EXAMPLES", "1"))
TINY = DTFENetConfig(enc_channels=4, bottleneck=4, hidden=4, blocks=1)


CLI_EXAMPLES, DATASET_EXAMPLES, CONFIG_EXAMPLES = 1000, 2000, 1200


class Reached(Exception):
    """A stubbed long stage was called: the arguments passed every check."""


def _reached(*args, **kwargs):
    raise Reached()


def _settings(examples: int):
    """Examples, not seconds: Hypothesis stops at a count (scaled by AFKD_PROPERTY_EXAMPLES)."""
    return settings(max_examples=max(10, int(examples * SCALE)), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """Inputs the random arguments may name: good and broken files of every kind."""
    root = tmp_path_factory.mktemp("props")
    write_synth_wfdb(root / "records", 1, seconds=10.0)
    synth_dataset(root / "dataset", 2, 10.0, 250.0)
    save_checkpoint(root / "good.pt", DTFENet(TINY))
    (root / "bad.pt").write_bytes(b"\x80\x02garbage")
    (root / "file.txt").write_text("a file\n")
    (root / "thresholds.json").write_text('{"bit_exact": true}')
    (root / "REFERENCE.csv").write_bytes(b"\xff\xfe")
    (root / "work").mkdir()
    return root


PATHS = ["", ".", "..", "x", "sub/x", "dataset", "records", "records/synth_00000", "good.pt", "bad.pt",
         "file.txt", "file.txt/x", "thresholds.json", "dataset/ecg.npy", "/proc/afkd-nowhere", "ré", "a" * 300,
         "nonexistent/deep/x", "work", "work/out"]
NUMBERS = ["0", "-1", "1", "2", "3", "nan", "inf", "-inf", "1e9", "1e-9", "1.5", "x", "", "250", "1e999", "-0"]
# flag -> kind of value (path, number or free text); flags of every command mixed on purpose
FLAGS = {
    "--out": "path", "--data": "path", "--val": "path", "--teacher": "path", "--checkpoint": "path",
    "--calibration": "path", "--build": "path", "--json": "path", "--md": "path", "--html": "path",
    "--png": "path", "--thresholds": "path", "--model": "path", "--resume": "path", "--config": "text",
    "--records": "number", "--seconds": "number", "--fs": "number", "--seed": "number", "--segments": "number",
    "--segment-seconds": "number", "--overlap": "number", "--min-seconds": "number", "--epochs": "number",
    "--batch-size": "number", "--steps-per-epoch": "number", "--crop-seconds": "number", "--lr": "number",
    "--blocks": "number", "--hidden": "number", "--lookahead": "number", "--enc-kernel": "number",
    "--calibration-segments": "number", "--validation-segments": "number", "--headroom": "number",
    "--timeout": "number", "--val-fraction": "number", "--threads": "number", "--f0": "number",
    "--target": "text", "--quant": "text", "--runner": "text", "--method": "text", "--lead": "text",
    "--episodes": "text", "--prefix": "text", "--preset": "text",
    "--force": None, "--dataset": None, "--strict": None, "--no-build": None, "--dynamic": None,
}
COMMANDS = [["data", "synth"], ["data", "import"], ["data", "info"], ["data"], ["train"], ["distill"], ["eval"],
            ["export"], ["validate"], ["demo"], ["bogus"]]
TEXTS = ["onnx", "tflite", "stm32", "host", "qemu", "bogus", "int8", "int16x8", "serial:", "serial:/dev/null",
         "all", "af", "MLII", "0", "dtfe", "1bad", "teacher", "student", "fitnet", "{}", '{"blocks": 1000000}',
         '{"hidden": 5.5}', "[1]", "null", '{"depth": 1}']


# A command line that works, to which the random flags are added: the checks after the parser
# (output guard, option checks, file checks) then see the odd values too.
WORKING = [["data", "synth", "--out", "work/o"], ["data", "import", "records", "--out", "work/o"],
           ["data", "info", "dataset", "--png", "work/h.png"], ["train", "--data", "dataset", "--out", "work/r"],
           ["distill", "--teacher", "good.pt", "--data", "dataset", "--out", "work/r"],
           ["eval", "--model", "good.pt", "--data", "dataset", "--threads", "1"],
           ["export", "--checkpoint", "good.pt", "--target", "onnx", "--out", "work/e"],
           ["validate", "--build", "work", "--data", "dataset"], ["demo", "--out", "work/d"]]


@st.composite
def argvs(draw):
    if draw(st.booleans()):
        argv = list(draw(st.sampled_from(WORKING)))
    else:
        argv = list(draw(st.sampled_from(COMMANDS)))
        if argv[:2] in (["data", "import"], ["data", "info"]):
            argv += draw(st.lists(st.sampled_from(PATHS), min_size=0, max_size=2))
    for flag in draw(st.lists(st.sampled_from(sorted(FLAGS)), max_size=4 if len(argv) > 2 else 8)):
        kind = FLAGS[flag]
        argv.append(flag)
        if kind == "path":
            argv.append(draw(st.sampled_from(PATHS)))
        elif kind == "number":
            argv.append(draw(st.sampled_from(NUMBERS) | st.integers(-10**12, 10**12).map(str)
                             | st.floats(allow_nan=True, allow_infinity=True).map(repr)))
        elif kind == "text":
            argv.append(draw(st.sampled_from(TEXTS) | st.text(max_size=12)))
    return argv


def _stub_long_stages(monkeypatch):
    from afkd.export import cli as export_cli
    from afkd.host_tools import cli_validate
    from afkd.training import trainer
    from afkd.training.data import synth

    monkeypatch.setattr(trainer, "fit", _reached)
    monkeypatch.setattr(synth, "synth_dataset", _reached)
    monkeypatch.setattr(synth, "write_synth_wfdb", _reached)
    monkeypatch.setattr(cli_validate, "validate", _reached)
    monkeypatch.setattr(export_cli, "TARGETS", {k: _reached for k in export_cli.TARGETS})


@pytest.mark.slow
def test_command_line_never_tracebacks(sandbox, monkeypatch):
    _stub_long_stages(monkeypatch)
    monkeypatch.chdir(sandbox)
    runs = []

    @_settings(CLI_EXAMPLES)
    @given(argvs())
    def check(argv):
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = cli.main(argv)
            except Reached:
                code = "reached"
        runs.append(code)
        if code == 2:
            lines = [line for line in err.getvalue().split("\n") if line.strip()]
            # One error line; only a build's log tail may follow it, indented. (A missing command
            # prints the help to stdout and exits 2 with no line.)
            assert len(lines) <= 1 or all(line.startswith("  ") for line in lines[1:]), (argv, lines)
            assert not lines or lines[0].startswith("afkd"), (argv, lines)
        else:
            assert code in (0, 1, "reached"), (argv, code, err.getvalue())

    check()
    assert len(runs) >= int(CLI_EXAMPLES * SCALE) // 2, f"only {len(runs)} command lines tried"
    assert 2 in runs and {0, "reached"} & set(runs), sorted(set(map(str, runs)))


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)


@pytest.mark.slow
def test_dataset_json_never_tracebacks(sandbox, tmp_path):
    manifest = json.loads((sandbox / "dataset" / "dataset.json").read_text())
    folder = tmp_path / "ds"
    folder.mkdir()
    for name in ("ecg.npy", "aa.npy", "va.npy"):
        (folder / name).write_bytes((sandbox / "dataset" / name).read_bytes())
    outcomes = []
    fields = sorted(manifest) + [f"segment.{k}" for k in manifest["segments"][0]] + ["whole"]

    @_settings(DATASET_EXAMPLES)
    @given(st.sampled_from(fields), JSON, st.integers(0, 1))
    def check(field, value, which):
        edited = json.loads(json.dumps(manifest))
        if field == "whole":
            edited = value
        elif field.startswith("segment."):
            edited["segments"][which][field.split(".", 1)[1]] = value
        else:
            edited[field] = value
        (folder / "dataset.json").write_text(json.dumps(edited))
        try:
            ds = Dataset(folder)
            for i in range(len(ds)):
                ds.segment(i)
            outcomes.append("opened")
        except AfkdError:
            outcomes.append("refused")

    check()
    assert outcomes.count("refused") > 10 and "opened" in outcomes


@pytest.mark.slow
def test_checkpoint_config_never_tracebacks(sandbox, tmp_path):
    payload = torch.load(sandbox / "good.pt", weights_only=True)
    outcomes = []
    field_names = sorted(payload["config"])
    values = JSON | st.integers(-10, 5000) | st.sampled_from([1e7, 1e9, 1000000, float("nan"), "5", True])

    @_settings(CONFIG_EXAMPLES)
    @given(st.lists(st.tuples(st.sampled_from(field_names + ["extra"]), values), min_size=1, max_size=3),
           st.sampled_from(["config", "meta", "state_dict", "json"]))
    def check(changes, where):
        config = dict(payload["config"])
        config.update(changes)
        try:
            if where == "json":
                resolve_config(json.dumps(config))
            else:
                edited = dict(payload)
                if where == "config":
                    edited["config"] = config
                else:
                    edited[where] = changes[0][1]
                path = tmp_path / "x.pt"
                torch.save(edited, path)
                load_checkpoint(path)
            outcomes.append("loaded")
        except AfkdError:
            outcomes.append("refused")

    check()
    assert outcomes.count("refused") > 10
