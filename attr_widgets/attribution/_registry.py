"""The method registry: names, option defaults, axioms (from the published tables) and implementations.

A leaf module: it imports nothing of the package. The method modules (``_methods_*``) import it and register
themselves with :func:`register`; ``_methods`` imports them once (``_api`` imports ``_methods``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

AXIOMS = (
    "sensitivity_a",
    "sensitivity_b",
    "implementation_invariance",
    "completeness",
    "linearity",
    "symmetry_preserving",
    "continuity",
)

# Options every method accepts (they shape the call, not the method).
COMMON_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {
        "forward_kwargs": None,
        "data": None,
        "blur_sigma": None,
        "seed": 0,
        "memory_budget": None,
        "cache": True,
        "progress": None,
        # NoiseTunnel over any method (``_noise_tunnel``); a method's own option of the same name wins.
        "smooth": None,
        "nt_samples": 25,
        "stdevs": None,
    }
)


def _axioms(table: str, **verdicts: bool | None) -> Mapping[str, bool | None]:
    unknown = set(verdicts) - set(AXIOMS)
    if unknown:
        raise KeyError(f"unknown axioms {unknown}")
    return MappingProxyType({"source": table, **{axiom: verdicts.get(axiom) for axiom in AXIOMS}})  # type: ignore


# Columns of the axiom table in Hesse, Schaub-Meyer & Roth, Fast Axiomatic Attribution for Neural Networks
# (2021), and of the properties table of the feature-attribution notes (after Sundararajan et al. 2017 and
# Shrikumar et al. 2017).
# True/False are the tables' ✓/✗ (Yes/No); None is a blank cell or a method neither table covers.
ALL_HOLD = dict.fromkeys(AXIOMS[:6], True)
IG_AXIOMS = _axioms(
    "Hesse et al. 2021 + properties table after Sundararajan et al. 2017 (Integrated Gradients)",
    **ALL_HOLD,
    continuity=True,
)
GRADIENT_AXIOMS = _axioms(
    "properties table after Sundararajan et al. 2017 and Shrikumar et al. 2017 (Gradient)",
    sensitivity_a=False,
    sensitivity_b=True,
    implementation_invariance=True,
    completeness=False,
    linearity=True,
    symmetry_preserving=True,
    continuity=False,
)
INPUT_X_GRADIENT_AXIOMS = _axioms(
    "Hesse et al. 2021 ((Input x) Gradient)",
    sensitivity_a=False,
    sensitivity_b=True,
    implementation_invariance=True,
    completeness=False,
    linearity=True,
    symmetry_preserving=True,
)
EXPECTED_GRADIENTS_AXIOMS = _axioms("Hesse et al. 2021 (Expected Gradients, in expectation)", **ALL_HOLD)
X_GRADIENT_AXIOMS = _axioms("Hesse et al. 2021 (X-Gradient, on X-DNNs with the zero baseline)", **ALL_HOLD)
GUIDED_BACKPROP_AXIOMS = _axioms(
    "properties table after Sundararajan et al. 2017 and Shrikumar et al. 2017 (Guided backprop)",
    sensitivity_a=False,
    sensitivity_b=True,
    completeness=False,
    linearity=True,
    symmetry_preserving=True,
    continuity=False,
)
DEEPLIFT_AXIOMS = _axioms(
    "properties table after Sundararajan et al. 2017 and Shrikumar et al. 2017 (DeepLIFT)",
    sensitivity_a=True,
    implementation_invariance=False,
    completeness=True,
    symmetry_preserving=True,
    continuity=True,
)
NOT_IN_TABLES = _axioms(
    "not in the tables of Hesse et al. 2021 or Sundararajan et al. 2017 / Shrikumar et al. 2017"
)

# The local / global distinction of Ancona et al.; Captum's ``multiply_by_inputs`` option.
LOCAL_NOTE = (
    "multiply_by_inputs=False gives local attributions, not multiplied by (x − b) (Ancona et al., Towards "
    "better understanding of gradient-based attribution methods for Deep Neural Networks, 2018); they are "
    "not complete, so delta is None."
)


@dataclass(frozen=True)
class MethodSpec:
    """How to run a method and what to tell users about it."""

    name: str
    run: Callable[..., Any]
    family: str
    description: str
    options: Mapping[str, Any]
    axioms: Mapping[str, Any]
    has_delta: bool = False
    needs_layer: bool = False
    uses_baseline: bool = False
    path: bool = False
    integer_inputs: bool = False
    # One gradient of the target scores at the inputs, nothing else: attribute() hands the method the graph
    # of its first forward (Request.first_pass_gradient) instead of paying for a second forward.
    single_pass: bool = False
    # Its path runs through _methods_path.path_integral, so integration="adaptive" works.
    adaptive: bool = False
    # Its own forward (Captum's) gives f(x) and checks the output (``_captured_outputs``): with a class index
    # target, attribute() runs no first forward and the method returns ``MethodOutput.outputs``.
    outputs_from_method: bool = False
    captum: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class MethodInfo(str):
    """A method name (a plain ``str``) that also carries its axioms, options and description.

    ``uses_steps`` is True for the methods that take ``n_steps`` (the input and layer path methods).

    ``methods()`` returns these, so ``"saliency" in methods()`` works and ``methods()[i].axioms`` tells
    which axioms the method satisfies according to the published tables (see ``axioms['source']``).
    """

    family: str
    description: str
    options: Mapping[str, Any]
    axioms: Mapping[str, Any]
    has_delta: bool
    needs_layer: bool
    uses_baseline: bool
    uses_steps: bool
    captum: str | None

    def __new__(cls, spec: MethodSpec) -> MethodInfo:
        """Build from a spec."""
        info = super().__new__(cls, spec.name)
        info.family = spec.family
        info.description = spec.description
        info.options = MappingProxyType(dict(spec.options))
        info.axioms = spec.axioms
        info.has_delta = spec.has_delta
        info.needs_layer = spec.needs_layer
        info.uses_baseline = spec.uses_baseline
        # Path methods (input or layer) are the ones whose n_steps sets a quadrature step count.
        info.uses_steps = spec.path
        info.captum = spec.captum
        return info

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a widget's method picker."""
        return {
            "name": str(self),
            "family": self.family,
            "description": self.description,
            "options": {
                k: v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
                for k, v in self.options.items()
            },
            "axioms": dict(self.axioms),
            "has_delta": self.has_delta,
            "needs_layer": self.needs_layer,
            "uses_baseline": self.uses_baseline,
            "uses_steps": self.uses_steps,
            "captum": self.captum,
        }


_SPECS: dict[str, MethodSpec] = {}


def register(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``run`` under ``name`` with its metadata."""

    def decorate(run: Callable[..., Any]) -> Callable[..., Any]:
        _SPECS[name] = MethodSpec(name=name, run=run, **kwargs)
        return run

    return decorate


def specs() -> dict[str, MethodSpec]:
    """All registered methods (``attr_widgets.attribution._methods`` imports the families, which register)."""
    return _SPECS


def methods() -> list[MethodInfo]:
    """The attribution methods, each a name (``str``) carrying ``.axioms``, ``.options``, ``.description``."""
    return [MethodInfo(spec) for spec in specs().values()]
