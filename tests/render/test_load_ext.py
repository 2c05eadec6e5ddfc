"""``%load_ext attr_widgets`` registers static display formatters of the library's results,
and ``%unload_ext`` removes them: in a real kernel (nbclient) and, for the restore, in an IPython shell."""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import numpy as np
import torch
from nbclient import NotebookClient

from attr_widgets.widgets._render.png import decode_png

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import torch
from torch import nn
from attr_widgets.attribution import attribute
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 6 * 6, 3)).eval()
a = attribute(model, torch.rand(1, 1, 6, 6), method='saliency', target=1)
"""


def test_an_attribution_has_html_and_png_after_load_ext_and_not_after_unload() -> None:
    cells = [SETUP, "a", "%load_ext attr_widgets", "a", "%unload_ext attr_widgets", "a"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()

    def data(i: int) -> dict:
        (out,) = [o for o in nb.cells[i].outputs if o.output_type == "execute_result"]
        return out["data"]

    assert set(data(1)) == {"text/plain"}
    loaded = data(3)
    assert {"text/html", "image/png"} <= set(loaded)
    assert "saliency" in loaded["text/html"] and "<script" not in loaded["text/html"].lower()
    pixels = decode_png(base64.b64decode(loaded["image/png"]))
    assert pixels.shape[2] == 4 and pixels.shape[1] == 6 * (320 // 6)  # the 6 × 6 heatmap upscaled
    assert set(data(5)) == {"text/plain"}


def test_unload_restores_a_formatter_registered_before() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from attr_widgets import load_ipython_extension, unload_ipython_extension
    from attr_widgets.attribution import Attribution, attribute

    shell = InteractiveShell.instance()
    html = shell.display_formatter.formatters["text/html"]

    def mine(_: object) -> str:
        return "<p>mine</p>"

    html.for_type(Attribution, mine)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)).eval()
    a = attribute(model, torch.rand(1, 4), method="saliency", target=0)
    try:
        load_ipython_extension(shell)
        shown = shell.display_formatter.format(a)[0]["text/html"]
        assert "<svg" in shown and "x3" in shown  # four feature bars
        unload_ipython_extension(shell)
        assert shell.display_formatter.format(a)[0]["text/html"] == "<p>mine</p>"
    finally:
        html.pop(Attribution, None)
    assert np.isfinite(float(a.values.sum()))
