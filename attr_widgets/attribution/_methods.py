"""Import the method families once: each ``_methods_*`` module registers its methods in ``_registry``.

``_registry`` is a leaf (it imports nothing of the package); this module is what fills it. The import order
is the order of ``methods()``.
"""

from . import (
    _methods_gradient,
    _methods_layer,
    _methods_layer_family,
    _methods_neuron,
    _methods_path,
    _methods_perturbation,
    _methods_rollout,
)

__all__ = [
    "_methods_gradient",
    "_methods_layer",
    "_methods_layer_family",
    "_methods_neuron",
    "_methods_path",
    "_methods_perturbation",
    "_methods_rollout",
]
