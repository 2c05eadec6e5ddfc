"""The one verb: ``attribute(model, inputs, method=...) -> Attribution``."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch import all_modules, model_lock
from . import _cache, _methods  # noqa: F401  (_methods registers the method families)
from ._batching import saved_bytes_per_row
from ._captured_outputs import deferrable, outputs_of
from ._layer_leaf import LayerLeaves
from ._layer_path import LayerTap
from ._model_state import model_device, preserved_model, warn_if_training, with_private_buffers
from ._multi_input import attribute_inputs_tuple
from ._noise_tunnel import run_method
from ._outputs import (
    OutputSelector,
    Target,
    gather_scores,
    resolve_target,
    split_forward_kwargs,
    target_indices,
)
from ._quadrature import ADAPTIVE, INTEGRATIONS, min_steps
from ._registry import COMMON_OPTIONS, MethodSpec, specs
from ._request import MethodOutput, Request
from ._result import Attribution
from ._scorer import Scorer
from ._validation import (
    all_finite,
    check_finite_result,
    check_inputs,
    check_internal_batch_size,
    check_model,
    check_n_steps,
    diagnose_inputs,
    resolve_layer,
    unknown_name_error,
)
from ._values import detached, per_example_sums

# The scorer's target until the first forward resolves it (one shared placeholder, not a tensor per call).
_NO_TARGET = torch.empty(0)


def _split_options(spec: MethodSpec, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    unknown = [name for name in given if name not in spec.options and name not in COMMON_OPTIONS]
    if unknown:
        known = {**spec.options, **COMMON_OPTIONS}
        error = unknown_name_error(f"method={spec.name!r} option", unknown[0], known)
        raise TypeError(str(error))
    options = {name: given.get(name, default) for name, default in spec.options.items()}
    # A method's own option shadows a common one of the same name (nt_samples / stdevs of smoothgrad).
    common = {
        name: given.get(name, default) for name, default in COMMON_OPTIONS.items() if name not in options
    }
    return options, common


def _settings(
    spec: MethodSpec,
    target: Target,
    baseline: object,
    n_steps: object,
    integration: str,
    layer: nn.Module | None,
    output: OutputSelector,
    options: dict[str, Any],
    common: dict[str, Any],
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "method": spec.name,
        "target": target,
        "output": output,
        "layer": layer,
        **options,
        **{k: v for k, v in common.items() if k not in ("cache", "memory_budget", "progress")},
    }
    if spec.uses_baseline or spec.has_delta or spec.needs_layer:
        settings["baseline"] = baseline
    if spec.path or spec.needs_layer:
        settings["n_steps"], settings["integration"] = n_steps, integration
    return settings


def _match_parameter_dtype(model: nn.Module, x: torch.Tensor, first: torch.Tensor | None) -> torch.Tensor:
    """Float inputs are cast to the dtype of the model's floating parameters (float16/64 vs float32)."""
    if not x.is_floating_point():
        return x
    if first is not None and first.is_floating_point():
        dtype: torch.dtype | None = first.dtype  # the common case, without another walk over the parameters
    else:
        dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    return x if dtype is None or dtype == x.dtype else x.to(dtype)


def _probe_bytes(model: nn.Module, scorer: Scorer, x: torch.Tensor) -> float:
    """Activation bytes per row that a forward with autograd saves on ``x`` (its result is discarded)."""
    probe = x.detach().requires_grad_(True) if x.is_floating_point() else x
    with torch.enable_grad():
        _, bytes_per_row = saved_bytes_per_row(model, lambda: scorer.logits(probe), x.shape[0])
    return bytes_per_row


def _whole_batch_single_pass(spec: MethodSpec, batch: int, internal_batch_size: int | str | None) -> bool:
    """Whether the method's one gradient can come from the graph of the first (whole-batch) forward.

    That forward already holds the whole batch's activations, so chunking the gradient would save no memory;
    only an explicit ``internal_batch_size`` below the batch asks for chunked gradient passes.
    """
    return spec.single_pass and not (isinstance(internal_batch_size, int) and internal_batch_size < batch)


