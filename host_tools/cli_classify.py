"""``afkd classify``: one rhythm answer per record of a WFDB folder, as the challenge's CSV.

``--model`` is dispatched on what it is (:data:`MODEL_KINDS`): a PyTorch checkpoint today;
a ``.tflite`` file and a firmware build directory are the deployment's kinds, added beside
it (each a function ``(path, records, fs_out) -> labels``). It lives in host_tools, the
last stage, because those kinds need export/ and the firmware runners.

Every record is read and preprocessed exactly as ``afkd data import --kind records`` does
(resampled to the model rate, 0.01 Hz causal high-pass), then classified whole: the answer
is the argmax of the mean frame logits over its complete frames.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path
from typing import Callable

from afkd.argtypes import positive_int
from afkd.atomic import atomic_write_text
from afkd.errors import AfkdError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Writes CSV rows 'record,label' (no header), one per record of --data in name order: "
                     "the CinC 2017 answers format. A record that cannot be read stops the command "
                     "(one line naming it) and nothing is written.")
    parser.add_argument("--model", required=True, metavar="CKPT",
                        help="a rhythm classifier checkpoint (afkd train --task rhythm)")
    parser.add_argument("--data", required=True, metavar="DIR", help="a folder of WFDB records (.hea), or one record")
    parser.add_argument("--csv", required=True, metavar="FILE", help="answers file to write")
    parser.add_argument("--lead", default=None, help="lead name or index (default: the first lead)")
    parser.add_argument("--threads", type=positive_int, help="torch CPU threads (default: torch's choice)")


def classify_with_checkpoint(path: Path, records: list[Path], lead: str | None) -> list[str]:
    """Labels of ``records`` from a PyTorch rhythm checkpoint."""
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.classify import record_logits
    from afkd.training.families import family_of

    model, _ = load_checkpoint(path)
    family = family_of(model)
    if family.task != "rhythm":
        raise AfkdError(f"{path}: a {family.name} ({family.summary}) does not answer per record; "
                        "classify takes rhythm models (evaluate beat models with afkd eval)")
    ecgs = [read_preprocessed(base, model.cfg.fs, lead) for base in records]
    classes = model.cfg.classes
    return [classes[k] for k in record_logits(model.eval(), ecgs).argmax(axis=1)]


# What --model can be: (test, runner). The first whose test accepts the path runs.
MODEL_KINDS: list[tuple[str, Callable[[Path], bool], Callable[[Path, list[Path], str | None], list[str]]]] = [
    ("checkpoint", lambda p: p.is_file() and p.suffix == ".pt", classify_with_checkpoint),
]


def read_preprocessed(base: Path, fs: float, lead: str | None):
    """One record as the import pipeline makes it (float32 mV at ``fs``)."""
    from afkd.training.data.importer import ImportOptions, import_record

    options = ImportOptions(fs=fs, lead=lead, kind="records", min_seconds=1.0)
    return import_record(base, options, reference={})[0]["ecg"].astype("float32")


def run(args: argparse.Namespace) -> int:
    from afkd.outdir import check_out_file
    from afkd.training.data.importer import expand_sources

    check_out_file(args.csv, inputs=(args.data, args.model), flag="--csv")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = Path(args.model)
    if not model.exists():
        raise AfkdError(f"{model}: no such model")
    runner = next((r for _, test, r in MODEL_KINDS if test(model)), None)
    if runner is None:
        kinds = ", ".join(name for name, _, _ in MODEL_KINDS)
        raise AfkdError(f"{model}: not a model this afkd classifies with (kinds: {kinds})")
    records = [base for base, _ in expand_sources([args.data])]
    labels = runner(model, records, args.lead)
    out = io.StringIO()
    for base, label in zip(records, labels):
        out.write(f"{base.name},{label}\n")
    atomic_write_text(args.csv, out.getvalue())
    counts = {c: labels.count(c) for c in dict.fromkeys(labels)}
    print(f"classified {len(records)} records into {args.csv}: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    return 0
