"""afkd/protocol.py: CRC, framing and payload parsing, without any firmware."""

import struct

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd import protocol as proto


def test_crc16_ccitt_false_check_value():
    # The catalogued check value of CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740).
    assert proto.crc16(b"123456789") == 0x29B1
    assert proto.crc16(b"") == 0xFFFF


def test_encode_layout_and_round_trip():
    frame = proto.encode_frame(proto.SAMPLES, 7, b"\x01\x02\x03")
    assert frame[:2] == b"\xa5\x5a"
    assert frame[2:6] == bytes([proto.SAMPLES, 7, 3, 0])
    assert struct.unpack("<H", frame[-2:])[0] == proto.crc16(frame[2:-2])
    decoded, used = proto.decode_frame(frame + b"tail")
    assert used == len(frame)
    assert (decoded.type, decoded.seq, decoded.payload) == (proto.SAMPLES, 7, b"\x01\x02\x03")


@pytest.mark.parametrize("mangle, problem", [
    (lambda f: b"\x00" + f[1:], "bad sync"),
    (lambda f: f[:-1] + bytes([f[-1] ^ 0x01]), "bad CRC"),
    (lambda f: f[:5] + bytes([f[5] ^ 0x80]) + f[6:], "truncated"),  # length says more
    (lambda f: f[:-3], "truncated"),
    (lambda f: f[:4], "truncated"),
    (lambda f: f[:6] + bytes([f[6] ^ 0xFF]) + f[7:], "bad CRC"),
])
def test_broken_frames_name_the_problem(mangle, problem):
    frame = proto.encode_frame(proto.HELLO, 3, b"abc")
    with pytest.raises(AfkdError, match=problem):
        proto.decode_frame(mangle(frame))


def test_reader_skips_noise_and_reports_corrupt_frames():
    good1 = proto.encode_frame(proto.RESET_DONE, 1)
    bad = bytearray(proto.encode_frame(proto.OUTPUT, 2, b"xyz"))
    bad[7] ^= 0x10
    good2 = proto.encode_frame(proto.BYE, 3)
    reader = proto.FrameReader()
    stream = b"\x00\xa5noise" + good1 + bytes(bad) + good2
    frames = []
    for i in range(0, len(stream), 3):  # in dribbles, as a UART delivers them
        frames += reader.feed(stream[i:i + 3])
    assert [(f.type, f.seq) for f in frames] == [(proto.RESET_DONE, 1), (proto.BYE, 3)]
    assert len(reader.corrupt) == 1 and "bad CRC" in reader.corrupt[0]


def _info_payload(sample_bytes=2, hop=8):
    fixed = struct.pack("<BBHIIBBHBI", 1, sample_bytes, hop, 1234, 168_000_000, 2, 3, 256, 16, 15)
    strings = b"".join(bytes([len(s)]) + s for s in (b"net", b"abc123", b"stm32f4"))
    return fixed + strings


def test_info_parse():
    info = proto.parse_info(_info_payload())
    assert (info.sample_bytes, info.hop, info.macs_per_hop, info.clock_hz) == (2, 8, 1234, 168_000_000)
    assert (info.counter_kind, info.icount_shift, info.counter_overhead) == ("qemu_instructions", 3, 15)
    assert (info.model_name, info.model_hash, info.target) == ("net", "abc123", "stm32f4")
    with pytest.raises(AfkdError, match="INFO: truncated"):
        proto.parse_info(_info_payload()[:-3])


def test_samples_and_output_layout_int16():
    info = proto.parse_info(_info_payload(sample_bytes=2, hop=4))
    samples = np.array([1, -2, 300, -32768, 5, 6, 7, 32767], dtype=np.int16)
    frame, _ = proto.decode_frame(proto.encode_samples(9, samples, info))
    assert frame.payload == samples.astype("<i2").tobytes()
    # Two hop records: aa[4], va[4], u32 count, little-endian.
    payload = b"".join(np.arange(4 * k, 4 * k + 4, dtype="<i2").tobytes()
                       + np.arange(-4, 0, dtype="<i2").tobytes() + struct.pack("<I", 1000 + k)
                       for k in range(2))
    aa, va, counts = proto.parse_output(payload, info)
    assert aa.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert va.tolist() == [-4, -3, -2, -1] * 2
    assert counts.tolist() == [1000, 1001]
    with pytest.raises(AfkdError, match="whole number"):
        proto.parse_output(payload[:-1], info)


def test_samples_refused_when_they_do_not_fit():
    info = proto.parse_info(_info_payload(sample_bytes=1, hop=8))
    with pytest.raises(AfkdError, match="whole number of hops"):
        proto.encode_samples(1, np.zeros(7, np.int8), info)
    with pytest.raises(AfkdError, match="per frame"):
        proto.encode_samples(1, np.zeros(17 * 8, np.int8), info)
    with pytest.raises(AfkdError, match="does not fit"):
        proto.encode_samples(1, np.full(8, 200, np.int16), info)
