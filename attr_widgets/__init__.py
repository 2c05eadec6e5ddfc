"""attr_widgets: live, linked attribution widgets for PyTorch models in Jupyter.

The torch-only libraries (``attr_widgets.attribution``, ``attr_widgets.projection``,
``attr_widgets.xdnn``) import no widget code; the widgets (``attr_widgets.widgets``) hold traits and
call into them. ``import attr_widgets`` does not import the widgets (nor ipywidgets/anywidget):
``attr_widgets.AttributionWidget`` (or ``CompareWidget``, ``DirectionsWidget``) loads them on first access
(PEP 562).
"""

import typing

from attr_widgets.attribution import Attribution, attribute, check_axioms, methods, predict
from attr_widgets.attribution.xdnn import is_homogeneous, to_xdnn

if typing.TYPE_CHECKING:
    from attr_widgets.widgets import (
        AttributionWidget,
        CompareWidget,
        DirectionsWidget,
        Link,
        TabularAttributionWidget,
        TextAttributionWidget,
        link,
    )

__version__ = "0.1.0"

__all__ = [
    "Attribution",
    "AttributionWidget",
    "CompareWidget",
    "TabularAttributionWidget",
    "TextAttributionWidget",
    "DirectionsWidget",
    "Link",
    "__version__",
    "attribute",
    "check_axioms",
    "load_ipython_extension",
    "unload_ipython_extension",
    "methods",
    "predict",
    "to_xdnn",
    "is_homogeneous",
    "link",
]

# Names resolved on first access, so that the torch-only libraries load without the widget stack.
_LAZY = {
    "AttributionWidget": "attr_widgets.widgets",
    "CompareWidget": "attr_widgets.widgets",
    "DirectionsWidget": "attr_widgets.widgets",
    "TabularAttributionWidget": "attr_widgets.widgets",
    "TextAttributionWidget": "attr_widgets.widgets",
    "Link": "attr_widgets.widgets",
    "link": "attr_widgets.widgets",
}


def __getattr__(name: str) -> typing.Any:
    """Import the widget classes on first access (PEP 562)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Module names plus the lazily imported ones."""
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext attr_widgets``: expose the package as ``aw``; register display formatters of results."""
    import attr_widgets

    user_ns = getattr(ipython, "user_ns", None)
    if isinstance(user_ns, dict):
        user_ns.setdefault("aw", attr_widgets)
    if getattr(ipython, "display_formatter", None) is not None:
        # Static pictures (HTML / PNG) of results, from the widgets' renderers (same colour table).
        from attr_widgets.widgets._render.formatters import register

        register(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext attr_widgets``: remove the display formatters (restoring any registered before)."""
    if getattr(ipython, "display_formatter", None) is not None:
        from attr_widgets.widgets._render.formatters import unregister

        unregister(ipython)
