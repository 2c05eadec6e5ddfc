"""Single-point gradient methods: saliency, input x gradient, X-gradient, SmoothGrad, guided backprop."""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable

import torch
from torch import nn

from ._batching import AttributionWarning
from ._cache import model_state_key
from ._model_state import quiet_captum
from ._registry import (
    GRADIENT_AXIOMS,
    GUIDED_BACKPROP_AXIOMS,
    INPUT_X_GRADIENT_AXIOMS,
    NOT_IN_TABLES,
    X_GRADIENT_AXIOMS,
    register,
)
from ._request import MethodOutput, Request
from ._scorer import input_gradients
from .xdnn import is_homogeneous


def _gradients(request: Request) -> torch.Tensor:
    """∇f(x) for the whole batch, in chunks of examples when the memory plan asks for it."""
    whole = request.first_pass_gradient()
    if whole is not None:
        return whole
    grads = torch.empty_like(request.inputs)
    runner = request.runner(request.batch)

    def work(start: int, stop: int) -> None:
        rows = torch.arange(start, stop, device=request.device)
        grads[start:stop] = input_gradients(request.scorer, request.inputs[start:stop], rows)

    runner.run(request.batch, work)
    return grads


@register(
    "saliency",
    family="gradient",
    description="Gradient of the target score w.r.t. the input (Simonyan et al.); abs=True gives |gradient|.",
    options={"abs": False},
    axioms=GRADIENT_AXIOMS,
    single_pass=True,
    captum="Saliency",
)
def saliency(request: Request) -> MethodOutput:
    """∇f(x), or |∇f(x)|."""
    grads = _gradients(request)
    return MethodOutput(grads.abs() if request.options["abs"] else grads)


@register(
    "input_x_gradient",
    family="gradient",
    description="Input times gradient, x·∇f(x) (Shrikumar et al.); multiply_by_inputs=False gives the "
    "local attribution ∇f(x).",
    options={"multiply_by_inputs": True},
    axioms=INPUT_X_GRADIENT_AXIOMS,
    single_pass=True,
    captum="InputXGradient",
)
def input_x_gradient(request: Request) -> MethodOutput:
    """x·∇f(x)."""
    gradients = _gradients(request)
    return MethodOutput(request.inputs * gradients if request.options["multiply_by_inputs"] else gradients)


# Homogeneity is a property of the model: once checked, it holds until the weights or modes change.
_homogeneity_verdicts: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, bool]] = weakref.WeakKeyDictionary()


# f(0) is a property of the model too (the logits row of one zero input): kept per model, with its state key.
_zero_rows: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, torch.Tensor]] = weakref.WeakKeyDictionary()


def _check_homogeneous(request: Request, fingerprint: tuple) -> bool:
    # The cheap state key (versions, storages, modes), not the weight norms: homogeneity is structural, and a
    # write through ``param.data`` that breaks it is rare enough not to pay a read of all weights per call.
    known = _homogeneity_verdicts.get(request.model)
    if known is not None and known[0] == fingerprint:
        return known[1]
    verdict = bool(is_homogeneous(request.model, request.inputs, output=request.scorer.output))
    _homogeneity_verdicts[request.model] = (fingerprint, verdict)
    return verdict


RowCache = Callable[[Callable[[], torch.Tensor]], torch.Tensor]


def _zero_row_cache(request: Request, fingerprint: tuple) -> RowCache | None:
    """A ``remember`` for ``zero_baseline_scores``: f(0) once per model state, input shape and output.

    Its key is the one the homogeneity verdict trusts (same blind spot: ``param.data`` writes); forward
    keyword arguments that are not per example could change f(0) in ways no key sees, so those run it.
    """
    if request.scorer.static_kwargs:
        return None
    x = request.inputs
    key = (fingerprint, tuple(x.shape[1:]), x.dtype, x.device)

    def remember(run_row: Callable[[], torch.Tensor]) -> torch.Tensor:
        known = _zero_rows.get(request.model)
        if known is not None and known[0] == key:
            return known[1]
        row = run_row()
        _zero_rows[request.model] = (key, row)
        return row

    return remember


