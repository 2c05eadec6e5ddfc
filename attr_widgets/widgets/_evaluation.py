"""The evaluation panel's figures for the example and settings on screen, from the engine's own functions.

- Deletion and insertion curves (Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for Explanation of
  Black-box Models", 2018): the target's probability as pixels are removed from (inserted into) the image in
  attribution order, with a random order as the reference.
- Convergence: |delta| against n_steps per integration rule (``attribute.convergence``).
- Sanity check (Adebayo et al., "Sanity Checks for Saliency Maps", 2018): cascading model-parameter
  randomisation, rank correlation with the original map per randomised layer, and the randomised maps.
- Axiom report (Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep Networks", 2017): ``check_axioms``
  next to the theoretical table of the method.
- Infidelity and max-sensitivity (Yeh et al., "On the (In)fidelity and Sensitivity of Explanations", 2019).

Each figure is a pair: the library's result object (returned by ``w.evaluate``) and plain JSON-able data
for the view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from attr_widgets.attribution import Attribution, check_axioms, convergence, methods
from attr_widgets.attribution._baselines import make_baseline
from attr_widgets.attribution.metrics import (
    deletion_curve,
    infidelity,
    insertion_curve,
    model_randomization_check,
    sensitivity_max,
)

from ._serialize import binary_array, channel_sum

EVALUATIONS: tuple[str, ...] = (
    "deletion", "insertion", "convergence", "sanity", "axioms", "infidelity", "sensitivity",
)  # fmt: skip
CURVE_STEPS = 50  # 51 points from 0 to 1
CURVE_BASELINES = {"deletion": "zeros", "insertion": "blur"}  # RISE: delete to black, insert into a blur
SURVIVES_THRESHOLD = 0.5  # |rank correlation| of |map| after every layer is randomised above this: flagged
CONVERGENCE_METHODS = ("integrated_gradients", "layer_integrated_gradients")
DEFAULT_RULE = "gausslegendre"  # attribute()'s default integration, which the widget uses
SEED = 0

MEANINGS = {
    "infidelity": "How badly the map, read as a linear model, predicts the score change under small random "
    "perturbations: E[(Iᵀa − (f(x) − f(x − I)))²]; lower is better.",
    "sensitivity": "How much the map changes, relative to its norm, when the input moves by at most "
    "0.02 per pixel: max ‖A(x + δ) − A(x)‖ / ‖A(x)‖; lower is better.",
}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Subject:
    """What is evaluated: the model, the input and the attribution on screen with its settings."""

    model: nn.Module
    inputs: torch.Tensor
    attribution: Attribution
    controls: dict[str, Any]
    output: Any
    # Options the method on screen was called with beyond the controls (a CompareWidget's method_options,
    # Grad-CAM's layer): the sanity check and max-sensitivity recompute the map with them.
    method_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> int:
        target = self.attribution.target
        return int(target[0]) if isinstance(target, torch.Tensor) else int(self.controls["target"])

    @property
    def method(self) -> str:
        return str(self.controls["method"])

    def attribute_options(self) -> dict[str, Any]:
        """The settings on screen, as ``attribute`` options (the method and target passed separately)."""
        return {"baseline": self.controls["baseline"], "n_steps": int(self.controls["n_steps"]),
                "output": self.output, **self.method_options}  # fmt: skip

    def pixel_map(self) -> torch.Tensor:
        """``[1, 1, H, W]``: the heatmap on screen (channel sum), so whole pixels are removed or inserted."""
        return self.attribution.values.detach().sum(dim=1, keepdim=True)


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def removal_order(pixel_map: torch.Tensor) -> list[int]:
    """Flat pixel indices in the order the curves remove them: decreasing attribution, ties by position.

    The engine's ``ranks`` (a stable descending sort); the view marks the first ``count`` of them.
    """
    return torch.argsort(pixel_map.flatten(), descending=True, stable=True).tolist()


def curve_figure(name: str, subject: Subject) -> tuple[Any, dict[str, Any]]:
    """Deletion or insertion: the engine's ``Curve`` in attribution order and in a random order."""
    function = deletion_curve if name == "deletion" else insertion_curve
    pixel_map = subject.pixel_map()
    common = {"target": subject.target, "baseline": CURVE_BASELINES[name], "steps": CURVE_STEPS,
              "output": subject.output}  # fmt: skip
    result = function(subject.model, subject.inputs, pixel_map, **common)
    random_map = torch.rand(pixel_map.shape, generator=torch.Generator().manual_seed(SEED)).to(pixel_map)
    reference = function(subject.model, subject.inputs, random_map, **common)
    features = pixel_map[0].numel()
    fractions = result.fractions.tolist()
    return result, {
        "name": name,
        "score": result.score,
        "baseline": CURVE_BASELINES[name],
        "fractions": fractions,
        "counts": [round(f * features) for f in fractions],
        "scores": result.scores[0].tolist(),
        "auc": float(result.auc[0]),
        "random_scores": reference.scores[0].tolist(),
        "random_auc": float(reference.auc[0]),
        "order": removal_order(pixel_map),
        "better": "lower" if name == "deletion" else "higher",
    }


