"""Feature bars (TabularAttributionWidget) on the breast-cancer MLP, in JupyterLab 4 and Notebook 7."""

import pytest
from _jupyter import kernel_exec, save_screenshot
from test_widget_in_browser import WAIT_FOR_SEQ_JS, root_selector

pytestmark = pytest.mark.browser

# Names of their own: the session's kernel is shared, and later tests use its `model`, `x_test` and `LABELS`.
SHOW = """
from tabular_model import LABELS as TAB_LABELS, train_tabular_mlp
tab_mlp, tab_names, tab_train, tab_test = train_tabular_mlp()
w_{tag} = AttributionWidget(tab_mlp, tab_test[0], feature_names=tab_names, data=tab_train, labels=TAB_LABELS)
w_{tag}
"""


def wait_for_result(nb, tag, after):
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), after], timeout=90_000)


def test_bars_render_with_names_and_values_and_follow_the_method_from_the_browser(nb):
    tag = "tabular"
    cell = nb.cell(f"# {tag}\n{SHOW.format(tag=tag)}", tag)
    root = cell.locator(".aw-root")
    root.wait_for(timeout=120_000)
    wait_for_result(nb, tag, 0)
    rows = root.locator(".aw-bar-row")
    assert rows.count() == 11  # the top 10 and "the other 20 features"
    names = root.locator(".aw-bar-name").all_inner_texts()
    assert names[-1] == "the other 20 features"
    expected = kernel_exec(nb.page, f"print(list(w_{tag}.feature_names))")
    assert all(name in expected for name in names[:-1]), names
    values = root.locator(".aw-bar-value").all_inner_texts()
    assert all(v.strip() for v in values[:-1]) and values[-1] == ""
    fills = root.locator(".aw-bar-fill").evaluate_all("(els) => els.map((e) => e.style.background)")
    assert len(set(fills)) >= 5
    # the bars' order is the Python side's |feature_scores| order
    top = kernel_exec(
        nb.page,
        f"import numpy as np\nprint(w_{tag}.feature_names[int(np.argmax(np.abs(w_{tag}.feature_scores)))])",
    )
    assert names[0] == top.strip()
    save_screenshot(root, f"{nb.app}-tabular-bars")

    seq = int(root.get_attribute("data-seq"))
    root.locator('[data-control="method"]').select_option("saliency")
    wait_for_result(nb, tag, seq)
    answer = kernel_exec(nb.page, f"print(w_{tag}.method, w_{tag}.result['method'])")
    assert answer.strip() == "saliency saliency"
    assert root.locator(".aw-title").inner_text().startswith("Saliency")
    first = kernel_exec(
        nb.page,
        f"print(w_{tag}.feature_names[int(np.argmax(np.abs(w_{tag}.feature_scores)))])",
    )
    assert root.locator(".aw-bar-name").first.inner_text() == first.strip()

    # a narrow pane: the bars stack above the controls and nothing sticks out of the widget
    root.evaluate("(el) => { el.style.width = '380px'; }")
    overflow = root.evaluate(
        "(el) => [...el.querySelectorAll('.aw-bar-row > *')]"
        ".filter((c) => c.getBoundingClientRect().right > el.getBoundingClientRect().right + 0.5).length"
    )
    assert overflow == 0
    save_screenshot(root, f"{nb.app}-tabular-narrow")
