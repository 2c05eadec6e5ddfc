"""Real JupyterLab 4 / Notebook 7 servers and a Chromium page that drives them (DESIGN.md's recipe).

The server runs from this interpreter's environment on a free 127.0.0.1 port with a temporary root, config
and workspace directory. The page records every request (anything not on the loopback is an offline-promise
failure) and every console error, runs cells through ``window.jupyterapp``'s commands and reads kernel state
with ``kernel.requestExecute``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import nbformat

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}

# JupyterLab's news and update checks would reach the internet; they are turned off in settings and config.
SETTINGS_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}
SERVER_CONFIG = {
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "extension_manager": "readonly",
    }
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_settings_overrides() -> None:
    """Merge the news/update settings into ``{sys.prefix}/share/jupyter/lab/settings/overrides.json``."""
    path = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    merged = {**current, **{k: {**current.get(k, {}), **v} for k, v in SETTINGS_OVERRIDES.items()}}
    if merged != current:
        path.write_text(json.dumps(merged, indent=2))


def write_notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)


@dataclass
class Server:
    """A running ``jupyter lab`` or ``jupyter notebook``."""

    app: str  # "lab" or "notebook"
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        path = f"lab/tree/{name}" if self.app == "lab" else f"notebooks/{name}"
        return f"{self.base_url}/{path}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(app: str, root: Path, extra_args: tuple[str, ...] = ()) -> Server:
    """Start ``jupyter lab`` / ``jupyter notebook`` on a free port; wait until its API answers."""
    install_settings_overrides()
    config_dir = root / ".jupyter-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    port = free_port()
    module, expose = ("jupyterlab", "LabApp") if app == "lab" else ("notebook", "JupyterNotebookApp")
    cmd = [
        sys.executable, "-m", module,
        "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--{expose}.expose_app_in_browser=True",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={root / '.workspaces'}",
        *extra_args,
    ]  # fmt: skip
    # One torch thread per kernel: the models are tiny, and on a small shared machine extra threads only spin.
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir), "PYTHONUNBUFFERED": "1"}
    env["OMP_NUM_THREADS"] = "1"
    # The kernels import the checkout under test (a git worktree), not whatever copy the venv has installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env.pop("ANYWIDGET_HMR", None)
    log_path = root / f"{app}-server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(app, root, port, process, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text()[-3000:]
            raise RuntimeError(f"jupyter {app} exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/api/status", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"jupyter {app} did not answer within 90 s:\n{log_path.read_text()[-3000:]}")


def is_local(url: str) -> bool:
    """True for loopback http(s)/ws(s) URLs and for in-page data:/blob: URLs."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.hostname in LOCAL_HOSTS


# Errors of the apps themselves, independent of any widget: (app, exact message, text its stack must contain).
# Notebook 7.6's shortcuts plugin reads `plugins[id].schema` for a plugin it has not loaded, on every page
# load (reproduced with a notebook that only prints). Only this exact error from the app's bundle passes.
KNOWN_APP_ERRORS = [
    ("notebook", "Cannot read properties of undefined (reading 'schema')", "/static/notebook/notebook_core."),
]


@dataclass
class PageRecord:
    """What a page did that a test must check: every URL requested and every console error."""

    app: str = ""
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)

    def external_requests(self) -> list[str]:
        return [url for url in self.requests if not is_local(url)]

    def page_error(self, error: Any) -> None:
        """Record an uncaught exception of the page (minus the app's own known ones)."""
        message, stack = str(getattr(error, "message", error)), str(getattr(error, "stack", "") or "")
        for app, known, where in KNOWN_APP_ERRORS:
            if app == self.app and message == known and where in stack and "widget.js" not in stack:
                self.tolerated.append(message)
                return
        self.console_errors.append(f"page error: {message}\n{stack[:1500]}")


# JS: a slider dragged at 60 Hz, one "input" event per frame, then "change" on release. Counts the distinct
# results the view drew while the pointer moved (data-seq changes) and how many of those were drag previews,
# then times the release until the result for the final value is on screen (busy false, no preview).
DRAG_AT_60HZ_JS = """
async ([selector, control, values]) => {
  const root = document.querySelector(selector);
  const el = root.querySelector(`[data-control="${control}"]`);
  const before = root.dataset.seq;
  const seen = new Set();
  let previews = 0;
  const observer = new MutationObserver(() => {
    seen.add(root.dataset.seq);
    if (root.dataset.preview === "true") previews += 1;
  });
  observer.observe(root, { attributes: true, attributeFilter: ["data-seq"] });
  const start = performance.now();
  for (let i = 0; i < values.length; i++) {
    const due = start + (i * 1000) / 60;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    el.value = String(values[i]);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
  const end = start + (values.length * 1000) / 60;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - performance.now())));
  seen.delete(before);
  const during = seen.size;
  const released = performance.now();
  el.dispatchEvent(new Event("change", { bubbles: true }));
  await new Promise((resolve, reject) => {
    const done = () => root.dataset.busy === "false" && root.dataset.preview !== "true";
    const poll = () => {
      if (done()) resolve();
      else if (performance.now() - released > 30000) reject(new Error("no final result after the release"));
      else setTimeout(poll, 1);
    };
    poll();
  });
  observer.disconnect();
  seen.delete(before);
  return { during, previews, total: seen.size, settle: performance.now() - released, drag: released - start };
}
"""



# JS run in the page: execute code on the notebook's kernel and return its stdout (errors become exceptions).
KERNEL_EXEC_JS = """
async (code) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, stop_on_error: true, store_history: false });
  let out = "";
  let error = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "stream") out += msg.content.text;
    if (msg.header.msg_type === "error") error = msg.content.ename + ": " + msg.content.evalue;
  };
  await future.done;
  if (error !== null) throw new Error(error);
  return out;
}
"""

# JS: append a cell with `code`, run it (resolves when the kernel has executed it), tag it for locators.
RUN_CELL_JS = """
async ([code, tag]) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  notebook.activeCellIndex = notebook.widgets.length - 1;
  await app.commands.execute("notebook:insert-cell-below");
  const cell = notebook.activeCell;
  cell.model.sharedModel.setSource(code);
  cell.node.dataset.testCell = tag;
  await app.commands.execute("notebook:run-cell");
  return notebook.widgets.indexOf(cell);
}
"""

WAIT_KERNEL_JS = """
async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext) return false;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return Boolean(kernel) && kernel.connectionStatus === "connected" && kernel.status === "idle";
}
"""


def open_notebook(page: Any, server: Server, name: str, timeout_ms: int = 90_000) -> None:
    """Open ``name`` and wait for the app and an idle, connected kernel."""
    page.goto(server.notebook_url(name))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=timeout_ms)
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget; return w && w.sessionContext; }",
        timeout=timeout_ms,
    )
    page.wait_for_function(WAIT_KERNEL_JS, timeout=timeout_ms, polling=250)


def run_cell(page: Any, code: str, tag: str) -> Any:
    """Run ``code`` in a new cell at the end; return a locator of that cell."""
    page.evaluate(RUN_CELL_JS, [code, tag])
    return page.locator(f'[data-test-cell="{tag}"]')


def kernel_exec(page: Any, code: str) -> str:
    """Execute ``code`` on the notebook's kernel (not in a cell); return its stdout."""
    return str(page.evaluate(KERNEL_EXEC_JS, code))


def save_screenshot(target: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path))
    return path


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