def _check_adaptive(spec: MethodSpec, n_steps: object) -> None:
    """integration="adaptive" chooses its own nodes: only with n_steps="auto", and only on our own paths."""
    uses_integration = spec.path or spec.needs_layer
    if uses_integration and not spec.adaptive:
        able = sorted(name for name, s in specs().items() if s.adaptive)
        raise ValueError(
            f"integration='adaptive' is not available for method={spec.name!r} (its path runs in Captum, "
            f"which takes a fixed rule); it works with {able}."
        )
    if uses_integration and n_steps != "auto":
        raise ValueError(
            f"integration='adaptive' places its own nodes: it needs n_steps='auto' (with tol=), got "
            f"n_steps={n_steps!r}."
        )


def _expected_rows(
    spec: MethodSpec, batch: int, n_steps: object, options: dict[str, Any], single_pass: bool
) -> int:
    """Best estimate of the model rows an attribution runs, for ``progress`` (refined as calls happen)."""
    rows = batch  # the first forward on the inputs
    if single_pass:
        return rows + (1 if spec.has_delta else 0)  # the gradient reuses it; f(0) is one row
    if spec.path or spec.needs_layer:
        rows += batch * (n_steps if isinstance(n_steps, int) else 2 * min_steps("gausslegendre") * 16)
    else:
        samples = options.get("nt_samples", options.get("n_samples", 1))
        rows += batch * (int(samples) if isinstance(samples, int) else 1)
    if spec.has_delta:
        rows += batch  # f(baseline)
    return rows


def _run_without_first_forward(spec: MethodSpec, request: Request) -> MethodOutput:
    """``spec.run`` on a request without f(x): the method's forward gives it (``_captured_outputs``)."""
    try:
        result = run_method(spec, request)
    except Exception as error:
        # No model call completed: the model failed on the inputs, explained as after the first forward.
        diagnosis = None if request.scorer.done_rows else diagnose_inputs(request.model, request.inputs)
        if diagnosis is None:
            raise
        raise ValueError(diagnosis) from error
    if result.outputs is None:  # the method's forward was not the one [inputs; baselines] batch
        result.outputs = outputs_of(request)
    return result


