"""Byte links to a running firmware: a child process's pipes, a TCP socket, a serial port.

Each link gives ``write(data)``, ``read(timeout_s) -> bytes`` (whatever arrived, b"" when
nothing did in time; raises AfkdError once the far end is gone) and ``close()``.
"""

from __future__ import annotations

import os
import queue
import socket
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


class SocketLink:
    """A TCP connection to 127.0.0.1 (Renode's server socket terminal)."""

    def __init__(self, port: int, name: str, connect_timeout_s: float, alive=lambda: True) -> None:
        self.name = name
        deadline = time.monotonic() + connect_timeout_s
        while True:
            try:
                self._socket = socket.create_connection(("127.0.0.1", port), timeout=1.0)
                break
            except OSError as error:
                if time.monotonic() > deadline or not alive():
                    raise AfkdError(f"{name}: no UART socket on 127.0.0.1:{port} "
                                    f"within {connect_timeout_s:.0f} s ({error})") from error
                time.sleep(0.1)

    def write(self, data: bytes) -> None:
        try:
            self._socket.sendall(data)
        except OSError as error:
            raise AfkdError(f"{self.name}: UART socket closed ({error})") from error

    def read(self, timeout_s: float) -> bytes:
        self._socket.settimeout(max(0.001, timeout_s))
        try:
            chunk = self._socket.recv(65536)
        except socket.timeout:
            return b""
        except OSError as error:
            raise AfkdError(f"{self.name}: UART socket closed ({error})") from error
        if not chunk:
            raise AfkdError(f"{self.name}: UART socket closed by the emulator")
        return chunk

    def close(self) -> None:
        try:
            self._socket.close()
        except OSError:
            pass


class SerialLink:
    """A serial port to a real board (pyserial)."""

    def __init__(self, port: str, baud: int, name: str) -> None:
        import serial  # pyserial; imported here so that the other runners do not need it

        self.name = name
        try:
            self._serial = serial.Serial(port, baudrate=baud, timeout=0.05)
        except (serial.SerialException, ValueError) as error:
            raise AfkdError(f"{port}: cannot open serial port: {error}") from error

    def write(self, data: bytes) -> None:
        self._serial.write(data)
        self._serial.flush()

    def read(self, timeout_s: float) -> bytes:
        self._serial.timeout = max(0.001, timeout_s)
        first = self._serial.read(1)
        if not first:
            return b""
        return first + self._serial.read(self._serial.in_waiting)

    def close(self) -> None:
        self._serial.close()
