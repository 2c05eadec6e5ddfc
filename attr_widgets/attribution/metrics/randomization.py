"""Model-parameter randomisation test (Adebayo et al., *Sanity Checks for Saliency Maps*).

An attribution that explains the model should change when the model's weights are destroyed. Layers are
randomised one after another from the output towards the input ("cascading"), or one at a time
("independent"); after each step the attributions are recomputed (same inputs, same target classes as for the
original model) and compared with the original ones by Spearman rank correlation, with and without absolute
values. A method whose correlations stay high is insensitive to the model (e.g. an edge detector).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._api import attribute
from .._model_state import model_device, preserved_model
from .._outputs import OutputSelector, resolve_target, select_output
from .._validation import check_inputs, check_model, resolve_layer


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks (1-based, float64) of each row, ties sharing their average rank (as scipy.stats.rankdata)."""
    rows = values.double()
    order = rows.argsort(dim=1, stable=True)
    ordered = rows.gather(1, order)
    ranks = torch.empty_like(rows)
    for row in range(rows.shape[0]):
        _, inverse, counts = torch.unique_consecutive(ordered[row], return_inverse=True, return_counts=True)
        ends = counts.cumsum(0).double()
        average = ends - (counts.double() - 1) / 2  # mean of the positions each tie group occupies
        ranks[row, order[row]] = average[inverse]
    return ranks


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation per example ``[B]`` of two batches (flattened); NaN for a constant row."""
    if a.shape != b.shape:
        raise ValueError(f"spearman: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}.")
    ra, rb = _average_ranks(a.flatten(1)), _average_ranks(b.flatten(1))
    ra, rb = ra - ra.mean(dim=1, keepdim=True), rb - rb.mean(dim=1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1))


@dataclass(frozen=True)
class RandomizationResult:
    """Rank correlations between the original attributions and those of progressively randomised models.

    Attributes:
        layers: the randomised layers, in the order they were randomised (output side first).
        spearman: ``[L, B]``; row ``l`` compares with the model after step ``l`` (cascading: layers ``0..l``
            randomised; independent: layer ``l`` only).
        spearman_abs: ``[L, B]``, the same for absolute attributions.
        cascading: which variant ran.
        method: the attribution method.
        original: the original model's attributions (with ``keep_maps=True``, else None).
        maps: ``[L, B, ...]`` the attributions after each step (with ``keep_maps=True``, else None).
    """

    layers: tuple[str, ...]
    spearman: torch.Tensor
    spearman_abs: torch.Tensor
    cascading: bool
    method: str
    original: torch.Tensor | None = None
    maps: torch.Tensor | None = None

    def summary(self) -> str:
        """A table: layer, mean rank correlation (signed and absolute)."""
        lines = [f"{'layer':<24} spearman  spearman(|a|)"]
        for name, signed, absolute in zip(self.layers, self.spearman, self.spearman_abs, strict=True):
            lines.append(f"{name:<24} {float(signed.nanmean()):8.3f}  {float(absolute.nanmean()):8.3f}")
        return "\n".join(lines)


def _execution_order(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the modules that own parameters, in the order their forward runs."""
    owners = {m: n for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))}
    seen: list[str] = []

    def record(module: nn.Module, _inputs: Any, _output: Any) -> None:
        if owners[module] not in seen:  # a module called twice counts at its first call
            seen.append(owners[module])

    handles = [module.register_forward_hook(record) for module in owners]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _randomize(module: nn.Module, generator: torch.Generator) -> None:
    """Replace the module's own parameters by N(0, s²) draws, s = each tensor's std (its RMS if constant)."""
    with torch.no_grad():
        for param in module.parameters(recurse=False):
            flat = param.detach().double().reshape(-1)
            scale = float(flat.std()) if flat.numel() > 1 else 0.0
            scale = scale or float(flat.pow(2).mean().sqrt()) or 0.01
            draw = torch.randn(param.shape, generator=generator, dtype=torch.float64) * scale
            param.copy_(draw.to(param.dtype))


def model_randomization_check(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    method: str,
    target: Any = None,
    layers: list[str | nn.Module] | None = None,
    cascading: bool = True,
    seed: int = 0,
    output: OutputSelector = None,
    keep_maps: bool = False,
    **attribute_options: Any,
) -> RandomizationResult:
    """Randomise ``layers`` of a deep copy of ``model`` and compare attributions by rank correlation.

    Args:
        model: the network; deep-copied, the original is never touched.
        inputs: a batch ``[B, ...]``.
        method: an ``attribute`` method name; ``attribute_options`` are passed through.
        target: None (the original model's top class, kept for the randomised models), an int, a LongTensor.
        layers: modules (or dotted names) to randomise, in order; None: every module that owns parameters,
            from the output towards the input (the order of the forward pass, reversed).
        cascading: True randomises layers cumulatively; False randomises each layer alone.
        seed: seeds the random weights.
        output: output selector, as in ``attribute``.
        keep_maps: also return the original and every randomised attribution (for thumbnails).
        **attribute_options: passed to every ``attribute`` call.
    """
    check_model(model)
    x = check_inputs(inputs, model_device(model), floating=False)
    options = {"cache": False, "output": output, **attribute_options}
    with preserved_model(model), torch.no_grad():
        logits = select_output(model(x), output, batch_size=x.shape[0])
    resolved = resolve_target(target, logits)
    original = attribute(model, x, method=method, target=resolved, **options).values
    work = copy.deepcopy(model)
    if layers is None:
        names = list(reversed(_execution_order(work, x)))
    else:
        try:
            names = [resolve_layer(model, layer)[1] for layer in layers]
        except (ValueError, TypeError) as error:
            raise type(error)(f"layers: {error}") from error
    if not names:
        raise ValueError("layers: the model has no layer with parameters to randomise.")
    generator = torch.Generator().manual_seed(int(seed))
    signed, absolute, maps = [], [], []
    pristine = copy.deepcopy(work) if not cascading else None
    for name in names:
        if pristine is not None:
            work = copy.deepcopy(pristine)
        _randomize(work.get_submodule(name), generator)
        values = attribute(work, x, method=method, target=resolved, **options).values
        signed.append(spearman(original, values))
        absolute.append(spearman(original.abs(), values.abs()))
        if keep_maps:
            maps.append(values)
    kept = (original, torch.stack(maps)) if keep_maps else (None, None)
    correlations = torch.stack(signed), torch.stack(absolute)
    return RandomizationResult(tuple(names), *correlations, cascading, method, *kept)