def convergence_figure(subject: Subject, progress: Progress) -> tuple[Any, dict[str, Any]]:
    """|delta| vs n_steps per integration rule; not applicable to a method without a quadrature."""
    if subject.method not in CONVERGENCE_METHODS:
        reason = f"{subject.method} has no integration rule: convergence applies to Integrated Gradients."
        return None, {"applicable": False, "reason": reason}
    options = subject.attribute_options()
    n_steps = options.pop("n_steps")  # swept
    data = convergence(subject.model, subject.inputs, method=subject.method, target=subject.target,
                       progress=progress, **options)  # fmt: skip
    current = {"rule": DEFAULT_RULE, "n_steps": n_steps}
    return data, {"applicable": True, "rules": data, "current": current}


def sanity_figure(subject: Subject, progress: Progress) -> tuple[Any, dict[str, Any]]:
    """Cascading randomisation from the output layer: rank correlations and the randomised maps."""
    result = model_randomization_check(
        subject.model, subject.inputs, method=subject.method, target=subject.target, cascading=True,
        seed=SEED, keep_maps=True, progress=progress, cache=False, **subject.attribute_options(),
    )  # fmt: skip
    assert result.maps is not None
    signed = [_finite(float(v[0])) for v in result.spearman]
    absolute = [_finite(float(v[0])) for v in result.spearman_abs]
    last = absolute[-1]
    survives = last is not None and abs(last) > SURVIVES_THRESHOLD
    return result, {
        "layers": list(result.layers),
        "spearman": signed,
        "spearman_abs": absolute,
        "maps": [binary_array(channel_sum(m)) for m in result.maps],
        "survives": survives,
        "threshold": SURVIVES_THRESHOLD,
    }


def _baseline_example(subject: Subject) -> torch.Tensor:
    return make_baseline(subject.controls["baseline"], subject.inputs)[0]


def axioms_figure(subject: Subject, progress: Progress) -> tuple[Any, dict[str, Any]]:
    """``check_axioms`` on the user's model beside the method's theoretical table."""
    options = subject.attribute_options()
    report = check_axioms(subject.model, subject.inputs, method=subject.method, target=subject.target,
                          baseline=_baseline_example(subject), n_steps=options["n_steps"],
                          output=subject.output, seed=SEED, progress=progress)  # fmt: skip
    theory = next((dict(m.axioms) for m in methods() if m == subject.method), {})
    rows = []
    for name, check in report.checks.items():
        rows.append({"axiom": name, "passed": check.passed, "measured": _finite(check.measured),
                     "tolerance": check.tolerance, "measure": check.measure, "detail": check.detail,
                     "theory": theory.get(name)})  # fmt: skip
    return report, {"method": subject.method, "source": theory.get("source", ""), "rows": rows}


def infidelity_figure(subject: Subject) -> tuple[Any, dict[str, Any]]:
    """Captum's infidelity of the map on screen (input-shaped attributions)."""
    values = infidelity(subject.model, subject.inputs, subject.attribution.values, target=subject.target,
                        seed=SEED, output=subject.output)  # fmt: skip
    return values, {"value": _finite(float(values[0])), "meaning": MEANINGS["infidelity"]}


def sensitivity_figure(subject: Subject, progress: Progress) -> tuple[Any, dict[str, Any]]:
    """Captum's max-sensitivity of the method with the settings on screen."""
    values = sensitivity_max(subject.model, subject.inputs, method=subject.method, target=subject.target,
                             seed=SEED, progress=progress, **subject.attribute_options())  # fmt: skip
    return values, {"value": _finite(float(values[0])), "meaning": MEANINGS["sensitivity"]}


def figure(name: str, subject: Subject, progress: Progress) -> tuple[Any, dict[str, Any]]:
    """One evaluation by name: (the library's result object, the view's data)."""
    if name in CURVE_BASELINES:
        return curve_figure(name, subject)
    if name == "convergence":
        return convergence_figure(subject, progress)
    if name == "sanity":
        return sanity_figure(subject, progress)
    if name == "axioms":
        return axioms_figure(subject, progress)
    if name == "infidelity":
        return infidelity_figure(subject)
    return sensitivity_figure(subject, progress)
