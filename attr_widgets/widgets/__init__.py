"""Jupyter widgets (anywidget): traits and calls into attr_widgets.attribution, no math of their own."""

from ._attribution_widget import AttributionWidget

__all__ = ["AttributionWidget"]
