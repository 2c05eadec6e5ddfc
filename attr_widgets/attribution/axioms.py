"""Check the axioms of Sundararajan et al. (2017) and Hesse et al. (2021) for a method on the user's model.

Each axiom is tested on a probe built from the user's model ``F`` (wrapped, never modified):

- completeness: Σ A(x) = F(x) − F(b) on the inputs.
- sensitivity(a): probes ``x̃ = b + (x_i − b_i)·e_i`` differ from the baseline in one feature ``i`` (those
  with the largest ``|x_i − b_i|``); where ``F(x̃) ≠ F(b)``, feature ``i`` needs a non-zero attribution.
- sensitivity(b) (dummy): ``G(x) = F(m·x + (1 − m)·b)`` ignores the features with ``m = 0``: they get 0.
- implementation invariance: ``G(x) = F(P(x))`` with ``P(x) = x + Σ_g d_g·(max_A(u_g) − max_B(u_g))``,
  ``u_g = R_g x + c_g``: the same three-way maximum nested in two orders (``max(max(u0, u1), u2)`` and
  ``max(max(u2, u1), u0)``, each ``max(p, q) = p + ReLU(q − p)``) cancels exactly, so G equals F; methods
  that follow the chain rule (gradients, IG) give the same attributions, discrete-gradient and
  modified-backprop methods (DeepLIFT, guided backprop) do not.
- linearity: ``A(a·F1 + b·F2) = a·A(F1) + b·A(F2)`` with F1 the target logit and F2 the next class's logit
  (or, for a single-output model, the linear function ``r·x``).
- symmetry preservation: ``G(x) = F(S(x))`` where S maps chosen feature pairs to ``(x_i + x_j, |x_i − x_j|)``,
  so swapping a pair leaves G unchanged (and S keeps F's homogeneity); on inputs and baselines with equal
  values in each pair, the pair's attributions must be equal.

Each ``attribute`` call gets its own seed (``seed + 1``, ``seed + 2``, ...): a method whose attributions
depend on its random draw (one-sample expected gradients, SmoothGrad) fails the equalities as two independent
runs would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ._api import attribute
from ._model_state import model_device, preserved_model
from ._outputs import OutputSelector, resolve_target, select_output
from ._validation import check_inputs, check_model, unknown_name_error

AXIOMS: tuple[str, ...] = ("completeness", "sensitivity_a", "sensitivity_b", "implementation_invariance")
AXIOMS += ("linearity", "symmetry_preserving")
_TINY = 1e-30


@dataclass(frozen=True)
class AxiomCheck:
    """The outcome of one axiom probe: ``passed`` is ``measured`` compared with ``tolerance``."""

    axiom: str
    passed: bool
    measured: float
    tolerance: float
    measure: str
    probes: int
    detail: str = ""


@dataclass(frozen=True)
class AxiomReport:
    """Per-axiom results of :func:`check_axioms` for one method."""

    method: str
    checks: dict[str, AxiomCheck]

    def __getitem__(self, axiom: str) -> AxiomCheck:
        """The check of one axiom by name."""
        if axiom not in self.checks:
            raise unknown_name_error("axiom", axiom, self.checks)
        return self.checks[axiom]

    @property
    def passed(self) -> dict[str, bool]:
        """Axiom name -> passed."""
        return {name: check.passed for name, check in self.checks.items()}

    @property
    def all_passed(self) -> bool:
        """Whether every checked axiom passed."""
        return all(self.passed.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able)."""
        return {"method": self.method, "checks": {name: asdict(check) for name, check in self.checks.items()}}

    def __str__(self) -> str:
        """A table: axiom, verdict, measured value, tolerance."""
        rows = [
            f"  {c.axiom:<26} {'pass' if c.passed else 'FAIL'}  {c.measure} = {c.measured:.3g} "
            f"(tolerance {c.tolerance:.1g}, {c.probes} probes)"
            for c in self.checks.values()
        ]
        return "\n".join([f"axioms for method={self.method!r}", *rows])


class _Scores(nn.Module):
    """The user's model as ``[N, classes]`` scores (a callable target becomes one column)."""

    def __init__(self, model: nn.Module, output: OutputSelector, score_fn: Callable | None) -> None:
        super().__init__()
        self.model, self.output, self.score_fn = model, output, score_fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Selected output, or the callable target's scores as ``[N, 1]``."""
        logits = select_output(self.model(x), self.output, batch_size=x.shape[0])
        return logits if self.score_fn is None else self.score_fn(logits).reshape(-1, 1)


