"""The runner every spec returns: the protocol spoken over one link, with timeouts.

All runners share this class; they differ only in how the firmware is started and which link
reaches its UART (see __init__.open_runner).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from afkd.errors import AfkdError
from afkd import protocol as proto


class FirmwareRunner:
    """Talks to one firmware. Use as a context manager; ``close()`` always ends the emulator.

    ``timeout_s`` bounds every wait for an answer: a silent firmware raises AfkdError.
    """

    def __init__(self, link, name: str, timeout_s: float = 5.0, boot_timeout_s: float = 10.0,
                 on_close: Callable[[], None] | None = None) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._link = link
        self._on_close = on_close
        self._reader = proto.FrameReader()
        self._pending: list[proto.Frame] = []
        self._seq = 0
        self._info: proto.FirmwareInfo | None = None
        self._closed = False
        try:
            self._info = self._handshake(boot_timeout_s)
        except BaseException:
            self.close()
            raise

    # -- public API -----------------------------------------------------------------------
    def info(self) -> proto.FirmwareInfo:
        return self._info

    def reset(self) -> None:
        """Zero the model's streaming state (ring buffers, decoder tail)."""
        self._request(proto.RESET, b"", proto.RESET_DONE)

    def run(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stream ``samples`` (hops*HOP,) int8/int16 through the model, continuing its state.

        Returns aa, va (same shape and dtype as the firmware's samples) and counts (hops,)
        uint32 in the unit of ``info().counter_kind``.
        """
        info = self._info
        samples = np.asarray(samples)
        if samples.ndim != 1 or samples.size == 0 or samples.size % info.hop:
            raise AfkdError(f"{self.name}: samples of shape {samples.shape} are not whole hops of {info.hop}")
        per_frame = info.max_hops_per_frame * info.hop
        aa, va, counts = [], [], []
        for start in range(0, samples.size, per_frame):
            chunk = samples[start:start + per_frame]
            seq = self._next_seq()
            self._link.write(proto.encode_samples(seq, chunk, info))
            frame = self._expect(seq, proto.OUTPUT)
            chunk_aa, chunk_va, chunk_counts = proto.parse_output(frame.payload, info)
            if chunk_aa.size != chunk.size:
                raise AfkdError(f"{self.name}: OUTPUT holds {chunk_aa.size} samples for {chunk.size} sent")
            aa.append(chunk_aa)
            va.append(chunk_va)
            counts.append(chunk_counts)
        return np.concatenate(aa), np.concatenate(va), np.concatenate(counts)

    def flush(self) -> tuple[np.ndarray, np.ndarray, int]:
        """End the stream: the last output hop (the model's latency) and its count."""
        frame = self._request(proto.FLUSH, b"", proto.OUTPUT)
        aa, va, counts = proto.parse_output(frame.payload, self._info)
        if aa.size != self._info.hop:
            raise AfkdError(f"{self.name}: FLUSH answered {aa.size} samples, expected one hop")
        return aa, va, int(counts[0])

    def calibrate(self, iterations: int) -> int:
        """Count of a loop of exactly 2*iterations instructions (plus a few), in counter units."""
        frame = self._request(proto.CALIBRATE, int(iterations).to_bytes(4, "little"), proto.CALIBRATION)
        if len(frame.payload) != 8:
            raise AfkdError(f"{self.name}: CALIBRATION payload of {len(frame.payload)} bytes")
        return int.from_bytes(frame.payload[4:8], "little")

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (tests of corrupt frames)."""
        self._link.write(data)

    def receive(self, timeout_s: float | None = None) -> proto.Frame:
        """Next frame from the firmware, whatever it is."""
        return self._next_frame(time.monotonic() + (timeout_s or self.timeout_s))

    def resync(self) -> proto.FirmwareInfo:
        """Bring a firmware that saw garbage back to a clean frame boundary.

        Zeros longer than any frame end whatever frame it thinks it is in (zeros never make a
        sync), then HELLO; every frame before its INFO is dropped.
        """
        self._link.write(bytes(self._info.max_payload + 16 if self._info else 1024))
        seq = self._next_seq()
        self._link.write(proto.encode_frame(proto.HELLO, seq))
        deadline = time.monotonic() + self.timeout_s
        while True:
            frame = self._next_frame(deadline)
            if frame.type == proto.INFO and frame.seq == seq:
                self._reader.corrupt.clear()
                return proto.parse_info(frame.payload)

    def exit(self) -> None:
        """Ask the firmware to leave (QEMU semihosting exit; a board resets)."""
        self._request(proto.EXIT, b"", proto.BYE)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._link.close()
        finally:
            if self._on_close is not None:
                self._on_close()

    def __enter__(self) -> "FirmwareRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------
    def _handshake(self, boot_timeout_s: float) -> proto.FirmwareInfo:
        """Wait for the INFO a firmware sends at boot (or, from a board that booted long ago,
        the answer to a HELLO), then resync so that nothing half-received lingers."""
        start = time.monotonic()
        deadline = start + boot_timeout_s
        hello_at = start + min(1.0, boot_timeout_s / 4)
        hello_sent = False
        while True:
            now = time.monotonic()
            if not hello_sent and now >= hello_at:
                self._link.write(proto.encode_frame(proto.HELLO, self._next_seq()))
                hello_sent = True
            if now >= deadline:
                raise AfkdError(f"{self.name}: firmware did not boot (no INFO within {boot_timeout_s:g} s)")
            self._pending.extend(self._reader.feed(self._link.read(min(deadline - now, 0.1))))
            for frame in self._pending:
                if frame.type == proto.INFO:
                    self._pending.clear()
                    self._info = proto.parse_info(frame.payload)
                    return self.resync()

    def _next_seq(self) -> int:
        self._seq = self._seq % 255 + 1  # 1..255; 0 is the boot INFO's
        return self._seq

    def _next_frame(self, deadline: float) -> proto.Frame:
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AfkdError(f"{self.name}: no answer from the firmware within {self.timeout_s:g} s")
            self._pending.extend(self._reader.feed(self._link.read(min(remaining, 0.2))))
        return self._pending.pop(0)

    def _expect(self, seq: int, answer_type: int) -> proto.Frame:
        deadline = time.monotonic() + self.timeout_s
        while True:
            frame = self._next_frame(deadline)
            if self._reader.corrupt:
                problem = self._reader.corrupt.pop(0)
                raise AfkdError(f"{self.name}: corrupt answer from the firmware: {problem}")
            if frame.type == proto.ERROR:
                raise AfkdError(f"{self.name}: firmware answered ERROR: {proto.describe_error(frame.payload)}")
            if frame.seq != seq:
                continue  # a late answer to an earlier, abandoned request
            if frame.type != answer_type:
                raise AfkdError(f"{self.name}: expected {proto.MESSAGE_NAMES[answer_type]} for seq {seq}, "
                                f"got {frame.name}")
            return frame

    def _request(self, msg_type: int, payload: bytes, answer_type: int) -> proto.Frame:
        seq = self._next_seq()
        self._link.write(proto.encode_frame(msg_type, seq, payload))
        return self._expect(seq, answer_type)
