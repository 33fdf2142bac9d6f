"""Outputs appear whole or not at all.

Every command writes into a temporary sibling of its destination and renames it into
place at the end, so an error or a Ctrl-C never leaves a half-written dataset, model
or build behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from afkd.errors import AfkdError


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike, overwrite: bool = True,
               finish: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``dest`` on success.

    On any exception the temporary directory is removed and ``dest`` is untouched.
    ``finish(dest)``, when given, runs after the swap on the folder in its final place (a
    CMake build records absolute paths, so it must run there); if it fails, the new folder
    is removed and the previous ``dest`` put back.
    """
    # Absolute, so that "." or "a/.." has a real name and parent to rename in.
    dest = Path(os.path.abspath(dest))
    if Path.cwd() == dest or dest in Path.cwd().parents:
        raise AfkdError(f"{dest}: is the current folder or holds it; name a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if dest.exists() or dest.is_symlink():
            if not overwrite:
                raise FileExistsError(dest)
            # Move the old one aside first so that the swap is two renames, not a slow delete.
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.rename(dest, old / "x")
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _put_back(old, dest)
        raise
    if finish is not None:
        try:
            finish(dest)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            _put_back(old, dest)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _put_back(old: Path | None, dest: Path) -> None:
    """Return the previous ``dest`` from its aside folder (when a swap or a finish failed)."""
    if old is None:
        return
    if (old / "x").exists() or (old / "x").is_symlink():
        os.rename(old / "x", dest)
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); outputs get the usual mode under the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
