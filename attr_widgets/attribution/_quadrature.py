"""Quadrature rules on [0, 1] for the path integral of Integrated Gradients.

Each rule maps ``n`` (the number of gradient evaluations) to nodes ``alphas`` and weights that sum to 1, so
IG of a linear model is exact for every rule and every ``n``. (Captum's ``riemann_trapezoid`` places ``n``
nodes on ``linspace(0, 1, n)`` but weights them with ``1/n``, halved at the ends: its weights sum to
``(n - 1) / n`` and its attributions are biased by that factor. Ours use ``1/(n - 1)``.)

For ``n_steps="auto"`` the rules are refined along nested sequences where the nodes allow it (the gradients
already computed are reused): left/right Riemann and the trapezoid rule double the number of intervals, the
midpoint rule triples it. Gauss-Legendre nodes of different orders are disjoint, so its refinement recomputes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
# Not a fixed rule: nodes placed where f changes along the path (_adaptive), for n_steps="auto" only.
ADAPTIVE = "adaptive"
INTEGRATIONS = (*RULES, ADAPTIVE)


def min_steps(rule: str) -> int:
    """Smallest number of nodes the rule accepts."""
    return 2 if rule in ("riemann_trapezoid", ADAPTIVE) else 1


def nodes(rule: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alphas`` in [0, 1] and weights (summing to 1) of ``rule`` with ``n`` gradient evaluations."""
    if n < min_steps(rule):
        raise ValueError(f"n_steps must be at least {min_steps(rule)} for integration={rule!r}, got {n}.")
    alphas, weights = _cached_nodes(rule, n)
    # Copies keep the cache intact whatever callers do with the arrays.
    return alphas.copy(), weights.copy()


@functools.lru_cache(maxsize=256)
def _cached_nodes(rule: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Gauss-Legendre costs O(n²) per n: worth remembering.
    return _compute_nodes(rule, n)


def _compute_nodes(rule: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    if n < min_steps(rule):
        raise ValueError(f"n_steps must be at least {min_steps(rule)} for integration={rule!r}, got {n}.")
    k = np.arange(n, dtype=np.float64)
    if rule == "gausslegendre":
        x, w = gauss_legendre(n)
        return 0.5 * (x + 1.0), 0.5 * w
    if rule == "riemann_left":
        return k / n, np.full(n, 1.0 / n)
    if rule == "riemann_right":
        return (k + 1.0) / n, np.full(n, 1.0 / n)
    if rule == "riemann_middle":
        return (k + 0.5) / n, np.full(n, 1.0 / n)
    if rule == "riemann_trapezoid":
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2.0
        return k / (n - 1), weights
    raise ValueError(f"unknown integration rule {rule!r}")


def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes (ascending) and weights on [-1, 1] in O(n²) time.

    numpy's ``leggauss`` solves a companion-matrix eigenproblem, O(n³) (2000 nodes take seconds). Here every
    node is refined at once by Newton's method on P_n, evaluated with the three-term recurrence, from the
    standard guess cos(pi (i - 1/4) / (n + 1/2)), which converges quadratically from the start for all n.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    i = np.arange(1, n + 1, dtype=np.float64)
    x = np.cos(np.pi * (i - 0.25) / (n + 0.5))
    for _ in range(100):
        p, dp = _legendre_and_derivative(n, x)
        step = p / dp
        x = x - step
        if np.max(np.abs(step)) < 1e-15:
            break
    # One more evaluation at the converged nodes for the derivative in the weights.
    _, dp = _legendre_and_derivative(n, x)
    w = 2.0 / ((1.0 - x * x) * dp * dp)
    # The guesses run from +1 down to -1; leggauss (and callers) use ascending nodes.
    return x[::-1].copy(), w[::-1].copy()


def _legendre_and_derivative(n: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # (k + 1) P_{k+1} = (2k + 1) x P_k - k P_{k-1};  P_n' = n (x P_n - P_{n-1}) / (x² - 1).
    p_prev = np.ones_like(x)
    p = x.copy()
    for k in range(1, n):
        p_prev, p = p, ((2.0 * k + 1.0) * x * p - k * p_prev) / (k + 1.0)
    if n == 0:
        p = p_prev
    dp = n * (x * p - p_prev) / (x * x - 1.0)
    return p, dp


def captum_trapezoid_weights(n: int) -> np.ndarray:
    """Captum's ``riemann_trapezoid`` step sizes, reproduced for comparison (they sum to (n - 1) / n)."""
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, _ = approximation_parameters("riemann_trapezoid")
    return np.asarray(step_sizes(n), dtype=np.float64)


@dataclass(frozen=True)
class Refinement:
    """One level of an ``n_steps="auto"`` refinement.

    ``new_alphas`` are the nodes to evaluate at this level; the level's estimate is
    ``sum(group_weights[g] * sum of gradients at all nodes of group g so far)``. Groups let nested rules
    reuse earlier gradients: all interior nodes of a trapezoid share one weight, its two ends another.
    ``fresh`` says the sums restart at this level (rules without nesting).
    """

    n: int
    new_alphas: np.ndarray
    new_groups: np.ndarray
    group_weights: np.ndarray
    fresh: bool


def refinements(rule: str, start: int) -> Iterator[Refinement]:
    """Endless sequence of refinement levels for ``rule``, starting at ``start`` nodes."""
    n = max(start, min_steps(rule))
    if rule in ("riemann_left", "riemann_right"):
        alphas, _ = nodes(rule, n)
        yield Refinement(n, alphas, np.zeros(n, dtype=np.int64), np.array([1.0 / n]), False)
        while True:
            n *= 2
            # Left and right rules of 2n add the same nodes to those of n: the odd multiples of 1/(2n).
            new = (2.0 * np.arange(n // 2) + 1.0) / n
            yield Refinement(n, new, np.zeros(n // 2, dtype=np.int64), np.array([1.0 / n]), False)
    elif rule == "riemann_middle":
        alphas, _ = nodes(rule, n)
        yield Refinement(n, alphas, np.zeros(n, dtype=np.int64), np.array([1.0 / n]), False)
        while True:
            n *= 3
            i = np.arange(n)
            new = (i[i % 3 != 1] + 0.5) / n
            yield Refinement(n, new, np.zeros(len(new), dtype=np.int64), np.array([1.0 / n]), False)
    elif rule == "riemann_trapezoid":
        intervals = n - 1
        alphas, _ = nodes(rule, n)
        groups = np.zeros(n, dtype=np.int64)
        groups[[0, -1]] = 1
        yield Refinement(n, alphas, groups, np.array([1.0 / intervals, 0.5 / intervals]), False)
        while True:
            intervals *= 2
            new = (2.0 * np.arange(intervals // 2) + 1.0) / intervals
            yield Refinement(
                intervals + 1,
                new,
                np.zeros(len(new), dtype=np.int64),
                np.array([1.0 / intervals, 0.5 / intervals]),
                False,
            )
    elif rule == "gausslegendre":
        while True:
            alphas, weights = nodes(rule, n)
            yield Refinement(n, alphas, np.arange(n), weights, True)
            n *= 2
    else:
        raise ValueError(f"unknown integration rule {rule!r}")