def attribute(
    model: nn.Module,
    inputs: torch.Tensor | tuple[torch.Tensor, ...],
    *,
    method: str,
    target: Target = None,
    baseline: object = "zeros",
    n_steps: int | str = 50,
    integration: str = "gausslegendre",
    layer: nn.Module | str | None = None,
    internal_batch_size: int | str | None = "auto",
    output: OutputSelector = None,
    **method_options: Any,
) -> Attribution:
    """Attribute the target score of ``model`` on ``inputs`` with ``method``; see ``methods()`` for the names.

    Args:
        model: the network; never mutated (hooks, modes, requires_grad, .grad restored, also on error). Its
            modes are used as they are: with dropout or BatchNorm in training mode a UserWarning (once per
            model) says the results are random and batch-dependent, forwards use private copies of the
            buffers (running statistics unchanged), and such results are not cached.
        inputs: a batch ``[B, ...]`` (float; token ids for layer methods), moved to the model's device; or a
            tuple of float batches for a model ``forward(x1, x2, ...)``: values come back as a tuple shaped
            like the inputs, ``delta`` sums over all of them, ``baseline`` / ``feature_mask`` may be tuples
            (one entry per input);
            float inputs are cast to the dtype of the model's parameters (e.g. float64 inputs for a float32
            model), silently, since the attribution is only defined for the model's own arithmetic.
        method: one of ``methods()``; an unknown name raises a ValueError suggesting the nearest.
        target: None (top class per example), an int (numpy integers too), a LongTensor ``[B]``, or
            ``callable(output) -> [B]``.
        baseline: "zeros", "blur", "uniform", "mean" (with ``data=``), a tensor broadcastable to the inputs;
            "pad" / "mask" token embeddings for layer methods on token ids.
        n_steps: quadrature nodes for path methods (1..4096), or "auto" to refine until
            ``|delta| ≤ tol·|f(x) − f(b)|`` (options ``tol=1e-3``, ``max_steps=1024``).
        integration: "gausslegendre", "riemann_left", "riemann_right", "riemann_middle" or
            "riemann_trapezoid"; or "adaptive" with ``n_steps="auto"`` (integrated_gradients and
            layer_integrated_gradients): a trapezoid whose intervals are bisected where completeness fails
            on them, until the sum of the intervals' |errors| is at most ``tol·|f(x) − f(b)|``.
        layer: a submodule (or its dotted name) for layer methods.
        internal_batch_size: rows per model call: "auto" (fits a memory budget, halves on CUDA OOM), an int,
            or None (everything at once).
        output: selects the ``[B, classes]`` scores from the model's output (key, index or callable).
        **method_options: the method's options (``methods()[i].options``) and the common ones:
            ``forward_kwargs`` (extra model arguments, e.g. an attention mask), ``data`` (for the mean
            baseline), ``blur_sigma``, ``seed`` (noise and random baselines), ``memory_budget`` (bytes),
            ``cache`` (reuse a result computed with the same settings, default True), ``progress``
            (``callable(done, total)`` after each model call, in rows of the expanded batch, e.g.
            ``B * n_steps`` for IG; ``total`` is an estimate that may grow, and the last call has
            ``done == total``; an exception raised by it aborts the attribution and propagates unchanged).
            ``smooth`` ("smoothgrad", "smoothgrad_sq" or "vargrad"): NoiseTunnel over the method (Smilkov et
            al., SmoothGrad: removing noise by adding noise, 2017), ``nt_samples`` (25) copies with Gaussian
            noise of σ ``stdevs`` (default 0.15 × the inputs' range) drawn from ``seed``; no ``delta`` then.
    """
    check_model(model)
    if isinstance(target, np.integer):
        target = int(target)  # numpy integers (e.g. from argmax) are ints here, also in the cache key
    if (
        isinstance(baseline, torch.Tensor)
        and baseline.is_floating_point()
        and not torch.isfinite(baseline).all()
    ):
        bad = int((~torch.isfinite(baseline)).sum())
        raise ValueError(f"baseline contains {bad} NaN or Inf value(s); pass a finite baseline tensor.")
    # Hook-based methods install hooks on the user's modules for the whole call: two calls interleaving on
    # one model would see each other's hooks, so the whole run holds the library's per-model lock.
    with model_lock(model):
        if isinstance(inputs, tuple):  # a multi-input model: one attribution per input (``_multi_input``)
            return attribute_inputs_tuple(
                _attribute,
                model,
                inputs,
                method=method,
                target=target,
                baseline=baseline,
                n_steps=n_steps,
                integration=integration,
                layer=layer,
                internal_batch_size=internal_batch_size,
                output=output,
                **method_options,
            )
        return _attribute(
            model,
            inputs,
            method=method,
            target=target,
            baseline=baseline,
            n_steps=n_steps,
            integration=integration,
            layer=layer,
            internal_batch_size=internal_batch_size,
            output=output,
            **method_options,
        )


