"""The widget core in a real browser: the progress bar and cancel button, and the disconnected state.

This module runs after test_widget_in_browser.py (same session); the restart test re-runs the setup cell so
that any later test finds the kernel as it was.
"""

import time

import pytest
from _jupyter import kernel_exec, save_screenshot
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


def test_kernel_restart_shows_disconnected(nb):
    tag = "restart"
    root = show_widget(nb, tag, f"w_{tag} = AttributionWidget(model, x_test[6], labels=LABELS)\nw_{tag}")
    nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel).dataset.connected === 'false'",
        arg=root_selector(tag),
        timeout=60_000,
    )
    assert "Disconnected" in root.locator(".aw-state").inner_text()
    assert root.locator('[data-control="method"]').is_disabled()
    save_screenshot(root, f"{nb.app}-disconnected")
    # Put the session back as the other tests expect it: run the setup cell again.
    nb.page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            await panel.sessionContext.ready;
            panel.content.activeCellIndex = 0;
            await window.jupyterapp.commands.execute("notebook:run-cell");
        }"""
    )
    deadline = time.monotonic() + 60
    while "LABELS" not in kernel_exec(nb.page, "print('LABELS' if 'LABELS' in globals() else '')"):
        assert time.monotonic() < deadline
        time.sleep(1)
