"""Attribution engine (torch + captum only): one verb, ``attribute(model, inputs, method=...)``."""

from ._api import attribute
from ._batching import AttributionWarning
from ._cache import clear_cache
from ._convergence import convergence
from ._model_state import hook_counts
from ._outputs import predict, select_output
from ._quadrature import RULES as INTEGRATION_RULES
from ._registry import AXIOMS, MethodInfo, methods
from ._result import Attribution
from .axioms import AxiomCheck, AxiomReport, check_axioms
from .metrics import (
    Curve,
    ErasureResult,
    RandomizationResult,
    attention_mask_predictor,
    deletion_curve,
    erasure_test,
    infidelity,
    insertion_curve,
    js_divergence,
    keep_absolute_mask,
    keep_negative_mask,
    keep_positive_mask,
    keep_remove_curve,
    model_randomization_check,
    remove_absolute_mask,
    sensitivity_max,
)

__all__ = [
    "AXIOMS",
    "Attribution",
    "AttributionWarning",
    "AxiomCheck",
    "AxiomReport",
    "Curve",
    "ErasureResult",
    "INTEGRATION_RULES",
    "MethodInfo",
    "RandomizationResult",
    "attention_mask_predictor",
    "attribute",
    "check_axioms",
    "clear_cache",
    "convergence",
    "deletion_curve",
    "erasure_test",
    "hook_counts",
    "infidelity",
    "insertion_curve",
    "js_divergence",
    "keep_absolute_mask",
    "keep_negative_mask",
    "keep_positive_mask",
    "keep_remove_curve",
    "methods",
    "model_randomization_check",
    "predict",
    "remove_absolute_mask",
    "select_output",
    "sensitivity_max",
]
