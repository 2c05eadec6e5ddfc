"""Jupyter widgets (anywidget): traits and calls into attr_widgets.attribution and .projection, no math."""

from ._attribution_widget import AttributionWidget
from ._compare_widget import CompareWidget
from ._directions_widget import DirectionsWidget
from ._link import Link, LinkWarning, link
from ._tabular_widget import TabularAttributionWidget
from ._text_widget import TextAttributionWidget

__all__ = [
    "AttributionWidget",
    "CompareWidget",
    "DirectionsWidget",
    "Link",
    "LinkWarning",
    "TabularAttributionWidget",
    "TextAttributionWidget",
    "link",
]
