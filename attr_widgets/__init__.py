"""attr_widgets: live, linked attribution widgets for PyTorch models in Jupyter."""

__version__ = "0.1.0"

__all__ = ["__version__"]
