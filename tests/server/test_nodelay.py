"""The server extension: TCP_NODELAY on a real server's kernel websockets; off by config; defensive."""

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.websocket import WebSocketHandler

import attr_widgets_server
from attr_widgets_server import MARK, install

PROBE = Path(__file__).with_name("nodelay_probe.py")
JUPYTER = Path(sys.executable).with_name("jupyter")


def probe(*args):
    done = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    match = re.search(r"^nodelay=(\d) loaded=(.*)$", done.stdout, re.M)
    assert match, done.stdout + done.stderr[-2000:]
    return int(match.group(1)), match.group(2).split(","), done.stderr


def test_the_installed_config_lists_the_extension_as_enabled():
    done = subprocess.run([str(JUPYTER), "server", "extension", "list"], capture_output=True, text=True)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert re.search(r"attr_widgets_server\s+enabled", listing), listing
    assert "took" not in listing.split("attr_widgets_server", 1)[1][:200]  # no slow import (torch) at start


def test_a_kernel_websocket_opened_through_a_real_server_has_nodelay_set():
    nodelay, loaded, log = probe()  # no flag: the installed config file enables the extension
    assert "attr_widgets_server" in loaded
    assert nodelay == 1
    assert "TCP_NODELAY on kernel websockets is on" in log


def test_disabled_by_config_the_server_is_as_before():
    nodelay, loaded, log = probe("--KernelWebsocketNoDelay.enabled=False")
    assert "attr_widgets_server" in loaded and nodelay == 0
    assert "is off" in log


class SyncOpen(WebSocketHandler):
    def open(self, *args):  # tornado allows a plain open(); not the handler this extension knows
        pass


class AsyncOpen(WebSocketHandler):
    calls = 0

    async def open(self, *args):
        type(self).calls += 1


def test_an_unexpected_handler_is_left_alone_with_one_log_line(caplog):
    before = SyncOpen.__dict__["open"]
    with caplog.at_level(logging.WARNING):
        assert install(logging.getLogger("test"), SyncOpen) is False
    assert SyncOpen.__dict__["open"] is before
    assert len(caplog.records) == 1 and "left as it is" in caplog.records[0].getMessage()


def test_install_wraps_once_and_keeps_the_original_behaviour():
    assert install(logging.getLogger("test"), AsyncOpen) is True
    wrapped = AsyncOpen.__dict__["open"]
    assert getattr(wrapped, MARK) and wrapped.__wrapped__.__name__ == "open"
    assert install(logging.getLogger("test"), AsyncOpen) is True
    assert AsyncOpen.__dict__["open"] is wrapped  # not wrapped twice


@pytest.mark.parametrize("name", ["_jupyter_server_extension_points", "_load_jupyter_server_extension"])
def test_the_extension_entry_points_exist(name):
    assert callable(getattr(attr_widgets_server, name))
    assert attr_widgets_server._jupyter_server_extension_points() == [{"module": "attr_widgets_server"}]


def test_the_nodelay_benchmark_prints_its_table():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_nodelay.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for row in ("Nagle on (as shipped)", "TCP_NODELAY (extension)", "ZMQ directly"):
        assert row in done.stdout
