"""The README's generated parts stay true: the methods table is what docs/gen_methods_table.py makes of
``aw.methods()``, and the gallery shows one committed screenshot per widget kind of the tour, under code that
the tour really runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Gallery image -> the tag of the tour cell that draws it (as tests/browser/test_tour.py screenshots it).
GALLERY = {
    "image": "widget-image",
    "text": "widget-text",
    "tabular": "widget-tabular",
    "directions": "widget-directions",
    "compare": "widget-compare",
    "evaluation": "widget-evaluation",
    "dashboard": "widget-dashboard",
}


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_methods_table", ROOT / "docs" / "gen_methods_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gallery_section() -> str:
    return README.split("## Gallery", 1)[1].split("\n## ", 1)[0]


def test_methods_table_in_readme_is_the_generated_one():
    generator = load_generator()
    assert generator.readme_block(README) == generator.methods_table(), (
        "README.md's methods table is stale: run python docs/gen_methods_table.py --write"
    )


def test_methods_table_has_one_row_per_method_with_its_axioms():
    from attr_widgets.attribution import methods

    generator = load_generator()
    rows = [line for line in generator.methods_table().splitlines()[2:]]
    assert [re.match(r"\| `(\w+)` \|", row).group(1) for row in rows] == [str(m) for m in methods()]
    by_name = {re.match(r"\| `(\w+)` \|", row).group(1): row.split(" | ") for row in rows}
    # Spot checks against the seeds: IG satisfies all seven, the gradient fails sensitivity (a) and
    # completeness, DeepLIFT fails implementation invariance (Hesse et al. 2021; the notes' properties table).
    assert by_name["integrated_gradients"][2:9] == ["✓"] * 7
    saliency = by_name["saliency"]
    assert saliency[2] == "✗" and saliency[5] == "✗" and saliency[4] == "✓"
    assert by_name["deeplift"][4] == "✗"


def test_gallery_shows_a_committed_screenshot_per_widget_kind():
    section = gallery_section()
    images = re.findall(r"!\[[^\]]+\]\((docs/gallery/[\w-]+\.png)\)", section)
    assert images == [f"docs/gallery/{kind}.png" for kind in GALLERY]
    for image in images:
        data = (ROOT / image).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) < 300_000, image


def test_gallery_code_is_the_code_of_the_tour():
    """Each snippet's lines (imports aside) appear verbatim in the tour cell that draws the screenshot."""
    tour = nbformat.read(ROOT / "notebooks" / "00_tour.ipynb", as_version=4)
    cells = {tag: c.source for c in tour.cells for tag in c.get("metadata", {}).get("tags", [])}
    section = gallery_section()
    snippets = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(snippets) == len(GALLERY)
    for snippet, tag in zip(snippets, GALLERY.values(), strict=True):
        lines = [line for line in snippet.splitlines() if line and not line.startswith("import ")]
        assert lines, tag
        for line in lines:
            assert line in cells[tag].splitlines(), (tag, line)
