"""notebooks/00_tour.ipynb (and the lessons 03 and 04) opened in a real JupyterLab 4 and a real Notebook 7,
run top to bottom in Chromium.

Every widget the tour shows must render its result (no error box, no "widget view error"), the page must log
no console error and request nothing beyond localhost, and no cell may print an error. The screenshots of
the widgets (test-artifacts/browser/<app>-tour-<kind>.png) are the ones the README's gallery shows
(docs/gallery/, copied from the JupyterLab run).

The notebooks run on their own server (copies in a temporary root), each in its own kernel (shut down after
its test), so they share no kernel names with the other browser tests.
"""

import shutil

import pytest
from _jupyter import ARTIFACTS, REPO, PageRecord, open_notebook, remove_tree, save_screenshot, start_server
from test_widget_in_browser import WAIT_FOR_SEQ_JS, root_selector

pytestmark = pytest.mark.browser

TOUR = REPO / "notebooks" / "00_tour.ipynb"
# The lessons written with the tour (issue 12); their widgets must render in both apps too.
LESSONS = (REPO / "notebooks" / "03_integrated_gradients.ipynb", REPO / "notebooks" / "04_xdnn.ipynb")
# Cell tag -> the kind of widget the tour shows there (the screenshot's name).
KINDS = {
    "widget-image": "image",
    "widget-text": "text",
    "widget-tabular": "tabular",
    "widget-directions": "directions",
    "widget-compare": "compare",
    "widget-evaluation": "evaluation",
}
DASHBOARD = "widget-dashboard"

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

# Index of the cell tagged `tag` (-1 when none).
TAGGED_CELL_JS = """
(tag) => window.jupyterapp.shell.currentWidget.content.widgets.findIndex(
  (cell) => (cell.model.getMetadata("tags") || []).includes(tag))
"""

# Indices of the code cells whose outputs include a widget.
WIDGET_CELLS_JS = """
() => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const found = [];
  notebook.widgets.forEach((cell, index) => {
    if (cell.model.type !== "code") return;
    const outputs = cell.model.outputs;
    const mimes = [];
    for (let i = 0; i < outputs.length; i++) mimes.push(...Object.keys(outputs.get(i).toJSON().data || {}));
    if (mimes.includes("application/vnd.jupyter.widget-view+json")) found.push(index);
  });
  return found;
}
"""

# Scroll cell `index` into view (JupyterLab 4 renders only visible cells) and mark it for locators.
SHOW_CELL_JS = """
async ([index, mark]) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  await notebook.scrollToItem(index, "start");
  notebook.widgets[index].node.dataset.testCell = mark;
}
"""

SHUTDOWN_KERNEL_JS = "async () => { await window.jupyterapp.shell.currentWidget.sessionContext.shutdown(); }"

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
def app_server(request, tmp_path_factory):
    """A JupyterLab 4 or Notebook 7 server whose root holds copies of the tour and the lessons."""
    app = request.param
    root = tmp_path_factory.mktemp(f"tour-{app}")
    for notebook in (TOUR, *LESSONS):
        shutil.copy(notebook, root / notebook.name)
    server = start_server(app, root)
    yield app, server
    server.stop()


@pytest.fixture
def run_all(app_server, chromium):
    """``run_all(name)``: a fresh page with notebook ``name`` open after "run all" finished -> (page, record).

    After the test: no request left localhost, no console error, and the notebook's kernel is shut down.
    """
    app, server = app_server
    record = PageRecord(app=app)
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    context.on("request", lambda r: record.requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and record.console_errors.append(m.text))
    page.on("pageerror", record.page_error)

    def open_and_run(name):
        # JupyterLab would restore the previous test's notebook (its kernel shut down) next to this one.
        remove_tree(server.root / ".workspaces")
        open_notebook(page, server, name)
        page.evaluate(RUN_ALL_JS)
        page.wait_for_function(ALL_RAN_JS, timeout=240_000, polling=500)
        return page, record

    try:
        yield open_and_run
        external = record.external_requests()
        assert not external, f"requests left localhost in {app}: {external}"
        assert not record.console_errors, f"browser console errors in {app}: {record.console_errors}"
    finally:
        page.evaluate(SHUTDOWN_KERNEL_JS)
        context.close()


