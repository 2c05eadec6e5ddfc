"""Jupyter widgets (anywidget): traits and calls into attr_widgets.attribution, no math of their own."""

from ._attribution_widget import AttributionWidget
from ._text_widget import TextAttributionWidget

__all__ = ["AttributionWidget", "TextAttributionWidget"]
