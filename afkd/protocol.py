"""The afkd UART test protocol, host side (the firmware side is firmware/runtime/afkd_protocol.c).

In afkd/ because two stages use it: the exporter writes a Renode test that speaks it, and the
host tools' runners talk to the firmware with it.

Frame, multi-byte fields little-endian (docs/protocol.md)::

    A5 5A | type u8 | seq u8 | length u16 | payload[length] | crc16 u16

The CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0; check value
``crc16(b"123456789") == 0x29B1``) over type, seq, length and payload.
Every broken frame raises :class:`afkd.errors.AfkdError` naming the problem.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

import numpy as np

from afkd.errors import AfkdError

SYNC = b"\xa5\x5a"
HEADER_BYTES = 6  # sync (2), type, seq, length (2)
CRC_BYTES = 2
PROTOCOL_VERSION = 1
MAX_HOPS_PER_FRAME = 16
# Longest answer a firmware sends: 16 hops of (aa, va) int16 at a hop of up to 256, + counts.
MAX_ANSWER_PAYLOAD = MAX_HOPS_PER_FRAME * (2 * 2 * 256 + 4)

HELLO, RESET, SAMPLES, EXIT, CALIBRATE, FLUSH = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
INFO, RESET_DONE, OUTPUT, BYE, CALIBRATION, ERROR = 0x81, 0x82, 0x83, 0x84, 0x85, 0xEE
MESSAGE_NAMES = {
    HELLO: "HELLO", RESET: "RESET", SAMPLES: "SAMPLES", EXIT: "EXIT", CALIBRATE: "CALIBRATE", FLUSH: "FLUSH",
    INFO: "INFO", RESET_DONE: "RESET_DONE", OUTPUT: "OUTPUT", BYE: "BYE",
    CALIBRATION: "CALIBRATION", ERROR: "ERROR",
}

ERR_BAD_CRC, ERR_BAD_LENGTH, ERR_UNKNOWN_TYPE, ERR_BAD_SAMPLE_COUNT, ERR_BAD_PAYLOAD = 1, 2, 3, 4, 5
ERROR_NAMES = {
    ERR_BAD_CRC: "bad CRC", ERR_BAD_LENGTH: "bad length", ERR_UNKNOWN_TYPE: "unknown type",
    ERR_BAD_SAMPLE_COUNT: "wrong sample count", ERR_BAD_PAYLOAD: "bad payload",
}

COUNTER_NONE, COUNTER_DWT_CYCLES, COUNTER_QEMU_ICOUNT, COUNTER_RENODE_INSTRUCTIONS = 0, 1, 2, 3
COUNTER_NAMES = {COUNTER_NONE: "none", COUNTER_DWT_CYCLES: "dwt_cycles",
                 COUNTER_QEMU_ICOUNT: "qemu_instructions", COUNTER_RENODE_INSTRUCTIONS: "renode_instructions"}


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE of ``data``, continuing from ``crc``: the standard library's
    ``binascii.crc_hqx`` is this CRC (poly 0x1021, MSB first) from the start value given."""
    return binascii.crc_hqx(data, crc)


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes

    @property
    def name(self) -> str:
        return MESSAGE_NAMES.get(self.type, f"0x{self.type:02x}")


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """One frame, ready for the wire."""
    if not (0 <= msg_type <= 0xFF and 0 <= seq <= 0xFF):
        raise AfkdError(f"frame: type {msg_type} or seq {seq} is not a byte")
    if len(payload) > 0xFFFF:
        raise AfkdError(f"frame: payload of {len(payload)} bytes exceeds the 16-bit length field")
    body = struct.pack("<BBH", msg_type, seq, len(payload)) + bytes(payload)
    return SYNC + body + struct.pack("<H", crc16(body))


def decode_frame(data: bytes) -> tuple[Frame, int]:
    """Decode the frame at the start of ``data``; return it and the bytes it used.

    Raises AfkdError for a bad sync, a frame shorter than its header or length says
    ("truncated"), or a CRC mismatch.
    """
    if len(data) < HEADER_BYTES:
        raise AfkdError(f"frame: truncated ({len(data)} bytes, a header needs {HEADER_BYTES})")
    if data[:2] != SYNC:
        raise AfkdError(f"frame: bad sync {data[:2].hex()} (expected a55a)")
    msg_type, seq, length = struct.unpack_from("<BBH", data, 2)
    total = HEADER_BYTES + length + CRC_BYTES
    if len(data) < total:
        raise AfkdError(f"frame: truncated ({len(data)} of {total} bytes)")
    (crc_received,) = struct.unpack_from("<H", data, HEADER_BYTES + length)
    crc_computed = crc16(data[2:HEADER_BYTES + length])
    if crc_received != crc_computed:
        raise AfkdError(f"frame: bad CRC (received 0x{crc_received:04x}, computed 0x{crc_computed:04x})")
    return Frame(msg_type, seq, bytes(data[HEADER_BYTES:HEADER_BYTES + length])), total


