"""The serial:PORT runner against a real tty: a pseudo-terminal pair stands in for the USB-UART.

The host build of the harness talks on the master side (as the board's USART would); pyserial
opens the slave device /dev/pts/N exactly as it opens /dev/ttyUSB0 for a board.
"""

import importlib.util
import os
import subprocess
import tty
from pathlib import Path

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.host_tools.runners import open_runner

_spec = importlib.util.spec_from_file_location(
    "dummy_build", Path(__file__).parent / "fixtures" / "dummy_model" / "dummy_build.py")
dummy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dummy)


@pytest.fixture(scope="module")
def host_firmware(tmp_path_factory):
    build = dummy.build_dummy("host", tmp_path_factory.mktemp("serial_host"), sample_bytes=1)
    return build / "firmware"


@pytest.fixture
def board_on_a_tty(host_firmware):
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo or line editing before pyserial takes the port over
    board = subprocess.Popen([str(host_firmware)], stdin=master, stdout=master, stderr=subprocess.DEVNULL)
    try:
        yield os.ttyname(slave)
    finally:
        board.kill()
        board.wait()
        os.close(master)
        os.close(slave)


def test_serial_runner_streams_and_resets_like_a_board(board_on_a_tty):
    with open_runner(f"serial:{board_on_a_tty}", None, timeout_s=3, boot_timeout_s=5) as runner:
        info = runner.info()
        assert info.target == "host" and info.hop == dummy.HOP
        x = dummy.random_samples(20, 1, seed=4)
        aa, va, _ = runner.run(x)
        want_aa, want_va, _ = dummy.expected_outputs(x, 1)
        np.testing.assert_array_equal(aa, want_aa)
        np.testing.assert_array_equal(va, want_va)
        runner.reset()
        np.testing.assert_array_equal(runner.run(x)[0], want_aa)


def test_a_port_that_does_not_exist_is_a_clear_error():
    with pytest.raises(AfkdError, match="/dev/ttyAFKD_NONE: cannot open serial port"):
        open_runner("serial:/dev/ttyAFKD_NONE", None)


@pytest.fixture
def board_on_a_tcp_socket(host_firmware):
    """The host build served on a TCP port, as Renode serves the board's USART1."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    boards = []

    def serve():
        connection, _ = server.accept()
        boards.append(subprocess.Popen([str(host_firmware)], stdin=connection.fileno(),
                                       stdout=connection.fileno(), stderr=subprocess.DEVNULL))
        connection.close()  # the child holds the socket now

    import threading

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(timeout=5)
        for board in boards:
            board.kill()
            board.wait()


def test_a_tcp_uart_is_opened_by_pyserial_like_a_port(board_on_a_tcp_socket):
    """The Renode runner's link: pyserial's serial_for_url("socket://...")."""
    from afkd.host_tools.runners.client import FirmwareRunner
    from afkd.host_tools.runners.link import SerialLink

    link = SerialLink(f"socket://127.0.0.1:{board_on_a_tcp_socket}", 115200, name="tcp", connect_timeout_s=5)
    with FirmwareRunner(link, name="tcp", timeout_s=3, boot_timeout_s=5) as runner:
        x = dummy.random_samples(20, 1, seed=5)
        aa, va, _ = runner.run(x)
        want_aa, want_va, _ = dummy.expected_outputs(x, 1)
        np.testing.assert_array_equal(aa, want_aa)
        np.testing.assert_array_equal(va, want_va)


def test_no_socket_within_the_connect_time_is_a_clear_error():
    import socket

    from afkd.host_tools.runners.link import SerialLink

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AfkdError, match=rf"socket://127.0.0.1:{port}: no UART socket there within 1 s"):
        SerialLink(f"socket://127.0.0.1:{port}", 115200, name="tcp", connect_timeout_s=1)
