"""The C side of the protocol (firmware/runtime/afkd_protocol.c + harness), built for the
host and fed frames encoded by afkd/protocol.py: answers, error frames, dummy model."""

import importlib.util
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd import protocol as proto
from afkd.host_tools.runners import open_runner

_spec = importlib.util.spec_from_file_location(
    "dummy_build", Path(__file__).parent / "fixtures" / "dummy_model" / "dummy_build.py")
dummy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dummy)


@pytest.fixture(scope="module", params=[1, 2], ids=["int8", "int16"])
def host_build(request, tmp_path_factory):
    if shutil.which("cmake") is None or shutil.which("gcc") is None:
        pytest.fail("cmake and gcc are part of the documented set-up")
    build = tmp_path_factory.mktemp(f"host{request.param}")
    return dummy.build_dummy("host", build, sample_bytes=request.param), request.param


@pytest.fixture
def runner(host_build):
    build, _ = host_build
    with open_runner("host", build, timeout_s=3) as r:
        yield r


def test_info_describes_the_build(runner, host_build):
    _, sample_bytes = host_build
    info = runner.info()
    assert info.sample_bytes == sample_bytes and info.hop == dummy.HOP
    assert info.model_name == ("dummy_int8" if sample_bytes == 1 else "dummy_int16")
    assert (info.model_hash, info.macs_per_hop, info.target) == ("0123456789abcdef", 24, "host")
    assert info.counter_kind == "none" and info.icount_shift is None
    assert info.max_hops_per_frame == min(16, info.max_payload // (dummy.HOP * sample_bytes))


def test_outputs_match_python_over_several_frames_and_reset(runner, host_build):
    _, sample_bytes = host_build
    x = dummy.random_samples(40, sample_bytes, seed=1)  # 40 hops: more than two frames
    aa, va, counts = runner.run(x)
    want_aa, want_va, state = dummy.expected_outputs(x, sample_bytes)
    np.testing.assert_array_equal(aa, want_aa)
    np.testing.assert_array_equal(va, want_va)
    assert counts.shape == (40,) and not counts.any()
    # State carries over across calls ...
    y = dummy.random_samples(3, sample_bytes, seed=2)
    np.testing.assert_array_equal(runner.run(y)[0], dummy.expected_outputs(y, sample_bytes, state)[0])
    # ... and RESET zeroes it.
    runner.reset()
    np.testing.assert_array_equal(runner.run(y)[0], dummy.expected_outputs(y, sample_bytes)[0])


def test_flush_returns_one_more_hop_continuing_the_state(runner, host_build):
    _, sample_bytes = host_build
    x = dummy.random_samples(5, sample_bytes, seed=3)
    _, _, state = dummy.expected_outputs(x, sample_bytes)
    runner.run(x)
    aa, va, count = runner.flush()
    zeros = np.zeros(dummy.HOP, dtype=x.dtype)  # the dummy's flush steps on a hop of zeros
    want_aa, want_va, _ = dummy.expected_outputs(zeros, sample_bytes, state)
    np.testing.assert_array_equal(aa, want_aa)
    np.testing.assert_array_equal(va, want_va)
    assert count == 0  # the host build has no counter


def _error_for(runner, data: bytes, flush: bool = False):
    runner.send_raw(data)
    if flush:  # a frame shorter than its length field: the zeros complete it
        runner.send_raw(bytes(runner.info().max_payload + 8))
    frame = runner.receive()
    assert frame.type == proto.ERROR, frame
    return proto.parse_error(frame.payload)


def test_corrupt_frames_get_error_frames(runner):
    hop_bytes = runner.info().hop * runner.info().sample_bytes
    good = bytearray(proto.encode_frame(proto.SAMPLES, 40, bytes(hop_bytes)))
    bad_crc = good.copy()
    bad_crc[8] ^= 0x01
    assert _error_for(runner, bytes(bad_crc)) == (proto.ERR_BAD_CRC, 40, proto.SAMPLES)
    assert _error_for(runner, bytes(good[:-4]), flush=True)[:2] == (proto.ERR_BAD_CRC, 40)
    too_long = proto.encode_frame(proto.SAMPLES, 41, bytes(runner.info().max_payload + 1))
    assert _error_for(runner, too_long[:6])[:2] == (proto.ERR_BAD_LENGTH, 41)
    runner.resync()
    assert _error_for(runner, proto.encode_frame(0x42, 42)) == (proto.ERR_UNKNOWN_TYPE, 42, 0x42)
    assert _error_for(runner, proto.encode_frame(proto.SAMPLES, 43, bytes(hop_bytes + 1)))[:2] == \
        (proto.ERR_BAD_SAMPLE_COUNT, 43)
    too_many = bytes(hop_bytes * (runner.info().max_hops_per_frame + 1))
    if len(too_many) <= runner.info().max_payload:
        assert _error_for(runner, proto.encode_frame(proto.SAMPLES, 44, too_many))[0] == proto.ERR_BAD_SAMPLE_COUNT
    assert _error_for(runner, proto.encode_frame(proto.HELLO, 45, b"x")) == \
        (proto.ERR_BAD_PAYLOAD, 45, proto.HELLO)
    # After all that, a clean request gets the right answer, and the runner reports errors.
    x = dummy.random_samples(2, runner.info().sample_bytes, seed=3)
    runner.reset()
    np.testing.assert_array_equal(runner.run(x)[1], dummy.expected_outputs(x, runner.info().sample_bytes)[1])


def test_error_frame_becomes_afkd_error_and_exit_ends_process(runner):
    runner.send_raw(proto.encode_frame(0x42, 200))
    with pytest.raises(AfkdError, match="unknown type"):
        runner._expect(200, proto.INFO)
    runner.exit()
    with pytest.raises(AfkdError, match="closed"):
        runner.receive(timeout_s=2)


def test_silent_firmware_times_out_fast(tmp_path):
    silent = tmp_path / "firmware"
    silent.write_text("#!/bin/sh\nexec sleep 30\n")
    silent.chmod(0o755)
    import time
    start = time.monotonic()
    with pytest.raises(AfkdError, match="did not boot"):
        open_runner("host", silent, timeout_s=0.5, boot_timeout_s=1.0)
    assert time.monotonic() - start < 3