@register(
    "x_gradient",
    family="gradient",
    description="X-Gradient x·∇F(x) in one pass (Hesse et al.): equals IG with the zero baseline on a "
    "nonnegatively homogeneous model (an X-DNN); warns when the model is not homogeneous.",
    options={"check_homogeneous": True},
    axioms=X_GRADIENT_AXIOMS,
    has_delta=True,
    single_pass=True,
)
def x_gradient(request: Request) -> MethodOutput:
    """x·∇F(x) with the zero baseline, checking homogeneity first."""
    # The model's state and output selector, computed once for both per-model caches below.
    fingerprint = (model_state_key(request.model, request.modules), repr(request.scorer.output))
    if request.options["check_homogeneous"] and not _check_homogeneous(request, fingerprint):
        warnings.warn(
            "x_gradient: the model is not nonnegatively homogeneous (F(αx) ≠ αF(x)), so this is only "
            "input × gradient, not Integrated Gradients; convert it with attr_widgets.xdnn.to_xdnn.",
            AttributionWarning,
            stacklevel=4,
        )
    values = request.inputs * _gradients(request)
    return MethodOutput(values, request.zero_baseline_scores(_zero_row_cache(request, fingerprint)), "zeros")


_NOISE_OPTIONS = {"nt_samples": 25, "noise_level": 0.15, "stdevs": None, "abs": False}


def _noise_tunnel(request: Request, kind: str) -> MethodOutput:
    """SmoothGrad / SmoothGrad² / VarGrad over ``nt_samples`` noised copies of each input.

    The noise is drawn up front exactly as Captum's NoiseTunnel draws it for one partition (example-major,
    one ``torch.normal`` call), so values equal Captum's with ``nt_samples_batch_size=None`` and do not depend
    on how we chunk the gradient evaluations (Captum's own noise changes with its batch size).
    """
    options = request.options
    stdevs = options["stdevs"]
    if stdevs is None:
        # Smilkov et al. pick σ as a fraction of the input range.
        value_range = float(request.inputs.max() - request.inputs.min())
        stdevs = options["noise_level"] * (value_range if value_range > 0 else 1.0)
    samples = options["nt_samples"]
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"nt_samples must be a positive int, got {samples!r}.")
    x = request.inputs
    total = x.shape[0] * samples
    with request.seeded():
        spread = torch.tensor(float(stdevs), device=x.device).repeat((total, *x.shape[1:]))
        noisy = x.repeat_interleave(samples, dim=0) + torch.normal(0, spread)
    rows = torch.arange(x.shape[0], device=x.device).repeat_interleave(samples)
    sums, squares = torch.zeros_like(x), torch.zeros_like(x)

    def work(start: int, stop: int) -> None:
        grads = input_gradients(request.scorer, noisy[start:stop], rows[start:stop])
        if options["abs"]:
            grads = grads.abs()
        sums.index_add_(0, rows[start:stop], grads)
        squares.index_add_(0, rows[start:stop], grads * grads)

    request.runner(total).run(total, work)
    mean, mean_square = sums / samples, squares / samples
    values = {"smoothgrad": mean, "smoothgrad_sq": mean_square, "vargrad": mean_square - mean * mean}[kind]
    return MethodOutput(values, info={"stdevs": float(stdevs)})


for _name, _description in (
    ("smoothgrad", "SmoothGrad: mean gradient over Gaussian-noised copies of the input (Smilkov et al.)."),
    ("smoothgrad_sq", "SmoothGrad-Squared: mean of squared gradients over noised copies."),
    ("vargrad", "VarGrad: variance of the gradient over noised copies."),
):
    register(
        _name,
        family="gradient",
        description=_description,
        options=_NOISE_OPTIONS,
        axioms=NOT_IN_TABLES,
        captum=f"NoiseTunnel(Saliency, nt_type={_name!r})",
    )(lambda request, _kind=_name: _noise_tunnel(request, _kind))


def _modified_backprop(request: Request, captum_class: str) -> MethodOutput:
    import captum.attr

    explainer = getattr(captum.attr, captum_class)(request.scorer.captum_module())
    with quiet_captum():
        values = explainer.attribute(
            request.inputs.clone(),
            target=request.scorer.captum_target(),
            additional_forward_args=request.scorer.captum_extra_args(),
        )
    return MethodOutput(values)


@register(
    "guided_backprop",
    family="gradient",
    description="Guided backpropagation: gradient with negative signals discarded at ReLU modules "
    "(Springenberg "
    "et al.). Only nn.ReLU modules are overridden, not functional relu calls.",
    options={},
    axioms=GUIDED_BACKPROP_AXIOMS,
    captum="GuidedBackprop",
)
def guided_backprop(request: Request) -> MethodOutput:
    """Captum's GuidedBackprop on the output-selected view of the model."""
    return _modified_backprop(request, "GuidedBackprop")


@register(
    "deconvolution",
    family="gradient",
    description="Deconvolution (Zeiler & Fergus): ReLU applied to the backward signal at ReLU modules.",
    options={},
    axioms=NOT_IN_TABLES,
    captum="Deconvolution",
)
def deconvolution(request: Request) -> MethodOutput:
    """Captum's Deconvolution on the output-selected view of the model."""
    return _modified_backprop(request, "Deconvolution")
