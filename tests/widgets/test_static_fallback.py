"""The static fallback beside every widget: a notebook executed by a real kernel (nbclient), saved, and
exported by ``jupyter nbconvert --to html`` without a kernel shows each widget's picture as script-free HTML,
escapes token texts and labels, and shows the last result (the display is updated when the result changes)."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

from attr_widgets.widgets._render.png import decode_png

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
EVIL = "<b>&evil"

SETUP = f"""
import sys, time
sys.path.insert(0, {str(TESTS / "browser")!r})
import torch
import attr_widgets as aw
from digits_model import digits_cnn, digits_data
from tabular_model import train_tabular_mlp
torch.manual_seed(0)
cnn = digits_cnn().eval()
_, _, x_test, _ = digits_data()
LABELS = [{EVIL!r}] + [str(i) for i in range(1, 10)]
"""

CELLS = {
    "image": "w = aw.AttributionWidget(cnn, x_test[3], labels=LABELS, target=0, method='saliency')\nw",
    # The picture follows QUIET_S (1 s) after the last result; the cell waits past that so the update is
    # one of its outputs (nbclient records only messages of the cell that is running).
    "update": "w.method = 'integrated_gradients'\nw.wait()\ntime.sleep(1.6)",
    "text": (
        "from attr_widgets.examples import minilm_sentiment_classifier\n"
        "tok, minilm, _ = minilm_sentiment_classifier()\n"
        f"t = aw.TextAttributionWidget(minilm, 'a great {EVIL} film', tokenizer=tok,"
        f" labels=[{EVIL!r}, 'pos'],"
        " n_steps=8, target=0)\nt"
    ),
    "tabular": (
        "tab_model, names, x_train, x_rows = train_tabular_mlp()\nnames = ["
        + repr(EVIL)
        + "] + list(names[1:])\n"
        "tab = aw.TabularAttributionWidget(tab_model, x_rows[0], feature_names=names,"
        " data=x_train, n_steps=8)\ntab"
    ),
    "directions": "d = aw.DirectionsWidget(cnn, layer='1', data=x_test[:64], k=3, labels=LABELS)\nd",
    "compare": (
        "c = aw.CompareWidget(cnn, x_test[3], methods=['saliency', 'integrated_gradients'],"
        " n_steps=8, target=0)\nc"
    ),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, str]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [nbformat.v4.new_code_cell(c) for c in CELLS.values()]
    # JupyterLab saves no widget state by default: the saved notebook's widget views cannot be drawn.
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(ROOT)}},
    ).execute()
    path = tmp_path_factory.mktemp("nb") / "fallback.ipynb"
    nbformat.write(nb, path)
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", str(path)], check=True, capture_output=True
    )
    return nbformat.read(path, as_version=4), path.with_suffix(".html").read_text()


def outputs_of(nb: nbformat.NotebookNode, key: str) -> list[dict]:
    cell = nb.cells[1 + list(CELLS).index(key)]
    return [o for o in cell.outputs if o.output_type == "display_data"]


def output_of(nb: nbformat.NotebookNode, key: str) -> dict:
    """The fallback output (the second of the widget's two)."""
    view, fallback = outputs_of(nb, key)
    return fallback


def exported_outputs(page: str) -> list[str]:
    """The HTML of each output area in nbconvert's page (its own template's scripts are outside them)."""
    soup = BeautifulSoup(page, features="html.parser")
    return [str(div) for div in soup.select("div.jp-OutputArea-output")]


@pytest.mark.parametrize("key", ["image", "text", "tabular", "directions", "compare"])
def test_every_widget_output_carries_a_script_free_picture(exported, key: str) -> None:
    nb, _ = exported
    view, fallback = outputs_of(nb, key)
    # The view's own output is never updated (JupyterLab would build a new view), so the picture is apart.
    assert "application/vnd.jupyter.widget-view+json" in view["data"] and "text/html" not in view["data"]
    data = fallback["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data
    static = data["text/html"]
    assert re.match(r'<div class="aw-static-fallback" data-aw-fallback="[0-9a-f]{32}">', static)
    assert "<script" not in static.lower()
    assert "no result yet" not in static
    if key in ("image", "compare"):
        assert "image/png" in data and '<img src="data:image/png;base64,' in static
    if key == "tabular":
        assert "<svg" in static and "&lt;b&gt;&amp;evil" in static and EVIL not in static
    if key == "directions":
        assert "<svg" in static and "singular values" in static


def test_text_tokens_and_labels_are_escaped_spans(exported) -> None:
    nb, _ = exported
    static = output_of(nb, "text")["data"]["text/html"]
    tokens = re.findall(r'<span class="aw-token"[^>]*>(.*?)</span>', static)
    assert "great" in tokens and "film" in tokens
    assert EVIL not in static and "&lt;b&gt;&amp;evil" in static  # the label in the caption, the token text


def test_the_picture_is_the_last_result_not_the_first(exported) -> None:
    nb, _ = exported
    out = output_of(nb, "image")
    assert "integrated_gradients" in out["data"]["text/html"]  # the update after `w.method = ...`
    pixels = decode_png(base64.b64decode(out["data"]["image/png"]))
    assert pixels.shape[2] == 4 and len(np.unique(pixels.reshape(-1, 4), axis=0)) > 10


def test_nbconvert_without_a_kernel_shows_the_static_html(exported) -> None:
    nb, page = exported
    outputs = [o for o in exported_outputs(page) if "aw-static" in o]
    assert len(outputs) == 5  # one per widget, none drawn as a widget view
    for html_out in outputs:
        assert "<script" not in html_out.lower()
    assert any("<img" in o and 'src="data:image/png;base64,' in o for o in outputs)
    assert any("aw-token" in o and "great" in o for o in outputs)
    assert EVIL not in page
