"""A file tree's names, kinds, sizes and modification times: equal snapshots, nothing touched."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def snapshot(root: Path) -> dict:
    """Every entry below ``root`` (and root itself): kind, size and modification time."""
    def entry(path: Path):
        st = path.lstat()
        return (stat.S_IFMT(st.st_mode), 0 if stat.S_ISDIR(st.st_mode) else st.st_size, st.st_mtime_ns)
    tree = {".": entry(root)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            tree[str(path.relative_to(root))] = entry(path)
    return tree
