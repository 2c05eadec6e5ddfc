"""The widget core in a real browser: the progress bar, the cancel button and recompute after a cancel."""

import time

import pytest
from _jupyter import WAIT_KERNEL_JS, kernel_exec, save_screenshot
from test_widget_in_browser import root_selector, show_widget

pytestmark = pytest.mark.browser

SLOW = """
class Slow(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.delay = 0.0
    def forward(self, x):
        time.sleep(self.delay)
        return self.inner(x)

import time
slow = Slow(model)
w_{tag} = AttributionWidget(
    slow, x_test[4], labels=LABELS, method="saliency", n_steps=240, internal_batch_size=8
)
slow.delay = 0.15
w_{tag}
"""


def test_progress_bar_and_cancel_button(nb):
    tag = "progress"
    root = show_widget(nb, tag, SLOW.format(tag=tag))
    root.locator('[data-control="method"]').select_option("integrated_gradients")
    bar = root.locator(".aw-progress")
    bar.wait_for(state="visible", timeout=20_000)
    nb.page.wait_for_function(
        "(sel) => parseFloat(document.querySelector(sel + ' .aw-progress-fill').style.width) > 0",
        arg=root_selector(tag),
        timeout=20_000,
    )
    assert "computing" in root.locator(".aw-busy-text").inner_text()
    save_screenshot(root, f"{nb.app}-progress")
    start = time.monotonic()
    root.locator('[data-control="cancel"]').click()
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel).dataset.activity === 'cancelled'", arg=root_selector(tag)
    )
    assert time.monotonic() - start < 2.0
    assert "Cancelled" in root.locator(".aw-state").inner_text()
    assert root.get_attribute("data-busy") == "false"
    out = kernel_exec(nb.page, f"print(w_{tag}.activity['state'], w_{tag}.result['method'])").strip()
    assert out == "cancelled saliency"
    save_screenshot(root, f"{nb.app}-cancelled")
    # Recompute after the cancel, with a fast model again.
    kernel_exec(nb.page, "slow.delay = 0.0")
    root.locator('[data-control="recompute"]').click()
    nb.page.wait_for_function(
        "(sel) => { const r = document.querySelector(sel); return r.dataset.activity === 'idle' && "
        "r.dataset.busy === 'false'; }",
        arg=root_selector(tag),
        timeout=30_000,
    )
    assert root.locator(".aw-title").inner_text() == "Integrated Gradients"


RESTART_KERNEL_JS = """
async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.sessionContext.session.kernel.restart();
}
"""

RERUN_SETUP_JS = """
async () => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  notebook.activeCellIndex = 0;
  await window.jupyterapp.commands.execute("notebook:run-cell");
}
"""


def test_kernel_restart_shows_disconnected_and_disables_the_controls(nb):
    """Runs last in this module: it restarts the session's kernel, then runs the setup cell again."""
    tag = "restart"
    root = show_widget(nb, tag, f"w_{tag} = AttributionWidget(model, x_test[5], labels=LABELS)\nw_{tag}")
    assert root.get_attribute("data-connected") == "true"
    try:
        nb.page.evaluate(RESTART_KERNEL_JS)
        nb.page.wait_for_function(
            "(sel) => document.querySelector(sel).dataset.connected === 'false'",
            arg=root_selector(tag),
            timeout=30_000,
        )
        state = root.locator(".aw-state")
        assert state.get_attribute("data-state") == "disconnected"
        assert "Disconnected from the kernel" in state.inner_text()
        # every control that needs the kernel is off; the Export menu still saves the (greyed) picture
        controls = root.locator("button, input, select")
        assert controls.count() > 5
        for i in range(controls.count()):
            in_export = controls.nth(i).evaluate("(c) => c.closest('.aw-export') !== null")
            assert controls.nth(i).is_disabled() != in_export
        # The last heatmap stays, greyed: the user still sees what it showed.
        assert "aw-disconnected" in (root.get_attribute("class") or "")
        save_screenshot(root, f"{nb.app}-disconnected")
    finally:
        nb.page.wait_for_function(WAIT_KERNEL_JS, timeout=90_000, polling=250)
        nb.page.evaluate(RERUN_SETUP_JS)
        kernel_exec(nb.page, "print(model is not None)")
