"""`make lab`, the README's main command, starts a JupyterLab answering on the port asked for (also as root).

The set-up half of `make lab` (the venv, the JS bundle) is what `make test` has just run; this test takes the
environment the suite runs in (``VENV=sys.prefix``, ``-o env -o js``: already made), checks the server half:
the port, the extra arguments and, when the suite runs as root (containers, CI), that it is not refused.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_starts_a_server_on_the_given_port() -> None:
    venv = Path(sys.prefix)
    assert (venv / "bin" / "jupyter").exists(), f"the suite's environment {venv} has no jupyter"
    port = _free_port()
    command = [
        "make", "--no-print-directory", "-o", "env", "-o", "js", "lab", f"VENV={venv}", f"LAB_PORT={port}",
        "LAB_ARGS=--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port_retries=0",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline, answer = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2) as response:
                    answer = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        if answer is None:
            server.kill()
            log = server.communicate(timeout=10)[0].decode(errors="replace")
            pytest.fail(f"make lab did not answer on port {port} (exit {server.returncode}):\n{log[-3000:]}")
        assert "version" in answer  # Jupyter Server's public /api endpoint
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    if os.geteuid() == 0:
        assert b"--allow-root" in server.stdout.read() if server.stdout else False
