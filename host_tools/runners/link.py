"""Byte links to a running firmware: a child process's pipes; a serial port or a TCP socket (pyserial).

Each link gives ``write(data)``, ``read(timeout_s) -> bytes`` (whatever arrived, b"" when
nothing did in time; raises AfkdError once the far end is gone) and ``close()``.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from pathlib import Path

from afkd.errors import AfkdError


class ProcessLink:
    """stdin/stdout of a child process (host firmware, QEMU with its serial on stdio).

    A reader thread drains stdout into a queue so that a read never blocks past its timeout.
    stderr goes to a file whose tail is quoted when the process dies.
    """

    def __init__(self, argv: list[str], name: str, stderr_path: Path, env: dict | None = None,
                 cwd: str | os.PathLike | None = None) -> None:
        self.name = name
        self._stderr_path = stderr_path
        self._stderr = open(stderr_path, "wb")
        try:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                env=env, cwd=cwd, start_new_session=True)
        except OSError as error:
            self._stderr.close()
            raise AfkdError(f"{name}: cannot start {argv[0]}: {error}") from error
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self._closed_far = False
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        fd = self.process.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            self._chunks.put(chunk)
            if not chunk:
                return

    def stderr_tail(self, size: int = 400) -> str:
        try:
            text = self._stderr_path.read_bytes()[-size:].decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return " ".join(text.split())

    def _gone(self) -> AfkdError:
        rc = self.process.poll()
        tail = self.stderr_tail()
        return AfkdError(f"{self.name}: firmware link closed (exit status {rc})"
                         + (f": {tail}" if tail else ""))

    def write(self, data: bytes) -> None:
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as error:
            raise self._gone() from error

    def read(self, timeout_s: float) -> bytes:
        if self._closed_far:
            raise self._gone()
        try:
            chunk = self._chunks.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return b""
        if not chunk:
            self._closed_far = True
            self.process.wait(timeout=5)
            raise self._gone()
        return chunk

    def close(self) -> None:
        """Kill the process group (QEMU, the host firmware) and reap it; idempotent."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()


class SerialLink:
    """A serial port to a real board, or (a ``socket://HOST:PORT`` URL) the TCP terminal of an
    emulator's UART, such as Renode's server socket: pyserial's ``serial_for_url`` opens both.

    ``connect_timeout_s``: keep trying to open for this long (an emulator opens its socket some
    time after it starts) while ``alive()`` holds.
    """

    def __init__(self, url: str, baud: int, name: str, connect_timeout_s: float = 0.0, alive=lambda: True) -> None:
        import serial  # pyserial; imported here so that the other runners do not need it

        self.name = name
        self._errors = (serial.SerialException, OSError)
        deadline = time.monotonic() + connect_timeout_s
        while True:
            try:
                self._serial = serial.serial_for_url(url, baudrate=baud, timeout=0.05)
                break
            except (serial.SerialException, ValueError, OSError) as error:
                if time.monotonic() >= deadline or not alive():
                    what = "cannot open serial port" if "://" not in url else "no UART socket there"
                    waited = f" within {connect_timeout_s:.0f} s" if connect_timeout_s else ""
                    raise AfkdError(f"{url}: {what}{waited}: {error}") from error
                time.sleep(0.1)

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
            self._serial.flush()
        except self._errors as error:
            raise AfkdError(f"{self.name}: link closed ({error})") from error

    def read(self, timeout_s: float) -> bytes:
        try:
            self._serial.timeout = max(0.001, timeout_s)
            first = self._serial.read(1)
            if not first:
                return b""
            return first + self._serial.read(self._serial.in_waiting)
        except self._errors as error:
            raise AfkdError(f"{self.name}: link closed ({error})") from error

    def close(self) -> None:
        try:
            self._serial.close()
        except self._errors:
            pass
