"""Fixtures for the browser tests: one server and one page per app (JupyterLab 4, Notebook 7) per session.

Without /usr/bin/chromium (or Playwright) the tests skip with a loud reason; under CI=true they fail instead.
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _jupyter import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    PageRecord,
    Server,
    is_local,
    open_notebook,
    run_cell,
    start_server,
    write_notebook,
)
from digits_model import train_digits_cnn  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
NOTEBOOK = "widget_test.ipynb"

# The notebook's first cell: the digits CNN (trained once per session by the fixture below), the widget, and a
# model that fails on demand (for the error path).
SETUP_CELL = """\
import sys
sys.path.insert(0, {here!r})
import torch
from digits_model import digits_cnn, LABELS
from attr_widgets.widgets import AttributionWidget

saved = torch.load({weights!r})
model = digits_cnn()
model.load_state_dict(saved["state"])
model.eval()
x_test, y_test = saved["x"], saved["y"]


class Fragile(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.fail = False

    def forward(self, x):
        if self.fail:
            raise RuntimeError("the fragile model failed on purpose")
        return self.inner(x)

print("setup done")
"""


def _require_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing (pip install playwright)"
    if problem is None:
        return
    message = f"BROWSER TESTS NOT RUN: {problem}. They run in CI, where this is a failure (CI=true)."
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def weights_path(tmp_path_factory):
    """The digits CNN trained once for the whole session, saved for the kernels to load."""
    model, x_test, y_test = train_digits_cnn()
    path = tmp_path_factory.mktemp("digits") / "digits_cnn.pt"
    torch.save({"state": model.state_dict(), "x": x_test, "y": y_test}, path)
    return path


@pytest.fixture(scope="session")
def chromium():
    _require_browser()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class Session:
    """A page on a running app with the setup cell executed."""

    app: str
    server: Server
    page: object
    record: PageRecord

    def cell(self, code: str, tag: str):
        return run_cell(self.page, code, tag)


@pytest.fixture(scope="session", params=["lab", "notebook"])
def session(request, chromium, weights_path, tmp_path_factory):
    app = request.param
    root = tmp_path_factory.mktemp(f"{app}-root")
    write_notebook(root / NOTEBOOK, [SETUP_CELL.format(here=str(HERE), weights=str(weights_path))])
    server = start_server(app, root)
    record = PageRecord(app=app)
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    context.on("request", lambda r: record.requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and record.console_errors.append(m.text))
    page.on("pageerror", record.page_error)
    try:
        open_notebook(page, server, NOTEBOOK)
        page.evaluate(
            """async () => {
                const notebook = window.jupyterapp.shell.currentWidget.content;
                notebook.activeCellIndex = 0;
                await window.jupyterapp.commands.execute("notebook:run-cell");
            }"""
        )
        yield Session(app, server, page, record)
    finally:
        context.close()
        server.stop()


@pytest.fixture
def nb(session):
    """The session's page; after each test: no request left localhost, no console error appeared."""
    first_request, first_error = len(session.record.requests), len(session.record.console_errors)
    yield session
    external = [u for u in session.record.requests[first_request:] if not is_local(u)]
    errors = session.record.console_errors[first_error:]
    assert not external, f"requests left localhost in {session.app}: {external}"
    assert not errors, f"browser console errors in {session.app}: {errors}"