class _Dummy(nn.Module):
    """``G(x) = F(m·x + (1 − m)·b)``: the features with ``m = 0`` are dummies."""

    def __init__(self, scores: nn.Module, keep: torch.Tensor, baseline: torch.Tensor) -> None:
        super().__init__()
        self.scores, self.keep, self.fill = scores, keep, baseline * (1 - keep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores with the dummy features replaced by the baseline."""
        return self.scores(x * self.keep + self.fill)


class _NestedMax(nn.Module):
    """Max of ``u[..., 0:3]`` as ``max(max(u_a, u_b), u_c)`` with ``max(p, q) = p + ReLU(q − p)``."""

    def __init__(self, order: tuple[int, int, int]) -> None:
        super().__init__()
        self.order, self.inner, self.outer = order, nn.ReLU(), nn.ReLU()

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """max(max(u_a, u_b), u_c) for (a, b, c) = order."""
        a, b, c = (u[..., i] for i in self.order)
        first = a + self.inner(b - a)
        return first + self.outer(c - first)


class _Reimplemented(nn.Module):
    """``G(x) = F(x + Σ_g d_g·(max_A(u_g) − max_B(u_g)))``: F after the identity written through ReLUs."""

    def __init__(
        self, scores: nn.Module, projections: torch.Tensor, offsets: torch.Tensor, directions: torch.Tensor
    ) -> None:
        super().__init__()
        self.scores = scores
        self.projections = projections  # [G, 3, n]
        self.offsets = offsets  # [G, 3]: keeps the baseline away from a three-way tie
        self.directions = directions  # [G, n]
        self.max_a, self.max_b = _NestedMax((0, 1, 2)), _NestedMax((2, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores of F on P(x), which equals x."""
        flat = x.flatten(1)
        u = torch.einsum("gkn,bn->bgk", self.projections, flat) + self.offsets
        zero = self.max_a(u) - self.max_b(u)  # [B, G], exactly 0 in exact arithmetic
        return self.scores((flat + zero @ self.directions).view_as(x))


class _Combined(nn.Module):
    """Columns ``a·F_c + b·F_{c+1}`` (F2 = the next class), or ``a·F + b·r·x`` for a single output.

    ``a = 0, b = 1`` gives F2 alone.
    """

    def __init__(self, scores: nn.Module, a: float, b: float, linear: torch.Tensor | None) -> None:
        super().__init__()
        self.scores, self.a, self.b = scores, a, b
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """a·F1 + b·F2."""
        out = self.scores(x)
        second = out.roll(-1, dims=1) if self.linear is None else (x.flatten(1) @ self.linear).unsqueeze(1)
        return self.a * out + self.b * second


class _PairMix(nn.Module):
    """``G(x) = F(S(x))``, each pair (i, j) mapped to ``(x_i + x_j, |x_i − x_j|)``: symmetric in every pair.

    Both features reach F through both slots; their gradients agree where ``x_i = x_j`` and differ elsewhere,
    so a method that looks at the pair off that line (input noise, occlusion windows) breaks the symmetry.
    """

    def __init__(self, scores: nn.Module, first: torch.Tensor, second: torch.Tensor) -> None:
        super().__init__()
        self.scores, self.first, self.second = scores, first, second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores on the pair-mixed input."""
        flat = x.flatten(1)
        left, right = flat[:, self.first], flat[:, self.second]
        flat = flat.index_copy(1, self.first, left + right).index_copy(1, self.second, (left - right).abs())
        return self.scores(flat.view_as(x))


def _relative(diff: torch.Tensor, scale: torch.Tensor) -> float:
    """Largest ``|diff|`` over the batch relative to the per-example scale (0 when both vanish)."""
    diff = diff.flatten(1).abs().amax(dim=1) if diff.dim() > 1 else diff.abs()
    scale = scale.flatten(1).abs().amax(dim=1) if scale.dim() > 1 else scale.abs()
    ratio = torch.where(diff == 0, torch.zeros_like(diff), diff / scale.clamp_min(_TINY))
    return float(ratio.max())


def check_axioms(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    method: str,
    target: Any = None,
    baseline: float | torch.Tensor = 0.0,
    axioms: Iterable[str] = AXIOMS,
    rtol: float = 1e-2,
    zero_tol: float = 1e-6,
    n_features: int = 4,
    n_pairs: int = 4,
    coefficients: tuple[float, float] = (0.7, 0.3),
    seed: int = 0,
    output: OutputSelector = None,
    **attribute_options: Any,
) -> AxiomReport:
    """Probe ``method`` on ``model`` for each of ``axioms`` and report pass/fail with the measured numbers.

    Args:
        model: the user's network (never modified: it is only wrapped).
        inputs: a float batch ``[B, ...]``.
        method: an ``attribute`` method name; ``attribute_options`` are passed through (``n_steps=...``).
        target: as in ``attribute`` (None: the top class of each example).
        output: the output selector, as in ``attribute``.
        baseline: one example's baseline (a number or a tensor broadcastable to ``inputs.shape[1:]``).
        axioms: which of ``AXIOMS`` to check.
        rtol: relative tolerance of the equalities (completeness, invariance, linearity, symmetry).
        zero_tol: sensitivity(a) needs ``|a_i| > zero_tol·|F(x̃) − F(b)|``; sensitivity(b) needs dummy
            attributions ``≤ zero_tol`` times the largest attribution.
        n_features: sensitivity(a) probes per example.
        n_pairs: symmetric feature pairs of the symmetry probe.
        coefficients: ``(a, b)`` of the linear combination.
        seed: seeds the probes (masks, projections, pairs) and, incremented, each ``attribute`` call.
        **attribute_options: passed to every ``attribute`` call (``n_steps``, ``integration``, options).
    """
    check_model(model)
    chosen = tuple(axioms)
    for name in chosen:
        if name not in AXIOMS:
            raise unknown_name_error("axioms", name, AXIOMS)
    x = check_inputs(inputs, model_device(model))
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    if base.dim() > 0 and base.shape[0] == 1 and base.dim() == x.dim():
        base = base[0]
    try:
        base = base.expand(x.shape[1:]).clone()
    except RuntimeError as error:
        raise ValueError(
            f"baseline: expected a number or one example broadcastable to {tuple(x.shape[1:])}, "
            f"got shape {tuple(base.shape)}."
        ) from error
    if rtol <= 0 or zero_tol < 0:
        raise ValueError(f"rtol must be > 0 and zero_tol >= 0, got rtol={rtol}, zero_tol={zero_tol}.")
    options = {"output": None, "cache": False, **attribute_options}
    generator = torch.Generator().manual_seed(seed)
    with preserved_model(model):
        with torch.no_grad():
            logits = select_output(model(x), output, batch_size=x.shape[0])
        resolved = resolve_target(target, logits)
        score_fn = None if isinstance(resolved, torch.Tensor) else resolved
        scores = _Scores(model, output, score_fn)
        t = (
            resolved
            if isinstance(resolved, torch.Tensor)
            else torch.zeros_like(logits[:, 0], dtype=torch.long)
        )
        probe = _Probe(scores, x, base, t, method, options, seed, generator, rtol, zero_tol)
        probe.n_features, probe.n_pairs, probe.coefficients = n_features, n_pairs, coefficients
        checks = {name: getattr(probe, name)() for name in chosen}
    return AxiomReport(method, checks)


_MEASURES = {
    "completeness": "max |ΣA − ΔF| / |ΔF|",
    "sensitivity_a": "min |a_i| / |ΔF|",
    "sensitivity_b": "max |a_dummy| / max |a|",
    "implementation_invariance": "max |A(F) − A(G)| / max |A(F)|",
    "linearity": "max |A(aF1 + bF2) − aA(F1) − bA(F2)| / max |aA(F1) + bA(F2)|",
    "symmetry_preserving": "max |a_i − a_j| / max |a|",
}


@dataclass
class _Probe:
    scores: nn.Module
    x: torch.Tensor
    base: torch.Tensor
    target: torch.Tensor
    method: str
    options: dict[str, Any]
    seed: int
    generator: torch.Generator
    rtol: float
    zero_tol: float
    n_features: int = 4
    n_pairs: int = 4
    coefficients: tuple[float, float] = (0.7, 0.3)

    def run(
        self, model: nn.Module, x: torch.Tensor, target: torch.Tensor, base: torch.Tensor
    ) -> torch.Tensor:
        self.seed += 1  # independent draws for every call (see the module docstring)
        values = attribute(
            model, x, method=self.method, target=target, baseline=base, seed=self.seed, **self.options
        )
        return values.values.detach()

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator).to(self.x.device, self.x.dtype)

    def _gap(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._score(x, target) - self._score(self.base.expand_as(x), target)

    def _score(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.scores(x).gather(1, target[:, None]).squeeze(1)

    def _check(self, axiom: str, measured: float, probes: int, detail: str = "") -> AxiomCheck:
        tol = self.zero_tol if axiom.startswith("sensitivity") else self.rtol
        # sensitivity(a) is a lower bound (attributions away from zero); the others are upper bounds.
        passed = measured > tol if axiom == "sensitivity_a" else measured <= tol
        return AxiomCheck(axiom, passed, measured, tol, _MEASURES[axiom], probes, detail)

    def completeness(self) -> AxiomCheck:
        values = self.run(self.scores, self.x, self.target, self.base)
        gap = self._gap(self.x, self.target)
        return self._check("completeness", _relative(values.flatten(1).sum(1) - gap, gap), len(gap))

    def sensitivity_a(self) -> AxiomCheck:
        flat, base = self.x.flatten(1), self.base.flatten()
        k = max(1, min(self.n_features, flat.shape[1]))
        picked = (flat - base).abs().topk(k, dim=1).indices.reshape(-1)  # k features per example
        rows = torch.arange(len(picked), device=flat.device)
        probes = base.repeat(len(picked), 1)
        probes[rows, picked] = flat.repeat_interleave(k, 0)[rows, picked]
        probes = probes.view(-1, *self.x.shape[1:])
        target = self.target.repeat_interleave(k)
        values = self.run(self.scores, probes, target, self.base).flatten(1)
        gap = self._gap(probes, target)
        applicable = gap.abs() > 1e-6 * (1 + self._score(self.base[None], target[:1]).abs())
        share = values[rows, picked].abs() / gap.abs().clamp_min(_TINY)
        count = int(applicable.sum())
        measured = float(share[applicable].min()) if count else float("inf")
        return self._check("sensitivity_a", measured, count, "" if count else "no probe changed the output")

    def sensitivity_b(self) -> AxiomCheck:
        keep = (torch.rand(self.base.numel(), generator=self.generator) < 0.5).to(self.x.device, self.x.dtype)
        keep[0], keep[-1] = 1.0, 0.0  # at least one live feature and one dummy
        wrapped = _Dummy(self.scores, keep.view_as(self.base), self.base)
        values = self.run(wrapped, self.x, self.target, self.base).flatten(1)
        dummies = values[:, keep == 0]
        return self._check("sensitivity_b", _relative(dummies, values), dummies.numel())

    def implementation_invariance(self, gadgets: int = 8) -> AxiomCheck:
        n = self.base.numel()
        spread = float((self.x.flatten(1) - self.base.flatten()).abs().mean()) or 1.0
        projections = self._rand(gadgets, 3, n) / max(1.0, n**0.5)
        offsets = self._rand(gadgets, 3) * spread
        # Large directions make the gadgets' share of a discrete-gradient attribution visible; the identity
        # stays exact up to rounding of max_A − max_B (a few ulps of u, times |d|).
        directions = self._rand(gadgets, n) * (10 * spread)
        wrapped = _Reimplemented(self.scores, projections, offsets, directions)
        with torch.no_grad():
            gap = _relative(wrapped(self.x) - self.scores(self.x), self.scores(self.x))
        plain = self.run(self.scores, self.x, self.target, self.base)
        rewritten = self.run(wrapped, self.x, self.target, self.base)
        detail = f"outputs of the two implementations differ by {gap:.1g} (relative)"
        return self._check(
            "implementation_invariance", _relative(rewritten - plain, plain), len(plain), detail
        )

    def linearity(self) -> AxiomCheck:
        a, b = self.coefficients
        with torch.no_grad():
            classes = self.scores(self.x[:1]).shape[1]
        linear = None if classes > 1 else self._rand(self.base.numel())
        f1 = self.run(self.scores, self.x, self.target, self.base)
        f2 = self.run(_Combined(self.scores, 0.0, 1.0, linear), self.x, self.target, self.base)
        both = self.run(_Combined(self.scores, a, b, linear), self.x, self.target, self.base)
        expected = a * f1 + b * f2
        return self._check("linearity", _relative(both - expected, expected), len(both))

    def symmetry_preserving(self) -> AxiomCheck:
        n = self.base.numel()
        if n < 2:
            return self._check("symmetry_preserving", 0.0, 0, "a single feature has no pairs")
        pairs = max(1, min(self.n_pairs, n // 2))
        chosen = torch.randperm(n, generator=self.generator)[: 2 * pairs].to(self.x.device)
        first, second = chosen[:pairs], chosen[pairs:]

        def symmetrise(t: torch.Tensor) -> torch.Tensor:
            flat = t.flatten(1).clone()
            mean = (flat[:, first] + flat[:, second]) / 2
            flat[:, first], flat[:, second] = mean, mean
            return flat.view_as(t)

        x, base = symmetrise(self.x), symmetrise(self.base[None])[0]
        values = self.run(_PairMix(self.scores, first, second), x, self.target, base).flatten(1)
        measured = _relative(values[:, first] - values[:, second], values)
        return self._check("symmetry_preserving", measured, pairs * len(values))
