"""A plain (non-editable) install into a fresh venv enables the extension and sets TCP_NODELAY.

The wheel is built from this checkout (its build backend from PyPI, as any ``pip install .``), installed
with ``--no-deps`` next to jupyter_server and ipykernel in a new virtual environment that shares nothing with
the test's own: so what is checked is the wheel's own ``etc/jupyter/jupyter_server_config.d`` file, not a
config left by the editable install. The extension needs only jupyter_server (no torch): a quick install.
"""

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("nodelay_probe.py")


# Nothing of this checkout on the fresh venv's path: no PYTHONPATH, and never this checkout as the cwd.
OURS = ("PYTHONPATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PATH")
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in OURS}


def run(*args, **kwargs):
    kwargs.setdefault("env", CLEAN_ENV)
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("plain")
    wheels = base / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, ROOT)
    (wheel,) = wheels.glob("attr_widgets-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "jupyter_server", "ipykernel")
    run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    return env_dir


def test_the_wheel_installs_the_config_and_the_extension_is_listed_enabled(fresh_venv):
    config = fresh_venv / "etc" / "jupyter" / "jupyter_server_config.d" / "attr_widgets.json"
    assert config.is_file()
    python = fresh_venv / "bin" / "python"
    code = "import attr_widgets_server; print(attr_widgets_server.__file__)"
    where = run(python, "-c", code, cwd=fresh_venv).stdout
    assert str(fresh_venv) in where  # the installed copy, not this checkout
    listing = run(fresh_venv / "bin" / "jupyter", "server", "extension", "list", cwd=fresh_venv)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    assert re.search(r"attr_widgets_server\s+enabled", text), text


def test_a_kernel_websocket_through_the_installed_server_has_nodelay_set(fresh_venv):
    done = run(fresh_venv / "bin" / "python", PROBE, cwd=fresh_venv)
    assert re.search(r"^nodelay=1 loaded=.*attr_widgets_server", done.stdout, re.M), done.stdout + done.stderr