def _attribute(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    method: str,
    target: Target,
    baseline: object,
    n_steps: int | str,
    integration: str,
    layer: nn.Module | str | None,
    internal_batch_size: int | str | None,
    output: OutputSelector,
    **method_options: Any,
) -> Attribution:
    registry = specs()
    if method not in registry:
        raise unknown_name_error("method", method, registry)
    spec = registry[method]
    if integration not in INTEGRATIONS:
        raise unknown_name_error("integration", integration, INTEGRATIONS)
    n_steps = check_n_steps(n_steps, minimum=min_steps(integration) if spec.path or spec.needs_layer else 1)
    if integration == ADAPTIVE:
        _check_adaptive(spec, n_steps)
    internal_batch_size = check_internal_batch_size(internal_batch_size)
    options, common = _split_options(spec, method_options)
    layer_module, layer_name = (None, None)
    if layer is not None:
        if not spec.needs_layer:
            users = [name for name, s in registry.items() if s.needs_layer]
            raise ValueError(f"layer= is not used by method={method!r}; the layer methods are {users}.")
        layer_module, layer_name = resolve_layer(model, layer)
    elif spec.needs_layer:
        raise ValueError(f"method={method!r} needs layer=: a submodule of the model or its dotted name.")

    modules = all_modules(model)  # one walk of the tree serves the device, dtype and mode checks below
    first_parameter = next((p for m in modules for p in m._parameters.values() if p is not None), None)
    device = model_device(model) if first_parameter is None else first_parameter.device
    x = check_inputs(inputs, device, floating=not spec.integer_inputs)
    x = _match_parameter_dtype(model, x, first_parameter)
    names, batched, static = split_forward_kwargs(common["forward_kwargs"], x.shape[0])
    batched = tuple(t.to(device) for t in batched)

    use_cache = bool(common["cache"])
    key = None
    if use_cache:
        settings = _settings(
            spec, target, baseline, n_steps, integration, layer_module, output, options, common
        )
        key = _cache.make_key(model, x, settings)
    cached = _cache.lookup(model, key)
    if cached is not None:
        return cached

    # Train mode is the caller's choice: warn (once per model) and keep it, but run every forward on private
    # copies of the buffers so that BatchNorm's running statistics never change (see with_private_buffers).
    training = any(module.training for module in modules)
    if training:
        warn_if_training(model)
    # smooth= runs the method on noisy copies: the first forward's graph (clean inputs) is no use there.
    smoothed = common.get("smooth") is not None
    single_pass = not smoothed and _whole_batch_single_pass(spec, x.shape[0], internal_batch_size)
    # DeepLIFT's own forward on [inputs; baselines] can stand in for the first forward when the target needs
    # no logits; not in train mode, where batch statistics over those 2B rows would change f(x).
    deferred = spec.outputs_from_method and not smoothed and not training and deferrable(target)

    def first_forward_and_method() -> tuple[Scorer, torch.Tensor, MethodOutput]:
        scorer = Scorer(model, output, _NO_TARGET, names, batched, static, progress=common["progress"])
        scorer.total_rows = _expected_rows(spec, x.shape[0], n_steps, options, single_pass) - (
            x.shape[0] if deferred else 0
        )
        probe = x.detach().requires_grad_(True) if x.is_floating_point() else x
        # Layer paths need the layer's activations on x: capture them in this forward instead of another.
        tap = LayerTap(layer_module) if layer_module is not None and spec.path else None
        leaves = (
            LayerLeaves(layer_module, layer_input=bool(options.get("attribute_to_layer_input")))
            if layer_module is not None and single_pass
            else None
        )
        graph_scores: torch.Tensor | None = None
        outputs: torch.Tensor | None = None
        bytes_per_row: float | None = None
        if deferred:  # the method's own forward checks the output and gives f(x) (_captured_outputs)
            scorer.target = target_indices(target, x.shape[0], x.device)
        else:
            try:
                if single_pass and leaves is not None:
                    # The layer's activations become the leaves of this forward's graph (_layer_leaf).
                    with torch.enable_grad(), leaves.attached():
                        graph_logits, bytes_per_row = scorer.logits(x), 0.0
                elif single_pass:
                    # No chunk sizes to choose: skip the memory probe (a Python call per saved tensor).
                    with torch.enable_grad():
                        graph_logits, bytes_per_row = scorer.logits(probe), 0.0
                elif spec.path:
                    # Path methods always plan chunks of n_steps × B rows: measure the memory in this forward.
                    with torch.enable_grad(), tap.attached() if tap is not None else nullcontext():
                        graph_logits, bytes_per_row = saved_bytes_per_row(
                            model, lambda: scorer.logits(probe), x.shape[0]
                        )
                else:
                    # The other methods run their own passes (Captum's, or perturbed copies), and most never
                    # chunk: f(x) without a graph here, and the memory probe only if a chunk plan asks for it.
                    with torch.no_grad():
                        graph_logits = scorer.logits(x)
            except Exception as error:
                # Only when the model fails: explain the common shape mistakes (no batch dim, channels last).
                diagnosis = diagnose_inputs(model, x)
                if diagnosis is None:
                    raise
                raise ValueError(diagnosis) from error
            logits = graph_logits.detach()
            if not all_finite(logits):
                raise ValueError("model: the selected output contains NaN/Inf at these inputs.")
            scorer.target = resolve_target(target, logits)
            if single_pass:  # the target scores on the graph: their detached copy is ``outputs``, one gather
                with torch.enable_grad():
                    graph_scores = gather_scores(graph_logits, scorer.target, None)
                outputs = graph_scores.detach()
            else:
                with torch.no_grad():
                    outputs = gather_scores(logits, scorer.target, None).detach()
        request = Request(
            model=model,
            inputs=x,
            scorer=scorer,
            outputs=outputs,
            baseline=baseline,
            n_steps=n_steps,
            integration=integration,
            layer=layer_module,
            layer_name=layer_name,
            internal_batch_size=internal_batch_size,
            options=options,
            common=common,
            bytes_per_row=bytes_per_row,
            probe_bytes=lambda: _probe_bytes(model, scorer, x),
            layer_activations=None if tap is None else tap.captured,
            first_pass=(probe, graph_scores) if graph_scores is not None else None,
            layer_leaves=None if leaves is None else leaves.leaves,
            modules=modules,
            any_training=training,
        )
        # The request holds the graph only until the method takes its gradient.
        del graph_scores
        if not deferred:
            del graph_logits
        if deferred:
            result = _run_without_first_forward(spec, request)
            outputs = result.outputs
        else:
            result = run_method(spec, request)  # spec.run, or smoothed over noisy copies (smooth=)
        scorer.finish()
        assert outputs is not None
        return scorer, outputs, result

    # A single-pass method touches nothing on the model (one forward, torch.autograd.grad w.r.t. the inputs,
    # no hooks, no mode or requires_grad change), so there is nothing to restore: no snapshot is taken.
    guard = nullcontext() if single_pass and not training else preserved_model(model, restore_buffers=False)
    with guard:
        scorer, outputs, result = (
            with_private_buffers(model, first_forward_and_method) if training else first_forward_and_method()
        )

    values = detached(result.values)
    check_finite_result(values, method)
    delta = None
    if spec.has_delta and result.baseline_outputs is not None and result.complete:
        gap = outputs - result.baseline_outputs
        sums = per_example_sums(values)
        delta = (sums if sums.dtype == gap.dtype else sums.to(gap.dtype)) - gap
    attribution = Attribution(
        values=values,
        delta=delta,
        outputs=outputs,
        baseline_outputs=result.baseline_outputs,
        method=method,
        target=scorer.target,
        baseline=result.baseline_name,
        n_steps=result.n_steps,
        integration=integration if (spec.path or spec.needs_layer) and result.n_steps else None,
        layer=layer_name,
        settings={
            "output": output,
            "internal_batch_size": internal_batch_size,
            "requested_n_steps": n_steps if spec.path or spec.needs_layer else None,
            **options,
            **{k: v for k, v in common.items() if (k != "data" or v is None) and k != "progress"},
        },
        info=result.info,
    )
    _cache.store(model, key, attribution)
    return attribution