def check_rendered(page, index, mark):
    """The widget in cell ``index`` shows a result: no error box, no view error, connected."""
    page.evaluate(SHOW_CELL_JS, [index, mark])
    root = page.locator(root_selector(mark))
    root.wait_for(timeout=60_000)
    page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(mark), 0], timeout=90_000)
    assert root.count() == 1, mark
    assert not root.locator(".aw-error").is_visible(), (mark, root.locator(".aw-error").inner_text())
    assert "widget view error" not in root.inner_text(), mark
    assert root.get_attribute("data-connected") != "false", mark
    return root


def test_tour_runs_and_every_widget_renders(app_server, run_all):
    app = app_server[0]
    page, _ = run_all(TOUR.name)
    assert page.evaluate(ERROR_OUTPUTS_JS) == []
    for tag, kind in KINDS.items():
        index = page.evaluate(TAGGED_CELL_JS, tag)
        assert index >= 0, f"no cell tagged {tag}"
        root = check_rendered(page, index, tag)
        if kind == "evaluation":
            # the cell called w_eval.evaluate(...): its figures are shown without a click, the section open
            root.locator("details.aw-eval[open] .aw-eval-card").first.wait_for(timeout=30_000)
            assert root.locator(".aw-eval-card").count() == 3  # deletion, insertion, sanity
            root = root.locator("details.aw-eval")  # the widget is taller than the page: shoot the panel
            root.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # let the last frame paint before the screenshot
        save_screenshot(root, f"{app}-tour-{kind}")
    check_dashboard(page, app)


def check_dashboard(page, app) -> None:
    """Two linked AttributionWidgets in an HBox: both render; a hover on the left outlines it on the right."""
    index = page.evaluate(TAGGED_CELL_JS, DASHBOARD)
    assert index >= 0, f"no cell tagged {DASHBOARD}"
    page.evaluate(SHOW_CELL_JS, [index, DASHBOARD])
    cell = page.locator(f'[data-test-cell="{DASHBOARD}"]')
    roots = cell.locator(".aw-root")
    roots.nth(1).wait_for(timeout=60_000)
    assert roots.count() == 2
    for i in range(2):
        page.wait_for_function(
            "(el) => Number(el.dataset.seq) > 0 && el.dataset.busy === 'false'",
            arg=roots.nth(i).element_handle(),
            timeout=90_000,
        )
        assert not roots.nth(i).locator(".aw-error").is_visible()
    assert "Link(AttributionWidget#0 ↔ AttributionWidget#1: target, hover)" in cell.inner_text()
    # side by side, not stacked
    left, right = (roots.nth(i).bounding_box() for i in range(2))
    assert right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 2
    box = cell.locator(".widget-hbox, .jupyter-widgets.widget-box").first
    box.scroll_into_view_if_needed()
    canvas = roots.nth(0).locator("canvas.aw-canvas")
    size = canvas.bounding_box()
    canvas.hover(position={"x": 4.5 / 8 * size["width"], "y": 3.5 / 8 * size["height"]})  # pixel (4, 3)
    mark = roots.nth(1).locator(".aw-pixel-mark")
    page.wait_for_function(
        "(el) => !el.hidden && el.dataset.x === '4' && el.dataset.y === '3'",
        arg=mark.element_handle(),
        timeout=5_000,
    )
    # a page screenshot of the box's area: a locator's screenshot scrolls, moving the pointer off the canvas
    page.screenshot(path=str(ARTIFACTS / f"{app}-tour-dashboard.png"), clip=box.bounding_box())
    page.mouse.move(0, 0)


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_and_its_widgets_render(run_all, lesson):
    page, _ = run_all(lesson.name)
    assert page.evaluate(ERROR_OUTPUTS_JS) == []
    cells = page.evaluate(WIDGET_CELLS_JS)
    assert cells, f"{lesson.name} shows no widget"
    for index in cells:
        check_rendered(page, index, f"{lesson.stem}-{index}")
