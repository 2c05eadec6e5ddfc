"""IPython display formatters for the library's results.

``%load_ext attr_widgets`` registers them, ``%unload_ext attr_widgets`` removes them and restores whatever was
registered for those types before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attr_widgets.widgets._render import results

# (mime type, type) → the formatter that was registered before ours (None: none).
_previous: dict[tuple[str, type], Callable[..., Any] | None] = {}


def _table() -> list[tuple[str, type, Callable[[Any], Any]]]:
    from attr_widgets.attribution import Attribution
    from attr_widgets.attribution.metrics import Curve, ErasureResult, RandomizationResult
    from attr_widgets.projection import Projection

    return [
        ("text/html", Attribution, results.attribution_html),
        ("image/png", Attribution, results.attribution_png),
        ("text/html", Projection, results.projection_html),
        ("text/html", ErasureResult, results.erasure_html),
        ("text/html", Curve, results.curve_html),
        ("text/html", RandomizationResult, results.randomization_html),
    ]


def register(ipython: Any) -> None:
    formatters = ipython.display_formatter.formatters
    for mime, cls, func in _table():
        if (mime, cls) in _previous:
            continue  # loaded twice: keep the first saved formatter
        _previous[(mime, cls)] = formatters[mime].for_type(cls, func)


def unregister(ipython: Any) -> None:
    formatters = ipython.display_formatter.formatters
    for (mime, cls), old in list(_previous.items()):
        if old is None:
            formatters[mime].pop(cls, None)
        else:
            formatters[mime].for_type(cls, old)
        del _previous[(mime, cls)]
