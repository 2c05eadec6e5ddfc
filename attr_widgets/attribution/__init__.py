"""Attribution engine (torch + captum only): one verb, ``attribute(model, inputs, method=...)``."""

from . import metrics
from ._api import attribute
from ._applicability import unavailable_methods
from ._batching import AttributionWarning
from ._cache import clear_cache
from ._convergence import convergence
from ._model_state import hook_counts
from ._outputs import predict, select_output
from ._probabilities import OUTPUT_KINDS, detect_output_kind
from ._quadrature import RULES as INTEGRATION_RULES
from ._registry import AXIOMS, MethodInfo, methods
from ._result import Attribution
from .axioms import AxiomCheck, AxiomReport, check_axioms

__all__ = [
    "AXIOMS",
    "Attribution",
    "AttributionWarning",
    "AxiomCheck",
    "AxiomReport",
    "INTEGRATION_RULES",
    "MethodInfo",
    "OUTPUT_KINDS",
    "attribute",
    "check_axioms",
    "clear_cache",
    "convergence",
    "detect_output_kind",
    "hook_counts",
    "methods",
    "metrics",
    "predict",
    "select_output",
    "unavailable_methods",
]
