"""``smooth=``: NoiseTunnel over any method — SmoothGrad, SmoothGrad² or VarGrad of its attributions.

Smilkov et al., SmoothGrad: removing noise by adding noise (2017), average a method's attributions over
Gaussian-noised copies of the input; Adebayo et al., Local Explanation Methods for Deep Neural Networks Lack
Sensitivity to Parameter Values (2018), take their variance (VarGrad). Captum's ``NoiseTunnel`` wraps any
attribution method so; ``attribute(..., smooth=kind)`` does the same for every method here.

The noise is drawn once, up front, from a private ``torch.Generator`` seeded with ``seed`` (the user's global
RNG is never touched), in Captum's layout (example-major, one ``torch.normal`` call): values equal Captum's
``NoiseTunnel`` with ``nt_samples_batch_size=None`` after ``torch.manual_seed(seed)`` on CPU, and they do not
depend on how the expanded batch is chunked (``internal_batch_size``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ._registry import MethodSpec
from ._request import MethodOutput, Request
from ._values import as_tuple, single_or_tuple

SMOOTH_KINDS = ("smoothgrad", "smoothgrad_sq", "vargrad")
# Fraction of the inputs' value range used as σ when ``stdevs`` is not given (Smilkov et al. use 10-20%).
DEFAULT_NOISE_LEVEL = 0.15
# Methods that already average over their own random draws: a second noise layer has no agreed meaning.
_OWN_NOISE = (
    "smoothgrad",
    "smoothgrad_sq",
    "vargrad",
    "gradient_shap",
    "layer_gradient_shap",
    "neuron_gradient_shap",
)
# Baselines that are distributions [M, ...], not one row per example: they are not repeated per copy.
_DISTRIBUTION_BASELINES = ("deeplift_shap",)


def run_method(spec: MethodSpec, request: Request) -> MethodOutput:
    """``spec.run(request)``, smoothed over noisy copies of the inputs when ``smooth=`` is set."""
    kind = request.common.get("smooth")
    if kind is None:
        return spec.run(request)
    if kind not in SMOOTH_KINDS:
        raise ValueError(f"smooth must be None or one of {SMOOTH_KINDS}, got {kind!r}.")
    if spec.name in _OWN_NOISE:
        raise ValueError(
            f"smooth= does not apply to method={spec.name!r}, which already averages over its own noise; "
            "use its nt_samples / stdevs (or n_samples) options."
        )
    if not request.inputs.is_floating_point():
        raise ValueError(
            "smooth= adds Gaussian noise to the inputs, so it needs floating-point inputs, not token ids."
        )
    samples = request.common["nt_samples"]
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"nt_samples must be a positive int, got {samples!r}.")
    stdevs = _noise_scale(request)
    noisy_request, rows = _noisy_request(spec, request, samples, stdevs)
    try:
        result = spec.run(noisy_request)
    finally:
        request.scorer.done_rows = noisy_request.scorer.done_rows
        request.scorer.total_rows = max(request.scorer.total_rows, noisy_request.scorer.total_rows)
    means, mean_squares = [], []
    for part in as_tuple(result.values):
        copies = part.reshape(request.batch, samples, *part.shape[1:])
        means.append(copies.mean(dim=1))
        mean_squares.append((copies * copies).mean(dim=1))
    if kind == "smoothgrad":
        values = means
    elif kind == "smoothgrad_sq":
        values = mean_squares
    else:
        values = [square - mean * mean for mean, square in zip(means, mean_squares, strict=True)]
    info: dict[str, Any] = {"smooth": kind, "nt_samples": samples, "stdevs": stdevs}
    for key, reduce in (("steps", "amax"), ("evaluations", "sum")):
        if key in result.info:
            per_copy = torch.as_tensor(result.info[key]).reshape(request.batch, samples)
            info[key] = getattr(per_copy, reduce)(dim=1)
    # Completeness holds per noisy copy, not for the average of the copies: no delta, no f(baseline).
    return MethodOutput(single_or_tuple(values), None, result.baseline_name, result.n_steps, info=info)


def _noise_scale(request: Request) -> float:
    stdevs = request.common["stdevs"]
    if stdevs is None:
        value_range = float(request.inputs.max() - request.inputs.min())
        return DEFAULT_NOISE_LEVEL * (value_range if value_range > 0 else 1.0)
    if isinstance(stdevs, bool) or not isinstance(stdevs, (int, float)) or not stdevs >= 0:
        raise ValueError(f"stdevs must be a non-negative number (the noise's σ), got {stdevs!r}.")
    return float(stdevs)


def draw_noisy_inputs(
    inputs: torch.Tensor, samples: int, stdevs: float, seed: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``samples`` noisy copies of each example, example-major ``[B * samples, ...]``, as in Captum."""
    if generator is None:
        generator = torch.Generator(device=inputs.device).manual_seed(int(seed))
    shape = (inputs.shape[0] * samples, *inputs.shape[1:])
    # Drawn in torch's default dtype, as Captum does (``torch.tensor(stdev)``), so a float64 model sees the
    # same noise as under Captum; the sum is cast back to the inputs' dtype.
    spread = torch.full(shape, float(stdevs), dtype=torch.get_default_dtype(), device=inputs.device)
    noise = torch.normal(0.0, spread, generator=generator)
    return (inputs.repeat_interleave(samples, dim=0) + noise).to(inputs.dtype)


def _draw_for(request: Request, samples: int, stdevs: float) -> torch.Tensor:
    """The noisy copies; for packed multi-input models, drawn input by input as Captum draws a tuple."""
    from ._multi_input import PackedInputs

    seed = int(request.common["seed"])
    if not isinstance(request.model, PackedInputs):
        return draw_noisy_inputs(request.inputs, samples, stdevs, seed)
    from ._layer_path import pack, unpack

    generator = torch.Generator(device=request.device).manual_seed(seed)
    parts = unpack(request.inputs, request.model.shapes)
    return pack(tuple(draw_noisy_inputs(part, samples, stdevs, seed, generator) for part in parts))


def _noisy_request(
    spec: MethodSpec, request: Request, samples: int, stdevs: float
) -> tuple[Request, torch.Tensor]:
    """The request on the noisy copies: targets, batched forward kwargs and per-example baselines repeated.

    A baseline tensor with the inputs' shape ``[B, ...]`` is one baseline per example, repeated for each of
    its copies; a single example, a distribution (DeepLIFT-SHAP) or a layer-space baseline is shared.
    """
    batch = request.batch
    rows = torch.arange(batch, device=request.device).repeat_interleave(samples)
    noisy = _draw_for(request, samples, stdevs)
    scorer = request.scorer
    target = scorer.target if scorer.callable_target else scorer.target[rows]  # type: ignore[index]
    noisy_scorer = dataclasses.replace(
        scorer,
        target=target,
        batched_kwargs=tuple(value[rows] for value in scorer.batched_kwargs),
        total_rows=scorer.done_rows + (scorer.total_rows - scorer.done_rows) * samples,
    )
    baseline = request.baseline
    per_example = (
        isinstance(baseline, torch.Tensor)
        and spec.name not in _DISTRIBUTION_BASELINES
        and baseline.dim() == request.inputs.dim()
        and baseline.shape[0] == batch
        and batch > 1
    )
    if per_example:
        baseline = baseline.to(request.device).repeat_interleave(samples, dim=0)
    with torch.no_grad():
        outputs = noisy_scorer(noisy).detach()
    noisy_request = dataclasses.replace(
        request,
        inputs=noisy,
        scorer=noisy_scorer,
        outputs=outputs,
        baseline=baseline,
        layer_activations=None,
    )
    return noisy_request, rows
