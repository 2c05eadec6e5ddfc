"""What a method implementation receives (one validated request) and returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._baselines import make_baseline
from ._batching import ChunkRunner, OutOfMemoryError, plan_rows
from ._model_state import train_mode_modules
from ._scorer import Scorer, score_gradient
from ._values import Values


@dataclass
class Request:
    """A validated attribution request: everything on the model's device, options merged with defaults."""

    model: nn.Module
    inputs: torch.Tensor
    scorer: Scorer
    # f(x) per example; None when attribute() ran no first forward (``_captured_outputs``): the method's own
    # forward then checks the output and gives it (``MethodOutput.outputs``).
    outputs: torch.Tensor | None
    baseline: Any
    n_steps: int | str
    integration: str
    layer: nn.Module | None
    layer_name: str | None
    internal_batch_size: int | str | None
    options: dict[str, Any]
    common: dict[str, Any]
    # Activation bytes autograd saves per row: measured in the first forward, or (None) on first use by
    # ``probe_bytes()`` for methods that run their own forwards and rarely chunk (see attribute()).
    bytes_per_row: float | None
    layer_activations: torch.Tensor | None = None  # the layer's output on the inputs (layer path methods)
    # (probe, target scores with their autograd graph) of attribute()'s first forward, for single-pass
    # methods on the whole batch; consumed (and the graph freed) by first_pass_gradient().
    first_pass: tuple[torch.Tensor, torch.Tensor] | None = None
    probe_bytes: Callable[[], float] | None = None
    # Single-pass layer methods: the layer's activations on the inputs as leaves of first_pass's graph.
    layer_leaves: tuple[torch.Tensor, ...] | None = None
    # ``all_modules(model)`` and whether any of them is in training mode, from attribute()'s one walk of the
    # tree (None / True when unknown): methods that run per call read them instead of walking it again.
    modules: list[nn.Module] | None = None
    any_training: bool = True

    @property
    def batch(self) -> int:
        """Number of examples."""
        return self.inputs.shape[0]

    @property
    def device(self) -> torch.device:
        """The model's device (where the inputs are)."""
        return self.inputs.device

    @property
    def probe_rows(self) -> int:
        """Model rows the memory probe will still run on first use of ``rows()`` (0 if not needed)."""
        pending = self.bytes_per_row is None and self.probe_bytes is not None
        return self.batch if pending and self.internal_batch_size == "auto" else 0

    def rows(self, total_rows: int) -> int:
        """Rows per model call for work of ``total_rows`` rows."""
        if self.bytes_per_row is None:
            # Only "auto" needs the figure; an int or None plans without it.
            needed = self.probe_rows > 0
            self.bytes_per_row = self.probe_bytes() if needed else 0.0  # type: ignore[misc]
        return plan_rows(
            self.internal_batch_size,
            total_rows,
            self.bytes_per_row,
            self.device,
            self.common["memory_budget"],
        )

    def runner(self, total_rows: int) -> ChunkRunner:
        """A chunk runner sized for ``total_rows`` rows."""
        return ChunkRunner(self.rows(total_rows))

    def first_pass_gradient(self) -> torch.Tensor | None:
        """∇ of the target scores w.r.t. the inputs from the first forward's graph, or None.

        None when there is no such graph (chunked requests, multi-pass methods) or when the backward runs out
        of memory: the caller then computes the gradient itself, in chunks that halve on out-of-memory.
        """
        if self.first_pass is None:
            return None
        probe, scores = self.first_pass
        self.first_pass = None  # one use: drop the references so that the graph is freed with the gradient
        try:
            with torch.enable_grad():  # the caller may be under no_grad (e.g. Captum's sensitivity metric)
                return score_gradient(scores, probe)
        except OutOfMemoryError:
            del scores
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return None

    def first_pass_layer_gradients(self, **grad_kwargs: Any) -> tuple[torch.Tensor, ...] | None:
        """∇ of the target scores w.r.t. ``layer_leaves`` on the first forward's graph; None without one."""
        if self.first_pass is None or self.layer_leaves is None:
            return None
        _, scores = self.first_pass
        self.first_pass = None
        if not scores.requires_grad:
            raise ValueError(
                "layer: the target score does not depend differentiably on this layer's activations."
            )
        with torch.enable_grad():
            grads = torch.autograd.grad(scores.sum(), self.layer_leaves, allow_unused=True, **grad_kwargs)
        # A leaf the score does not reach has gradient zero (Captum returns zeros there too).
        return tuple(
            torch.zeros_like(leaf) if grad is None else grad
            for leaf, grad in zip(self.layer_leaves, grads, strict=True)
        )

    def zero_baseline_scores(
        self, remember: Callable[[Callable[[], torch.Tensor]], torch.Tensor] | None = None
    ) -> torch.Tensor:
        """``f(0)`` per example (no gradient), for the zero baseline.

        Without dropout or batch statistics in training mode (a plain module left in train mode computes the
        same as in eval mode), without per-example forward arguments and with class-index targets, every
        example has the same ``f(0)``: one zero row is run and its output shared, instead of a batch of zeros.
        ``remember(run_row)`` may answer that row from a cache of its own instead of calling ``run_row()``.
        """
        # Without any module in training mode there is no dropout or batch statistics to look for.
        sensitive = self.any_training and train_mode_modules(self.model)
        if self.scorer.batched_kwargs or self.scorer.callable_target or sensitive:
            return self.baseline_scores(torch.zeros_like(self.inputs))

        def run_row() -> torch.Tensor:
            with torch.no_grad():
                return self.scorer.logits(torch.zeros_like(self.inputs[:1])).detach()[0]

        row = run_row() if remember is None else remember(run_row)
        # The target scores of the one row: one index_select, where expand + gather + squeeze are three ops.
        return row.index_select(0, self.scorer.target)  # type: ignore[arg-type]

    def input_baseline(self) -> torch.Tensor:
        """The input-shaped baseline of the request (float inputs), built with the common baseline options."""
        return make_baseline(
            self.baseline,
            self.inputs,
            data=self.common["data"],
            blur_sigma=self.common["blur_sigma"],
            seed=self.common["seed"],
        )

    def baseline_scores(self, baseline: torch.Tensor) -> torch.Tensor:
        """``f(baseline)`` per example (no gradient)."""
        with torch.no_grad():
            return self.scorer(baseline).detach()

    @contextmanager
    def seeded(self) -> Iterator[None]:
        """Draw random numbers from ``seed`` without disturbing the user's global RNG states.

        Captum draws from torch's and (GradientShap) numpy's global generators; both are seeded and restored.
        """
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        numpy_state = np.random.get_state()
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(int(self.common["seed"]))
                np.random.seed(int(self.common["seed"]) % 2**32)
                yield
        finally:
            np.random.set_state(numpy_state)


@dataclass
class MethodOutput:
    """What a method returns; ``attribute`` turns it into an ``Attribution``."""

    values: Values  # a tensor, or a tuple of tensors for a tuple-valued layer
    baseline_outputs: torch.Tensor | None = None
    baseline_name: str | None = None
    n_steps: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    # False for local attributions (multiply_by_inputs=False): completeness, hence delta, does not apply.
    complete: bool = True
    # f(x) from the method's own forward, for requests without a first forward (``Request.outputs`` None).
    outputs: torch.Tensor | None = None
