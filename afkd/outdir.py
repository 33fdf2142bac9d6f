"""Which folders a command may write: the one guard every ``--out`` goes through.

A command that writes a folder replaces it whole (:func:`afkd.atomic.atomic_dir`) or fills
it (a training run), so a wrong ``--out`` would destroy what is there. Before anything is
read or written, :func:`check_out_dir` refuses an ``--out`` that

* is a file, or lies below a file;
* is the current folder or holds it (replacing it would pull the floor from under the shell);
* is, holds or lies inside one of the command's inputs;
* holds anything this command did not write itself.

"Did write itself" is read from the folder's manifest: an earlier output of the same kind
(``dataset.json``, ``export.json``, a run's ``log.json``, ...) whose every entry is one
that kind writes may be replaced, so re-running a command over its own output works.
``--force`` replaces anything else (never an input or the current folder).
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from afkd.errors import AfkdError


@dataclass(frozen=True)
class OutputKind:
    """What one command writes into its folder, and how to recognise an earlier one."""

    what: str  # named in messages: "dataset", "training run", ...
    manifest: str  # the file that marks an earlier output of this kind
    entries: tuple[str, ...]  # fnmatch patterns of every top-level name this kind writes
    recognise: Callable[[dict], bool]  # the parsed manifest is one of ours


def _format_is(name: str) -> Callable[[dict], bool]:
    return lambda manifest: manifest.get("format") == name


DATASET = OutputKind("dataset", "dataset.json",
                     ("dataset.json", "ecg.npy", "aa.npy", "va.npy", "beat_*.npy", "info.png"), _format_is("afkd-dataset"))
SYNTH_WFDB = OutputKind("set of synthetic WFDB records", "synth.json",
                        ("synth.json", "synth_*.hea", "synth_*.dat", "synth_*.json"), _format_is("afkd-synth-wfdb"))
# A run folder is filled epoch by epoch through atomic writes; ".NAME.tmp-*" are the
# temporaries of a write that a kill interrupted.
RUN = OutputKind("training run", "log.json",
                 ("best.pt", "last.pt", "last.opt.pt", "log.json", "log.csv", "loss.png", ".*.tmp-*"),
                 lambda m: isinstance(m.get("run"), dict) and isinstance(m.get("epochs"), list))
EXPORT = OutputKind("export", "export.json",
                    ("export.json", "model.onnx", "model_*.tflite", "CMakeLists.txt", "model", "afkd", "renode",
                     "build"), _format_is("afkd-export"))
DEMO = OutputKind("demo", "demo.json",
                  ("demo.json", "data", "teacher", "student", "eval.json", "firmware", "report.json", "report.md",
                   "report.html"), _format_is("afkd-demo"))


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _read_manifest(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stranger(folder: Path, kind: OutputKind) -> str | None:
    """The first entry of ``folder`` that an earlier output of ``kind`` would not hold, or None."""
    names = sorted(os.listdir(folder))
    if not names:
        return None
    manifest = _read_manifest(folder / kind.manifest) if kind.manifest in names else None
    if manifest is None or not kind.recognise(manifest):
        return names[0]
    return next((n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in kind.entries)), None)


def check_out_dir(out: str | os.PathLike, kind: OutputKind, inputs: Iterable[str | os.PathLike | None] = (),
                  force: bool = False, flag: str = "--out") -> Path:
    """Refuse (AfkdError, nothing touched) a folder this command must not write; returns its real path.

    ``inputs`` are the paths the command reads (None entries are skipped).
    """
    if not str(out).strip():
        raise AfkdError(f"{flag}: an empty path; name a folder")
    where = f"{flag} {out}"
    real = _real(out)
    for ancestor in (real, *real.parents):
        if ancestor.exists() or ancestor.is_symlink():
            break
    if not ancestor.is_dir():
        what = "is a file, not a folder" if ancestor == real else f"lies below the file {ancestor}"
        raise AfkdError(f"{where}: {what}")
    if _within(_real(os.getcwd()), real):
        raise AfkdError(f"{where}: is the current folder or holds it; name a new folder")
    for given in inputs:
        if given is None or not str(given):
            continue
        source = _real(given)
        if source == real:
            raise AfkdError(f"{where}: is the input {given}; name another folder")
        if _within(source, real):
            raise AfkdError(f"{where}: holds the input {given}; name another folder")
        if _within(real, source):
            raise AfkdError(f"{where}: lies inside the input {given}; name a folder outside it")
    stranger = None if force or ancestor != real else _stranger(real, kind)
    if stranger is not None:
        raise AfkdError(f"{where}: holds {stranger!r}, which is not part of an earlier afkd {kind.what} "
                        f"(no {kind.manifest} of one); name a new or empty folder, or add --force to replace it")
    _check_writable(where, ancestor)
    if ancestor == real:  # replaced by a rename in its parent
        _check_writable(where, real.parent)
    return real


def _check_writable(where: str, folder: Path) -> None:
    """The folder the output is created in (or renamed in) must take new entries."""
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only or not os.access(folder, os.W_OK | os.X_OK):
        raise AfkdError(f"{where}: cannot write in {folder} (permission denied or a read-only file system)")


def check_out_file(out: str | os.PathLike | None, inputs: Iterable[str | os.PathLike | None] = (),
                   flag: str = "--out") -> None:
    """Refuse a report or plot path that is a folder, lies below a file or is one of the inputs."""
    if out is None:
        return
    if not str(out).strip():
        raise AfkdError(f"{flag}: an empty path; name a file")
    where = f"{flag} {out}"
    real = _real(out)
    if real.is_dir():
        raise AfkdError(f"{where}: is a folder, not a file")
    for ancestor in real.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise AfkdError(f"{where}: lies below the file {ancestor}")
            break
    for given in inputs:
        if given is not None and str(given) and _real(given) == real:
            raise AfkdError(f"{where}: is the input {given}; name another file")
    _check_writable(where, ancestor)
