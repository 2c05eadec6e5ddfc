"""attr_widgets: live, linked attribution widgets for PyTorch models in Jupyter.

The torch-only libraries (``attr_widgets.attribution``, ``attr_widgets.projection``,
``attr_widgets.xdnn``) import no widget code; the widgets (``attr_widgets.widgets``) hold traits and
call into them.
"""

from attr_widgets.attribution import Attribution, attribute, check_axioms, methods, predict
from attr_widgets.widgets import AttributionWidget
from attr_widgets.xdnn import is_homogeneous, to_xdnn

__version__ = "0.1.0"

__all__ = [
    "Attribution",
    "AttributionWidget",
    "__version__",
    "attribute",
    "check_axioms",
    "load_ipython_extension",
    "methods",
    "predict",
    "to_xdnn",
    "is_homogeneous",
]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext attr_widgets``: expose the package as ``aw`` in the user namespace."""
    import attr_widgets

    user_ns = getattr(ipython, "user_ns", None)
    if isinstance(user_ns, dict):
        user_ns.setdefault("aw", attr_widgets)
