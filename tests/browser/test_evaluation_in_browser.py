"""The evaluation panel of AttributionWidget in a real JupyterLab 4 through Chromium.

Opening the section computes the deletion and insertion curves; hovering a curve point marks the removed
pixels on the heatmap (its canvas pixels change, and come back when the pointer leaves); "All" draws every
figure with progress; the figures on screen are the kernel's. The session fixture checks that no request
leaves localhost and that the console stays free of errors.
"""

import json

import pytest
from _jupyter import kernel_exec, save_screenshot
from test_widget_in_browser import canvas_stats, show_widget

pytestmark = pytest.mark.browser

ALL_FIGURES = ("deletion", "insertion", "convergence", "sanity", "axioms", "numbers")


@pytest.mark.parametrize("session", ["lab"], indirect=True)
def test_evaluation_panel_curves_hover_and_every_figure(nb):
    page = nb.page
    viewport = page.viewport_size
    # Tall enough for the whole widget: nothing scrolls under the pointer, and screenshots show every figure.
    page.set_viewport_size({"width": 1280, "height": 2200})
    try:
        check_panel(nb, page)
    finally:
        page.set_viewport_size(viewport)


def check_panel(nb, page):
    tag = "evaluation"
    code = "w_eval = AttributionWidget(model, x_test[3], labels=LABELS, n_steps=16, canvas_size=240)\nw_eval"
    root = show_widget(nb, tag, code)
    panel = root.locator("details.aw-eval")
    panel.locator("summary").click()  # opening the section asks for the curves
    for name in ("deletion", "insertion"):
        root.locator(f'[data-chart="{name}"]').wait_for(timeout=60_000)
    page.wait_for_function("(el) => el.dataset.state === 'idle'", arg=panel.element_handle(), timeout=60_000)

    # The curve on screen is the kernel's.
    kernel = json.loads(kernel_exec(
        page, "import json; print(json.dumps(w_eval.evaluation_figures['figures']['deletion']))"
    ))
    auc = float(root.locator('[data-figure="deletion"] .aw-eval-auc').get_attribute("data-auc"))
    assert auc == pytest.approx(kernel["auc"])
    assert root.locator('[data-chart="deletion"] .aw-eval-line').count() == 2  # attribution and random order

    # Hovering a point marks the pixels removed at that fraction on the heatmap; leaving restores it.
    heatmap = root.locator(".aw-heatmap")
    before = canvas_stats(root)["hash"]
    point = 20
    root.locator(f'[data-chart="deletion"] [data-point="{point}"]').hover()
    masked = "(el) => Number(el.dataset.masked) > 0"
    page.wait_for_function(masked, arg=heatmap.element_handle(), timeout=10_000)
    assert int(heatmap.get_attribute("data-masked")) == kernel["counts"][point]
    assert canvas_stats(root)["hash"] != before
    readout = root.locator('[data-figure="deletion"] .aw-eval-readout').inner_text()
    assert f"({kernel['counts'][point]} px)" in readout
    save_screenshot(root, "lab-evaluation-hover")
    root.locator(".aw-title").hover()
    page.wait_for_function("(el) => el.dataset.masked === '0'", arg=heatmap.element_handle(), timeout=10_000)
    assert canvas_stats(root)["hash"] == before

    # "All": progress while it runs, then every figure.
    root.locator('[data-job="all"]').click()
    # The slow figures show progress while the curves already done stay drawn (convergence alone runs 35
    # attributions, so "computing" lasts long enough to be seen).
    progress = """(el) => el.dataset.state === 'computing'
        && el.querySelector('[data-figure="deletion"]') !== null
        && !el.querySelector('[data-control="evaluate-cancel"]').hidden"""
    page.wait_for_function(progress, arg=panel.element_handle(), timeout=30_000)
    page.wait_for_function(
        "(el) => el.querySelectorAll('.aw-eval-card').length === 6 && el.dataset.state === 'idle'",
        arg=panel.element_handle(),
        timeout=120_000,
    )
    for name in ALL_FIGURES:
        assert root.locator(f'[data-figure="{name}"]').count() == 1, name
    axioms = json.loads(
        kernel_exec(page, "print(json.dumps(w_eval.evaluation_figures['figures']['axioms']['rows']))")
    )
    rows = root.locator('[data-figure="axioms"] tbody tr')
    verdicts = rows.evaluate_all("rows => rows.map(r => r.dataset.verdict)")
    assert verdicts == ["pass" if row["passed"] else "fail" for row in axioms]
    layers = int(kernel_exec(page, "print(len(w_eval.evaluation_figures['figures']['sanity']['layers']))"))
    assert root.locator('[data-figure="sanity"] .aw-eval-thumb').count() == layers + 1
    assert root.locator('[data-chart="convergence"] [data-mark="current"]').count() == 1
    assert root.locator(".aw-eval-stale-note").is_hidden()
    save_screenshot(root, "lab-evaluation-all")

    # Another method: the figures are for earlier settings until the panel runs again.
    root.locator('[data-control="method"]').select_option("saliency")
    stale = "(el) => !el.querySelector('.aw-eval-stale-note').hidden"
    page.wait_for_function(stale, arg=panel.element_handle(), timeout=60_000)
    save_screenshot(root, "lab-evaluation-stale")
