"""The static fallback output in a real JupyterLab 4 / Notebook 7.

Hidden while the widget's live view is on the page (one picture, not two; the view is never rebuilt by an
update of the picture), shown in place of the view when a saved, trusted notebook is reopened without the
kernel that held the widget ("model not found").
"""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from _jupyter import PageRecord, kernel_exec, open_notebook, save_screenshot, start_server
from nbclient import NotebookClient

pytestmark = pytest.mark.browser
HERE = Path(__file__).resolve().parent

VISIBLE_JS = "(el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; }"


def test_the_live_view_hides_its_fallback_and_survives_an_update(nb) -> None:
    tag = "fallback-live"
    cell = nb.cell(
        f"# {tag}\nw_fb = AttributionWidget(model, x_test[2], labels=LABELS, method='saliency')\nw_fb", tag
    )
    root = cell.locator(".aw-root")
    root.wait_for(timeout=60_000)
    fallback = cell.locator("[data-aw-fallback]")
    fallback.wait_for(state="attached", timeout=60_000)
    fid = kernel_exec(nb.page, "print(w_fb.fallback_id)").strip()
    assert fallback.get_attribute("data-aw-fallback") == fid and len(fid) == 32
    assert not fallback.evaluate(VISIBLE_JS)
    # the whole output row is gone, not only its content: the cell shows one picture
    rows = cell.locator(".jp-OutputArea-child")
    shown = [r for r in rows.all() if r.evaluate(VISIBLE_JS)]
    assert len(shown) == 1 and shown[0].locator(".aw-root").count() == 1

    # a new result updates the fallback output (kernel side) and leaves the live view's DOM in place
    root.evaluate("(el) => { el.dataset.marker = 'same-node'; }")
    seq = int(root.get_attribute("data-seq"))
    kernel_exec(nb.page, "w_fb.method = 'integrated_gradients'\nw_fb.wait()\nw_fb._fallback.flush()")
    nb.page.wait_for_function(
        "([sel, seq]) => { const r = document.querySelector(sel); return r && Number(r.dataset.seq) > seq; }",
        arg=[f'[data-test-cell="{tag}"] .aw-root', seq],
        timeout=60_000,
    )
    cell.locator("[data-aw-fallback] >> text=integrated_gradients").wait_for(state="attached", timeout=30_000)
    assert root.get_attribute("data-marker") == "same-node"
    assert cell.locator(".aw-root").count() == 1
    assert not cell.locator("[data-aw-fallback]").evaluate(VISIBLE_JS)


SETUP = """
import sys
sys.path.insert(0, {here!r})
import torch
import attr_widgets as aw
from digits_model import digits_cnn, digits_data
torch.manual_seed(0)
cnn = digits_cnn().eval()
_, _, x_test, _ = digits_data()
"""


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_a_reopened_trusted_notebook_shows_the_picture_where_the_view_is_lost(
    chromium, tmp_path, app: str
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP.format(here=str(HERE))),
        nbformat.v4.new_code_cell("w = aw.AttributionWidget(cnn, x_test[3], method='saliency')\nw"),
    ]
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=False).execute()
    path = tmp_path / "reopen.ipynb"
    nbformat.write(nb, path)
    # The user's own notebook is trusted (signed): JupyterLab then prefers the widget renderer.
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(path)], check=True, capture_output=True)

    server = start_server(app, tmp_path)
    record = PageRecord(app=app)
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and record.console_errors.append(m.text))
    try:
        open_notebook(page, server, path.name)
        fallback = page.locator("[data-aw-fallback]")
        fallback.wait_for(state="visible", timeout=60_000)
        page.locator("text=model not found").wait_for(timeout=30_000)
        img = fallback.locator("img")
        assert img.count() == 1 and img.evaluate("(i) => i.naturalWidth") > 0
        assert "AttributionWidget · saliency" in fallback.inner_text()
        save_screenshot(page.locator(".jp-Cell").nth(1), f"{app}-fallback-reopened")
    finally:
        context.close()
        server.stop()
