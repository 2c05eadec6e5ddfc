"""Bad input is a TypeError/ValueError that names the argument and what was expected."""

from __future__ import annotations

import pytest
import torch
from projection_helpers import problem

from attr_widgets.projection import (
    DirectionsAccumulator,
    cross_covariance_directions,
    directions_from_covariances,
    hessian_directions,
    important_directions,
    vector_directions,
)

ACTS, GRADS = problem(20, 5, 0, dtype=torch.float32)


@pytest.mark.parametrize(
    ("acts", "grads", "kwargs", "error", "pattern"),
    [
        (ACTS, GRADS[:, :4], {}, ValueError, r"grads must have the same shape as acts, \(20, 5\)"),
        (ACTS, GRADS[:19], {}, ValueError, r"grads must have the same shape"),
        (ACTS, GRADS, {"k": 0}, ValueError, r"k must be >= 1"),
        (ACTS, GRADS, {"k": 2.0}, TypeError, r"k must be an int"),
        (ACTS, GRADS, {"k": True}, TypeError, r"k must be an int"),
        (ACTS[:1], GRADS[:1], {}, ValueError, r"acts needs at least 2 samples"),
        (ACTS[0], GRADS[0], {}, ValueError, r"acts must have shape \[\.\.\., p, n\]"),
        (ACTS.long(), GRADS, {}, TypeError, r"acts must have a floating dtype"),
        (ACTS.numpy(), GRADS, {}, TypeError, r"acts must be a torch.Tensor"),
        (ACTS, GRADS.numpy(), {}, TypeError, r"grads must be a torch.Tensor"),
        (
            ACTS.index_fill(0, torch.tensor([3]), float("nan")),
            GRADS,
            {},
            ValueError,
            r"acts contains 5 NaN or Inf",
        ),
        (
            ACTS,
            GRADS.index_fill(1, torch.tensor([2]), float("inf")),
            {},
            ValueError,
            r"grads contains 20 NaN or Inf",
        ),
        (ACTS, GRADS, {"method": "svd"}, ValueError, r"method must be one of 'exact', 'randomized', 'auto'"),
        (ACTS, GRADS, {"rtol": 1.5}, ValueError, r"rtol must be None or a float in \[0, 1\)"),
        (ACTS, GRADS, {"rtol": "big"}, TypeError, r"rtol must be None or a float"),
        (ACTS, GRADS, {"oversample": -1}, ValueError, r"oversample must be an int >= 0"),
        (ACTS, GRADS, {"n_iter": 1.5}, TypeError, r"n_iter must be an int >= 0"),
        (ACTS, GRADS, {"generator": 3}, TypeError, r"generator must be a torch.Generator"),
        (ACTS[:, :0], GRADS[:, :0], {}, ValueError, r"acts needs at least one feature"),
    ],
)
def test_important_directions_rejects(acts, grads, kwargs, error, pattern):
    kwargs = {"k": 2, **kwargs}
    k = kwargs.pop("k")
    with pytest.raises(error, match=pattern):
        important_directions(acts, grads, k, **kwargs)


def test_half_precision_is_upcast():
    proj = important_directions(ACTS.half(), GRADS.half(), 2)
    assert proj.act_basis.dtype == torch.float32


def test_vector_directions_rejects_mismatched_jacobians():
    with pytest.raises(ValueError, match=r"jacobians must have shape \(20, 'm', 5\)"):
        vector_directions(ACTS, torch.zeros(20, 3, 4), 2)
    with pytest.raises(ValueError, match=r"jacobians must have shape \[\.\.\., p, m, n\]"):
        vector_directions(ACTS, torch.zeros(20, 5), 2)


def test_directions_from_covariances_rejects():
    mu, sigma = torch.zeros(3), torch.eye(3)
    with pytest.raises(ValueError, match=r"covariance must have shape \(3, 3\)"):
        directions_from_covariances(mu, torch.eye(4), None, 1)
    with pytest.raises(ValueError, match=r"gradient_moment must have the shape of covariance"):
        directions_from_covariances(mu, sigma, torch.eye(2), 1)
    with pytest.raises(ValueError, match=r"covariance must be a finite tensor"):
        directions_from_covariances(mu, sigma * float("nan"), None, 1)
    with pytest.raises(TypeError, match=r"mean must be a floating torch.Tensor"):
        directions_from_covariances([0.0, 0.0, 0.0], sigma, None, 1)


def test_accumulator_rejects():
    acc = DirectionsAccumulator()
    with pytest.raises(ValueError, match=r"the accumulator is empty"):
        acc.result(2)
    with pytest.raises(ValueError, match=r"pass exactly one of grads"):
        acc.update(ACTS)
    acc.update(ACTS, GRADS)
    with pytest.raises(ValueError, match=r"acts chunks must all have shape \[\*\(\), m, 5\]"):
        acc.update(ACTS[:, :4], GRADS[:, :4])
    with pytest.raises(ValueError, match=r"pca=True; do not pass grads"):
        DirectionsAccumulator(pca=True).update(ACTS, GRADS)
    with pytest.raises(ValueError, match=r"n must be None or an int >= 1"):
        DirectionsAccumulator(n=0)
    one = DirectionsAccumulator().update(ACTS[:1], GRADS[:1])
    with pytest.raises(ValueError, match=r"need at least 2 samples"):
        one.result(1)


def test_extensions_reject():
    with pytest.raises(ValueError, match=r"pass exactly one of f .* or hessian"):
        hessian_directions(ACTS, 2)
    with pytest.raises(ValueError, match=r"hessian must be a finite tensor of shape \(5, 5\)"):
        hessian_directions(ACTS, 2, hessian=torch.eye(4))
    with pytest.raises(ValueError, match=r"mode must be 'auto', 'dense' or 'hvp'"):
        hessian_directions(ACTS, 2, f=lambda x: x.sum(-1), mode="lanczos")
    with pytest.raises(ValueError, match=r"f must map a \[b, n\] batch to per-sample scalars"):
        hessian_directions(ACTS, 2, f=lambda x: x)
    with pytest.raises(ValueError, match=r"acts_y must hold the same samples as acts_x"):
        cross_covariance_directions(ACTS, ACTS[:10], GRADS, GRADS[:10], 2)
    with pytest.raises(ValueError, match=r"grads_y must have shape \(20, 3\)"):
        cross_covariance_directions(ACTS, ACTS[:, :3], GRADS, GRADS, 2)
