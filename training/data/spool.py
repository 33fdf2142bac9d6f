"""Long signals on disk instead of in memory: a lazy 1-D array and a streaming .npy writer.

A 200 MB ``.dat`` holds tens of millions of samples; as float64 in memory, with the copies
that resampling and concatenation make, that is gigabytes. Import instead spools a long
record to an anonymous temporary file (deleted when the last reference goes) and hands out
:class:`OnDiskArray` slices, which read their samples only when NumPy asks for them
(``np.asarray``); the dataset writer appends each segment to its ``.npy`` as it comes
(:class:`NpyAppender`).
"""

from __future__ import annotations

import os
import tempfile
from typing import BinaryIO

import numpy as np


class OnDiskArray:
    """A read-only 1-D array of ``dtype`` stored in ``file`` from byte ``offset``, ``length`` long.

    Slicing (step 1) gives another OnDiskArray without reading; ``np.asarray`` reads. Any
    other indexing reads the whole view first.
    """

    ndim = 1

    def __init__(self, file: BinaryIO, dtype, length: int, offset: int = 0):
        self.file, self.dtype, self.length, self.offset = file, np.dtype(dtype), int(length), int(offset)

    @property
    def size(self) -> int:
        return self.length

    @property
    def shape(self) -> tuple[int]:
        return (self.length,)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key):
        if isinstance(key, slice) and key.step in (None, 1):
            start, stop, _ = key.indices(self.length)
            stop = max(start, stop)
            return OnDiskArray(self.file, self.dtype, stop - start, self.offset + start * self.dtype.itemsize)
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        self.file.seek(self.offset)
        data = np.frombuffer(self.file.read(self.length * self.dtype.itemsize), dtype=self.dtype).copy()
        return data if dtype is None else data.astype(dtype, copy=False)


class Spool:
    """Append 1-D chunks to an anonymous temporary file; :meth:`array` gives them back lazily."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.file = tempfile.TemporaryFile(prefix="afkd-spool-")
        self.length = 0

    def append(self, chunk: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(chunk, dtype=self.dtype).tobytes())
        self.length += int(np.size(chunk))

    def array(self) -> OnDiskArray:
        self.file.flush()
        return OnDiskArray(self.file, self.dtype, self.length)


HEADER_BYTES = 128  # room for any 1-D shape; np.load reads the padded header as written


class NpyAppender:
    """Write a 1-D ``.npy`` of unknown final length chunk by chunk (bounded memory).

    The header is reserved first and written with the real shape by :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike, dtype):
        self.dtype = np.dtype(dtype)
        self.file = open(path, "wb")
        self.file.write(b"\0" * HEADER_BYTES)
        self.length = 0

    def append(self, chunk) -> None:
        data = np.ascontiguousarray(np.asarray(chunk), dtype=self.dtype)
        self.file.write(data.tobytes())
        self.length += int(data.size)

    def fill(self, value, count: int) -> None:
        """``count`` copies of ``value``, written a block at a time."""
        block = np.full(min(count, 1 << 20), value, dtype=self.dtype)
        while count > 0:
            self.append(block[:count])
            count -= block.size

    def close(self) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.length,)}
        text = repr(header).encode("latin1")
        room = HEADER_BYTES - 10  # magic (6) + version (2) + header length (2)
        assert len(text) < room, text
        self.file.seek(0)
        self.file.write(b"\x93NUMPY\x01\x00" + room.to_bytes(2, "little") + text.ljust(room - 1) + b"\n")
        self.file.close()