@dataclass(frozen=True)
class FirmwareInfo:
    """What the firmware says about itself (INFO)."""

    protocol_version: int
    sample_bytes: int        # 1: int8, 2: int16 samples
    hop: int                 # samples per model step
    macs_per_hop: int
    clock_hz: int            # core clock (the modelled one under an emulator)
    counter_kind: str        # none | dwt_cycles | qemu_instructions | renode_instructions
    icount_shift: int | None  # QEMU -icount shift found by the firmware, None if not QEMU
    max_payload: int         # bytes the firmware's receive buffer holds
    max_hops_per_frame: int
    counter_overhead: int    # already subtracted from every count
    model_name: str
    model_hash: str
    target: str              # the board: stm32f4, stm32f746, ..., mps2_an386, host

    @property
    def dtype(self) -> np.dtype:
        return np.dtype("<i1") if self.sample_bytes == 1 else np.dtype("<i2")


_INFO_FIXED = struct.Struct("<BBHIIBBHBI")


def parse_info(payload: bytes) -> FirmwareInfo:
    if len(payload) < _INFO_FIXED.size:
        raise AfkdError(f"INFO: payload of {len(payload)} bytes, need at least {_INFO_FIXED.size}")
    (version, sample_bytes, hop, macs, clock, kind, shift, max_payload, max_hops,
     overhead) = _INFO_FIXED.unpack_from(payload)
    strings, offset = [], _INFO_FIXED.size
    for field in ("model name", "model hash", "target"):
        if offset >= len(payload) or offset + 1 + payload[offset] > len(payload):
            raise AfkdError(f"INFO: truncated before the {field}")
        size = payload[offset]
        strings.append(payload[offset + 1:offset + 1 + size].decode("ascii", "replace"))
        offset += 1 + size
    if version != PROTOCOL_VERSION:
        raise AfkdError(f"INFO: firmware speaks protocol {version}, this host {PROTOCOL_VERSION}")
    if sample_bytes not in (1, 2) or hop == 0:
        raise AfkdError(f"INFO: sample bytes {sample_bytes} / hop {hop} make no sense")
    return FirmwareInfo(version, sample_bytes, hop, macs, clock, COUNTER_NAMES.get(kind, f"unknown({kind})"),
                        None if shift == 0xFF else shift, max_payload, max_hops, overhead, *strings)


def encode_samples(seq: int, samples: np.ndarray, info: FirmwareInfo) -> bytes:
    """SAMPLES frame for whole hops of ``samples`` (1-D, int8 or int16 as INFO says)."""
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.size == 0 or samples.size % info.hop:
        raise AfkdError(f"samples: shape {samples.shape} is not a whole number of hops of {info.hop}")
    if samples.size // info.hop > info.max_hops_per_frame:
        raise AfkdError(f"samples: {samples.size // info.hop} hops exceed {info.max_hops_per_frame} per frame")
    return encode_frame(SAMPLES, seq, _as_wire(samples, info.dtype).tobytes())


def _as_wire(samples: np.ndarray, dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    if samples.dtype.kind not in "iu" or samples.min() < info.min or samples.max() > info.max:
        raise AfkdError(f"samples: dtype {samples.dtype} / range does not fit {dtype.name}")
    return samples.astype(dtype)


def parse_output(payload: bytes, info: FirmwareInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OUTPUT payload -> (aa, va) each (hops*hop,) of the sample dtype, counts (hops,) uint32."""
    hop_bytes = info.hop * info.sample_bytes
    record = 2 * hop_bytes + 4
    if len(payload) % record:
        raise AfkdError(f"OUTPUT: {len(payload)} bytes is not a whole number of {record}-byte hop records")
    hops = len(payload) // record
    layout = np.dtype([("aa", info.dtype, (info.hop,)), ("va", info.dtype, (info.hop,)), ("count", "<u4")])
    records = np.frombuffer(payload, dtype=layout, count=hops)
    return (records["aa"].reshape(-1).copy(), records["va"].reshape(-1).copy(),
            records["count"].astype(np.uint32))


def parse_error(payload: bytes) -> tuple[int, int, int]:
    """ERROR payload -> (code, offending seq, offending type)."""
    if len(payload) != 3:
        raise AfkdError(f"ERROR: payload of {len(payload)} bytes, expected 3")
    return payload[0], payload[1], payload[2]


def describe_error(payload: bytes) -> str:
    code, seq, msg_type = parse_error(payload)
    return (f"{ERROR_NAMES.get(code, f'code {code}')} (seq {seq}, type "
            f"{MESSAGE_NAMES.get(msg_type, f'0x{msg_type:02x}')})")


class FrameReader:
    """Reassembles frames from a byte stream, skipping noise before a sync.

    ``feed(data)`` returns the frames completed so far. A frame with a bad CRC is dropped and
    its problem appended to ``corrupt`` (the caller decides whether that is fatal); the hunt
    for the next sync starts after its first byte.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.corrupt: list[str] = []

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while True:
            start = self._buffer.find(SYNC)
            if start < 0:
                # Keep a trailing A5: it may be the first half of a sync.
                del self._buffer[:max(0, len(self._buffer) - 1)]
                return frames
            del self._buffer[:start]
            if len(self._buffer) < HEADER_BYTES:
                return frames
            length = struct.unpack_from("<H", self._buffer, 4)[0]
            if length > MAX_ANSWER_PAYLOAD:
                # No firmware answer is this long: noise that looked like a sync.
                self.corrupt.append(f"frame: bad length {length}")
                del self._buffer[:1]
                continue
            if len(self._buffer) < HEADER_BYTES + length + CRC_BYTES:
                return frames
            try:
                frame, used = decode_frame(bytes(self._buffer))
            except AfkdError as error:
                self.corrupt.append(str(error))
                del self._buffer[:1]
                continue
            del self._buffer[:used]
            frames.append(frame)
