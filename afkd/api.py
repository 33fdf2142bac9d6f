"""afkd's Python API: the command line's steps as functions, for notebooks and scripts.

    import afkd

    model = afkd.load_model("models/student_fitnet.pt")
    data = afkd.synthesize("build/api/data", records=2, seconds=10)
    ecg = data.segment(0)["ecg"]
    aa, va = afkd.predict(model, ecg)                     # f-waves and QRST, mV, aligned with ecg
    results = afkd.evaluate(["models/student_fitnet.pt", "abs"], "build/api/data")
    manifest = afkd.export_model("models/student_fitnet.pt", "build/api/onnx", target="onnx")

Each function runs the same code as its command (``afkd data synth``, ``afkd eval``, ``afkd
export``, ``afkd validate``) and takes that command's defaults; options are the command's long
options as keyword arguments (``--weight-storage`` -> ``weight_storage``). Bad input raises
:class:`afkd.errors.AfkdError` with the one line the command would print.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from afkd.errors import AfkdError

__all__ = ["load_model", "predict", "synthesize", "load_dataset", "evaluate", "export_model", "validate"]


def load_model(checkpoint: str | os.PathLike):
    """The DT-FENet of an afkd checkpoint (``.pt``), in eval mode on the CPU."""
    from afkd.training.checkpoint import load_checkpoint

    model, _meta = load_checkpoint(checkpoint)
    return model


def predict(model, ecg: np.ndarray | Sequence[np.ndarray], device: str = "cpu"):
    """Separate ``ecg`` (mV, 1-D, at the model's rate, ``model.cfg.fs``) into ``(aa, va)``,
    float32 arrays as long as ``ecg`` and aligned with it (the model's lookahead undone). A
    list of ECGs gives a list of pairs."""
    import torch

    from afkd.compute import resolve_device
    from afkd.training.evaluate import predict as predict_batch

    single = isinstance(ecg, np.ndarray) and ecg.ndim == 1
    signals = [ecg] if single else list(ecg)
    for i, x in enumerate(signals):
        x = np.asarray(x)
        if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
            raise AfkdError(f"ecg {i}: expected a non-empty 1-D array of finite mV values, got shape {x.shape}")
    place = resolve_device(device)
    model = model.to(place).eval()
    with torch.no_grad():
        pairs = predict_batch(model, [np.asarray(x, dtype=np.float32) for x in signals], place)
    return pairs[0] if single else pairs


def synthesize(out: str | os.PathLike, records: int = 10, seconds: float = 30.0, fs: float = 250.0,
               seed: int = 0):
    """Write ``records`` synthetic AF ECGs with ground truth (ecg = aa + va + noise) as a
    dataset directory (``afkd data synth --dataset``); returns it as a dataset."""
    from afkd.training.data.synth import synth_dataset

    if records < 1 or seconds <= 0:
        raise AfkdError(f"synthesize: records {records} and seconds {seconds:g} must be positive")
    return load_dataset(synth_dataset(out, records, seconds, fs, seed=seed))


def load_dataset(path: str | os.PathLike):
    """A dataset directory (``afkd data synth`` or ``import``): ``len()``, ``.fs`` and
    ``.segment(i)`` -> dict with ``ecg`` (and ``aa``, ``va`` where known) in mV."""
    from afkd.training.data.dataset import Dataset

    return Dataset(path)


def evaluate(models_or_methods: Sequence[str | os.PathLike], data: str | os.PathLike,
             segments: int | None = None) -> dict[str, dict]:
    """``afkd eval``: {checkpoint path or "abs": SNR/NMSE (with ground truth) and SC}."""
    from afkd.training.evaluate import evaluate as evaluate_all

    return evaluate_all([str(m) for m in models_or_methods], data, segments=segments)


def _command_args(module, required: dict[str, Any], options: dict[str, Any], command: str) -> argparse.Namespace:
    """The namespace the command's own parser gives for ``required`` + ``options`` (its defaults
    for the rest); an unknown option is an AfkdError naming it."""
    parser = argparse.ArgumentParser(prog=f"afkd {command}")
    module.add_arguments(parser)
    argv: list[str] = []
    for name, value in {**required, **options}.items():
        flag = "--" + name.replace("_", "-")
        action = next((a for a in parser._actions if flag in a.option_strings), None)
        if action is None:
            raise AfkdError(f"afkd.{command}: no option {name!r} (`afkd {command} --help` lists them)")
        if action.nargs == 0:  # a switch
            argv += [flag] if value else []
        elif value is not None:
            argv += [flag, str(value)]
    try:
        return parser.parse_args(argv)
    except SystemExit:
        raise AfkdError(f"afkd.{command}: bad options {options!r}") from None


def export_model(checkpoint: str | os.PathLike, out: str | os.PathLike, target: str = "tflite", **options) -> dict:
    """``afkd export``: write ``target`` (onnx, tflite, stm32, host, qemu, renode) into ``out``
    (named export_model because ``afkd.export`` is the export stage's package);
    returns the manifest it wrote (``out/export.json``). ``options``: ``quant``, ``headroom``,
    ``weight_storage``, ``no_build``, ... as ``afkd export --help`` lists them."""
    from afkd.export import cli as export_cli

    args = _command_args(export_cli, {"checkpoint": checkpoint, "target": target, "out": out}, options, "export")
    return export_cli.TARGETS[args.target](args)


def validate(build: str | os.PathLike, data: str | os.PathLike, runner: str = "host", **options) -> dict:
    """``afkd validate``: run the firmware in ``build`` on the segments of ``data``, compare it
    with TFLM and PyTorch; returns the report (``report["checks"]["passed"]``). ``options``:
    ``segments``, ``thresholds`` (a JSON file), ``json_path``/``md_path``/``html_path``, ..."""
    from afkd.host_tools import cli_validate, report

    args = _command_args(cli_validate, {"build": build, "data": data, "runner": runner},
                         {("json" if k == "json_path" else "md" if k == "md_path" else "html" if k == "html_path"
                           else k): v for k, v in options.items()}, "validate")
    result, traces = cli_validate.validate(args)
    for path, write in ((args.json_path, report.write_json), (args.md_path, report.write_markdown)):
        if path:
            write(path, result)
    if args.html_path:
        report.write_html(args.html_path, result, traces)
    return result

