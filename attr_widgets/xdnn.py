"""Re-export of :mod:`attr_widgets.attribution.xdnn` (X-DNNs: bias-free, homogeneous networks)."""

from attr_widgets.attribution.xdnn import (
    BatchNormScale,
    XDNNResult,
    homogeneity_errors,
    is_homogeneous,
    to_xdnn,
)

__all__ = ["BatchNormScale", "XDNNResult", "homogeneity_errors", "is_homogeneous", "to_xdnn"]
