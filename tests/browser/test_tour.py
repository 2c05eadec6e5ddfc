"""notebooks/00_tour.ipynb opened in a real JupyterLab 4 and a real Notebook 7, run top to bottom in Chromium.

Every widget the tour shows must render its result (no error box, no "widget view error"), the page must log
no console error and request nothing beyond localhost, and no cell may print an error. The screenshots of
the widgets (test-artifacts/browser/<app>-tour-<kind>.png) are the ones the README's gallery shows
(docs/gallery/, copied from the JupyterLab run).

The tour runs on its own server and kernel (a copy of the notebook in a temporary root), so it shares no
kernel names with the other browser tests.
"""

import shutil

import pytest
from _jupyter import REPO, PageRecord, open_notebook, save_screenshot, start_server
from test_widget_in_browser import WAIT_FOR_SEQ_JS, root_selector

pytestmark = pytest.mark.browser

TOUR = REPO / "notebooks" / "00_tour.ipynb"
# Cell tag -> the kind of widget the tour shows there (the screenshot's name).
KINDS = {
    "widget-image": "image",
    "widget-text": "text",
    "widget-tabular": "tabular",
    "widget-directions": "directions",
}

RUN_ALL_JS = """
async () => {
  const app = window.jupyterapp;
  await app.commands.execute("notebook:run-all-cells");
}
"""

# True once every code cell has run and the kernel is idle again.
ALL_RAN_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const code = panel.content.widgets.filter((cell) => cell.model.type === "code");
  const ran = code.every((cell) => cell.model.executionCount !== null);
  return Boolean(kernel) && kernel.status === "idle" && ran;
}
"""

# Mark the cell tagged `tag` for locators, scroll it into view (JupyterLab 4 renders only visible cells) and
# return its index.
SHOW_TAGGED_CELL_JS = """
async (tag) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const index = notebook.widgets.findIndex((cell) => (cell.model.getMetadata("tags") || []).includes(tag));
  if (index < 0) return -1;
  await notebook.scrollToItem(index, "start");
  notebook.widgets[index].node.dataset.testCell = tag;
  return index;
}
"""

# Text of every error output and stderr stream in the notebook.
ERROR_OUTPUTS_JS = """
() => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const found = [];
  for (const cell of notebook.widgets) {
    if (cell.model.type !== "code") continue;
    const outputs = cell.model.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const output = outputs.get(i).toJSON();
      if (output.output_type === "error" || (output.output_type === "stream" && output.name === "stderr")) {
        found.push(JSON.stringify(output).slice(0, 800));
      }
    }
  }
  return found;
}
"""


@pytest.fixture(scope="module", params=["lab", "notebook"])
def tour(request, chromium, tmp_path_factory):
    """A page with 00_tour.ipynb open, after "run all" has finished; yields (app, page, record)."""
    app = request.param
    root = tmp_path_factory.mktemp(f"tour-{app}")
    shutil.copy(TOUR, root / TOUR.name)
    server = start_server(app, root)
    record = PageRecord(app=app)
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    context.on("request", lambda r: record.requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and record.console_errors.append(m.text))
    page.on("pageerror", record.page_error)
    try:
        open_notebook(page, server, TOUR.name)
        page.evaluate(RUN_ALL_JS)
        page.wait_for_function(ALL_RAN_JS, timeout=240_000, polling=500)
        yield app, page, record
    finally:
        context.close()
        server.stop()


def test_tour_runs_and_every_widget_renders(tour):
    app, page, record = tour
    assert page.evaluate(ERROR_OUTPUTS_JS) == []
    for tag, kind in KINDS.items():
        assert page.evaluate(SHOW_TAGGED_CELL_JS, tag) >= 0, f"no cell tagged {tag}"
        root = page.locator(root_selector(tag))
        root.wait_for(timeout=60_000)
        page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), 0], timeout=90_000)
        assert root.count() == 1, tag
        assert not root.locator(".aw-error").is_visible(), (tag, root.locator(".aw-error").inner_text())
        assert "widget view error" not in root.inner_text(), tag
        assert root.get_attribute("data-connected") != "false", tag
        page.wait_for_timeout(300)  # let the last frame paint before the screenshot
        save_screenshot(root, f"{app}-tour-{kind}")
    assert not record.external_requests(), f"requests left localhost in {app}: {record.external_requests()}"
    assert not record.console_errors, f"browser console errors in {app}: {record.console_errors}"
