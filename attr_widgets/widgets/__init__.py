"""Jupyter widgets (anywidget): traits and calls into attr_widgets.attribution, no math of their own."""

from ._attribution_widget import AttributionWidget
from ._tabular_widget import TabularAttributionWidget
from ._text_widget import TextAttributionWidget

__all__ = ["AttributionWidget", "TabularAttributionWidget", "TextAttributionWidget"]
