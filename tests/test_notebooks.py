"""Every notebook under notebooks/ runs top to bottom without errors (nbclient, this interpreter's kernel)."""

from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    # "python3" is the native kernel: jupyter_client launches it with this interpreter (sys.executable).
    client = NotebookClient(
        nb, timeout=600, kernel_name=NATIVE_KERNEL_NAME, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    if "Widget(" in "\n".join(c.source for c in nb.cells):
        assert any(WIDGET_MIME in o.get("data", {}) for o in outputs), f"{path.name} displays no widget"
