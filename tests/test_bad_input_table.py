"""Bad input of every kind, one table: exit 2, one line naming the thing and the problem, nothing touched.

Each case builds its bad input in a fresh folder, runs the command in-process and checks the
exit code, that stderr is one line holding the expected words, and that neither the case's
folder nor the shared inputs changed (names, sizes, modification times). The --out cases
(every command x every bad output folder) are the table of test_out_guard.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb

from afkd import cli
from afkd.training.checkpoint import FORMAT, VERSION, save_checkpoint
from afkd.training.data.synth import synth_dataset, synthesize_record, write_synth_wfdb
from afkd.training.model import DTFENet, DTFENetConfig
from fs_snapshot import snapshot

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2)
CASES: dict[str, object] = {}


def case(name):
    def register(setup):
        CASES[name] = setup
        return setup
    return register


@pytest.fixture(scope="module")
def inp(tmp_path_factory):
    root = tmp_path_factory.mktemp("table_inputs")
    write_synth_wfdb(root / "records", 1, seconds=10.0)
    synth_dataset(root / "dataset", 2, 10.0, 250.0)
    save_checkpoint(root / "good.pt", DTFENet(TINY))
    return root


def ecg_record(folder: Path, name: str, x_mv=None, gain=1000, fs=250):
    x = synthesize_record(0, 20.0, fs, seed=8)["ecg"].astype(np.float64) if x_mv is None else x_mv
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["ECG"], d_signal=np.round(x * 1000).astype(int)[:, None],
                fmt=["16"], adc_gain=[1000], baseline=[0], write_dir=str(folder))
    if gain != 1000:
        hea = folder / f"{name}.hea"
        hea.write_text(hea.read_text().replace("1000/mV", f"{gain}/mV").replace("1000(0)/mV", f"{gain}(0)/mV"))
    return folder / name


def checkpoint(tmp: Path, inp: Path, config=None, meta=None, poison=None) -> Path:
    """good.pt with its config, meta or one weight replaced."""
    payload = torch.load(inp / "good.pt", weights_only=True)
    if config is not None:
        payload["config"] = {**payload["config"], **config}
    if meta is not None:
        payload["meta"] = meta
    if poison is not None:
        name = next(iter(payload["state_dict"]))
        payload["state_dict"][name].view(-1)[0] = poison
    path = tmp / "bad.pt"
    torch.save(payload, path)
    return path


def dataset_copy(tmp: Path, inp: Path) -> Path:
    shutil.copytree(inp / "dataset", tmp / "ds")
    return tmp / "ds"


def export(ckpt, tmp, target="onnx"):
    return ["export", "--checkpoint", str(ckpt), "--target", target, "--seconds", "2", "--out", str(tmp / "out")]


def train(data, tmp, *extra):
    return ["train", "--config", json.dumps(TINY.to_dict()), "--data", str(data), "--epochs", "1",
            "--steps-per-epoch", "1", "--threads", "1", "--no-progress", "--out", str(tmp / "run"), *extra]


def evaluate(ckpt, data, *extra):
    return ["eval", "--model", str(ckpt), "--data", str(data), "--threads", "1", *extra]


# --- already handled before issue 18 ------------------------------------------------------------

@case("import: malformed header")
def _(tmp, inp):
    rec = ecg_record(tmp, "bad")
    (tmp / "bad.hea").write_text("this is not a header\n")
    return ["data", "import", str(rec), "--out", str(tmp / "out")], "malformed header"


@case("import: NaN samples")
def _(tmp, inp):
    x = synthesize_record(0, 20.0, 250, seed=8)["ecg"].astype(np.float64)
    wfdb.wrsamp("gap", fs=250, units=["mV"], sig_name=["ECG"], fmt=["16"], adc_gain=[1000], baseline=[0],
                d_signal=np.where(np.arange(x.size)[:, None] == 99, -32768, np.round(x * 1000)[:, None]).astype(int),
                write_dir=str(tmp))
    return ["data", "import", str(tmp / "gap"), "--out", str(tmp / "out")], "NaN"


@case("export: corrupt checkpoint")
def _(tmp, inp):
    (tmp / "x.pt").write_bytes(b"not a checkpoint at all")
    return export(tmp / "x.pt", tmp), "not a readable afkd checkpoint"


@case("validate: the firmware is not an ELF")
def _(tmp, inp):
    build = fake_build(tmp)
    (build / "build" / "firmware").write_bytes(b"#!/bin/sh\n")
    return validate(build, inp), "not an ELF file"


@case("validate: corrupt .tflite")
def _(tmp, inp):
    build = fake_build(tmp)
    return validate(build, inp), "m.tflite"


def fake_build(tmp: Path) -> Path:
    """An export folder whose export.json validate accepts, with a host 'firmware' and a garbage model."""
    build = tmp / "fw"
    (build / "build").mkdir(parents=True)
    shutil.copy("/bin/true", build / "build" / "firmware")  # an x86-64 ELF: the host board's machine
    (build / "m.tflite").write_bytes(b"garbage, not a flatbuffer")
    manifest = {"fs": 250, "hop": 10, "latency_samples": 10, "input": {"shape": [1, 1, 500]},
                "quantization": {"input": {"dtype": "int16", "scale": 0.001, "zero_point": 0},
                                 "outputs": {k: {"scale": 0.001, "zero_point": 0, "subgraph_output_position": i}
                                             for i, k in enumerate(("aa", "va"))}},
                "firmware": {"board": "host", "tflite": "m.tflite", "prefix": "dtfe", "mode": "int16x8",
                             "macs_per_hop": 1, "firmware": "build/firmware"}}
    (build / "export.json").write_text(json.dumps(manifest))
    return build


def validate(build, inp, *extra, runner="host"):
    return ["validate", "--build", str(build), "--runner", runner, "--data", str(inp / "dataset"), *extra]


# --- wrong answers with exit 0 -------------------------------------------------------------------

@case("export: a NaN weight")
def _(tmp, inp):
    return export(checkpoint(tmp, inp, poison=float("nan")), tmp), "holds 1 NaN/infinite value"


@case("eval: an infinite weight")
def _(tmp, inp):
    return evaluate(checkpoint(tmp, inp, poison=float("inf")), inp / "dataset"), "holds 1 NaN/infinite value"


def nan_dataset(tmp, inp):
    ds = dataset_copy(tmp, inp)
    ecg = np.load(ds / "ecg.npy")
    ecg[2600] = np.nan  # segment 2 (each is 2500 samples), its sample 100
    np.save(ds / "ecg.npy", ecg)
    return ds


@case("eval: NaN in the dataset")
def _(tmp, inp):
    return evaluate(inp / "good.pt", nan_dataset(tmp, inp)), "1 NaN/infinite samples (first in segment"


@case("train: NaN in the dataset")
def _(tmp, inp):
    return train(nan_dataset(tmp, inp), tmp), "sample 100)"


@case("import: gain 0")
def _(tmp, inp):
    return ["data", "import", str(ecg_record(tmp, "g0", gain=0)), "--out", str(tmp / "o")], "gives gain 0"


@case("validate: --runner bogus")
def _(tmp, inp):
    return validate(tmp / "missing", inp, runner="bogus"), "--runner 'bogus': not a runner"


# --- tracebacks and hangs ------------------------------------------------------------------------

for _name, _config, _words in (
        ("blocks 1000000", {"blocks": 1000000}, "blocks must be in [1, 16]"),
        ("bottleneck 1e7", {"bottleneck": 1e7}, "bottleneck must be an integer"),
        ("lookahead 1e9", {"lookahead": 1e9}, "lookahead must be an integer"),
        ("blocks '5'", {"blocks": "5"}, "blocks must be an integer"),
        ("causal 1", {"causal": 1}, "causal must be true or false"),
        ("too big to build", {"hidden": 4096, "bottleneck": 4096, "blocks": 16}, "M parameters"),
        ("an unknown field", {"depth": 3}, "unknown config fields")):
    for _command in ("export", "eval"):
        def _setup(tmp, inp, config=_config, words=_words, command=_command):
            ckpt = checkpoint(tmp, inp, config=config)
            return (export(ckpt, tmp) if command == "export" else evaluate(ckpt, inp / "dataset")), words
        CASES[f"{_command}: checkpoint config {_name}"] = _setup


@case("export: checkpoint meta is a list")
def _(tmp, inp):
    return export(checkpoint(tmp, inp, meta=[1, 2]), tmp), "meta is a list"


@case("train: --config field of the wrong type")
def _(tmp, inp):
    argv = train(inp / "dataset", tmp)
    argv[argv.index("--config") + 1] = json.dumps({**TINY.to_dict(), "hidden": 5.5})
    return argv, "hidden must be an integer"


@case("train: --config that is a list")
def _(tmp, inp):
    argv = train(inp / "dataset", tmp)
    argv[argv.index("--config") + 1] = "[1, 2]"
    return argv, "model config"


@case("import: REFERENCE.csv not UTF-8")
def _(tmp, inp):
    src = tmp / "src"
    src.mkdir()
    ecg_record(src, "A00001")
    (src / "REFERENCE.csv").write_bytes(b"A00001,\xff\xfeN\n")
    return ["data", "import", str(src), "--out", str(tmp / "o")], "not UTF-8"


for _flag, _value, _words in (("--fs", "nan", "not a finite number"), ("--fs", "inf", "not a finite number"),
                              ("--min-seconds", "nan", "not a finite number"),
                              ("--segment-seconds", "1e-9", "at least 1 s"), ("--fs", "1e6", "[100, 20000]"),
                              ("--overlap", "-1", "must be 0 or more")):
    def _setup(tmp, inp, flag=_flag, value=_value, words=_words):
        return ["data", "import", str(inp / "records"), "--out", str(tmp / "o"), flag, value], words
    CASES[f"import: {_flag} {_value}"] = _setup

for _flag, _value, _words in (("--seconds", "nan", "not a finite number"), ("--seconds", "1e9", "at most a day"),
                              ("--records", "0", "must be at least 1"), ("--seed", "-1", "must be 0 or more"),
                              ("--records", "x", "not an integer")):
    def _setup(tmp, inp, flag=_flag, value=_value, words=_words):
        return ["data", "synth", "--out", str(tmp / "o"), flag, value], words
    CASES[f"synth: {_flag} {_value}"] = _setup


for _name, _edit, _words in (
        ("not JSON", lambda m: "{not json", "unreadable manifest"),
        ("a list", lambda m: "[]", "not an afkd-dataset version 1 manifest"),
        ("segments not a list", lambda m: {**m, "segments": {}}, "segments must be a list"),
        ("a segment length that is text", lambda m: {**m, "segments": [{**m["segments"][0], "length": "x"}]},
         "length 'x' is not an integer"),
        ("fs NaN", lambda m: {**m, "fs": float("nan")}, "fs nan is not a positive rate"),
        ("no signals", lambda m: {k: v for k, v in m.items() if k != "signals"}, "signals None"),
        ("a segment past the arrays", lambda m: {**m, "segments": [m["segments"][0], {**m["segments"][1], "offset": 10**9}]},
         "ends at sample")):
    for _command in ("eval", "info"):
        def _setup(tmp, inp, edit=_edit, words=_words, command=_command):
            ds = dataset_copy(tmp, inp)
            manifest = json.loads((ds / "dataset.json").read_text())
            new = edit(manifest)
            (ds / "dataset.json").write_text(new if isinstance(new, str) else json.dumps(new))
            argv = evaluate(inp / "good.pt", ds) if command == "eval" else ["data", "info", str(ds), "--png",
                                                                             str(tmp / "h.png")]
            return argv, words
        CASES[f"{_command}: dataset.json {_name}"] = _setup


@case("validate: export.json without fs")
def _(tmp, inp):
    build = fake_build(tmp)
    manifest = json.loads((build / "export.json").read_text())
    del manifest["fs"]
    (build / "export.json").write_text(json.dumps(manifest))
    return validate(build, inp), "export.json: no fs"


@case("validate: export.json input shape of text")
def _(tmp, inp):
    build = fake_build(tmp)
    manifest = json.loads((build / "export.json").read_text())
    manifest["input"]["shape"] = "1x1x500"
    (build / "export.json").write_text(json.dumps(manifest))
    return validate(build, inp), "input.shape is '1x1x500', not a list"


for _argv, _words in (
        (lambda tmp, inp: validate(tmp / "b", inp, "--segments", "-3"), "argument --segments: -3 must be 0 or more"),
        (lambda tmp, inp: evaluate(inp / "good.pt", inp / "dataset", "--segments", "-3"), "-3 must be at least 1"),
        (lambda tmp, inp: evaluate(inp / "good.pt", inp / "dataset", "--batch-size", "0"), "0 must be at least 1"),
        (lambda tmp, inp: train(inp / "dataset", tmp, "--batch-size", "0"), "argument --batch-size: 0 must be"),
        (lambda tmp, inp: train(inp / "dataset", tmp, "--lr", "nan"), "argument --lr: 'nan' is not a finite"),
        (lambda tmp, inp: train(inp / "dataset", tmp, "--epochs", "-1"), "argument --epochs"),
        (lambda tmp, inp: export(inp / "good.pt", tmp) + ["--calibration-segments", "0"], "--calibration-segments"),
        (lambda tmp, inp: export(inp / "good.pt", tmp) + ["--headroom", "inf"], "--headroom: 'inf'"),
        (lambda tmp, inp: ["demo", "--out", str(tmp / "d"), "--records", "-2"], "argument --records"),
        (lambda tmp, inp: ["demo", "--out", str(tmp / "d"), "--runner", "bogus"], "not a runner")):
    CASES[f"counts: {' '.join(_argv(Path('T'), Path('I'))[-2:])} ({_argv(Path('T'), Path('I'))[0]})"] = \
        lambda tmp, inp, a=_argv, w=_words: (a(tmp, inp), w)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, inp, tmp_path, capsys):
    argv, words = CASES[name](tmp_path, inp)
    before = snapshot(tmp_path), snapshot(inp)
    capsys.readouterr()
    code = cli.main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(err) == 1, err
    assert err[0].startswith("afkd ") and ": error: " in err[0], err[0]
    assert words in err[0], err[0]
    assert (snapshot(tmp_path), snapshot(inp)) == before
