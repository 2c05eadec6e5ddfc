"""Evaluation metrics for attributions.

- Perturbation curves: :func:`deletion_curve`, :func:`insertion_curve` (RISE).
- Hesse et al.'s keep/remove metrics: :func:`keep_positive_mask` (KPM), :func:`keep_negative_mask` (KNM),
  :func:`keep_absolute_mask` (KAM), :func:`remove_absolute_mask` (RAM), and :func:`keep_remove_curve`.
- Captum's :func:`infidelity` and :func:`sensitivity_max`, seeded and quiet.
- :func:`model_randomization_check`: Adebayo et al.'s cascading parameter randomisation test.
- :func:`erasure_test`: Serrano & Smith's erase-until-the-decision-flips test (2019), and
  :func:`single_removal_flips` for their 2×2 decision-flip table (remove the top item vs a random one).
"""

from ._common import Curve
from .captum_metrics import infidelity, sensitivity_max
from .erasure import (
    ErasureRanking,
    ErasureResult,
    SingleRemovalFlips,
    attention_mask_predictor,
    erasure_test,
    js_divergence,
    single_removal_flips,
)
from .keep_remove import (
    HESSE_FRACTIONS,
    keep_absolute_mask,
    keep_negative_mask,
    keep_positive_mask,
    keep_remove_curve,
    remove_absolute_mask,
)
from .perturbation import deletion_curve, insertion_curve
from .randomization import RandomizationResult, model_randomization_check, spearman

__all__ = [
    "HESSE_FRACTIONS",
    "Curve",
    "ErasureRanking",
    "ErasureResult",
    "RandomizationResult",
    "SingleRemovalFlips",
    "attention_mask_predictor",
    "deletion_curve",
    "erasure_test",
    "infidelity",
    "insertion_curve",
    "js_divergence",
    "keep_absolute_mask",
    "keep_negative_mask",
    "keep_positive_mask",
    "keep_remove_curve",
    "model_randomization_check",
    "remove_absolute_mask",
    "sensitivity_max",
    "single_removal_flips",
    "spearman",
]
