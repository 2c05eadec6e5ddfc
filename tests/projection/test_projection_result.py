"""The Projection object: matrix, call, coords, reconstruct, objective, batching and devices."""

from __future__ import annotations

import pytest
import torch
from projection_helpers import problem, rel

from attr_widgets.projection import Projection, important_directions


@pytest.fixture
def fitted():
    acts, grads = problem(60, 7, 0)
    return acts, grads, important_directions(acts, grads, 3, method="exact")


def test_call_coords_and_reconstruct_are_the_factored_projection(fitted):
    acts, _, proj = fitted
    p_mat = proj.matrix()
    expected = proj.mean + (acts - proj.mean) @ p_mat.mT
    torch.testing.assert_close(proj(acts), expected)
    coords = proj.coords(acts)
    assert coords.shape == (60, 3)
    torch.testing.assert_close(coords, (acts - proj.mean) @ proj.grad_basis)
    torch.testing.assert_close(proj.reconstruct(coords), expected)
    # projecting twice changes nothing, and the slider coordinates of a projected point are unchanged
    torch.testing.assert_close(proj(proj(acts)), proj(acts))
    torch.testing.assert_close(proj.coords(proj(acts)), coords)
    # moving one slider moves along one act_basis column only
    shifted = proj.reconstruct(coords + torch.tensor([1.0, 0.0, 0.0], dtype=coords.dtype))
    torch.testing.assert_close(shifted - proj.reconstruct(coords), proj.act_basis[:, 0].expand(60, -1))


def test_properties(fitted):
    _, _, proj = fitted
    assert proj.n_features == 7 and proj.n_directions == 3 and proj.batch_shape == ()
    assert int(proj.rank) == 3 and proj.n_samples == 60 and proj.method == "exact"
    half = proj.to(torch.float32)
    assert isinstance(half, Projection) and half.act_basis.dtype == torch.float32 and half.method == "exact"


def test_objective_is_the_seeds_expectation(fitted):
    acts, _, proj = fitted
    w = torch.linspace(-1, 1, 7, dtype=torch.float64)

    def f(x):
        return torch.tanh(x @ w)

    by_hand = (f(acts) - f(proj.mean + (acts - proj.mean) @ proj.matrix().mT)).square().mean()
    torch.testing.assert_close(proj.objective(f, acts), by_hand)

    def g(x):  # vector-valued: squared norms summed over outputs (seed §4.4)
        return torch.stack([f(x), x[..., 0] ** 2], -1)

    y = proj(acts)
    torch.testing.assert_close(proj.objective(g, acts), (g(acts) - g(y)).square().sum(-1).mean())


def test_objective_rejects_bad_f(fitted):
    acts, _, proj = fitted
    with pytest.raises(ValueError, match=r"f must return shape \(60,\)"):
        proj.objective(lambda x: x.sum(), acts)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_objective_no_worse_than_pca_on_a_nonlinear_f(seed):
    """f depends on a low-variance direction: PCA's top directions miss it, the seed's method does not."""
    gen = torch.Generator().manual_seed(seed)
    n, p, k = 10, 2000, 2
    scales = torch.logspace(1, -1, n, dtype=torch.float64)  # variance concentrated in the first coordinates
    acts = torch.randn(p, n, generator=gen, dtype=torch.float64) * scales
    w = torch.zeros(n, dtype=torch.float64)
    w[-3:] = torch.randn(3, generator=gen, dtype=torch.float64) * 5

    def f(x):
        return torch.sin(x @ w) + 0.1 * x[..., 0]

    x = acts.clone().requires_grad_(True)
    (grads,) = torch.autograd.grad(f(x).sum(), x)
    ours = important_directions(acts, grads, k).objective(f, acts)
    pca = important_directions(acts, None, k).objective(f, acts)
    assert ours <= pca
    assert ours < 0.5 * pca


def test_batched_projection_broadcasts_points_per_item():
    items = [problem(30, 4, s) for s in range(3)]
    acts = torch.stack([a for a, _ in items])
    grads = torch.stack([g for _, g in items])
    proj = important_directions(acts, grads, 2)
    assert proj.batch_shape == (3,)
    out = proj(acts)
    for i in range(3):
        single = important_directions(*items[i], 2)
        assert rel(out[i], single(items[i][0])) < 1e-10
    assert proj.objective(lambda x: x.sum(-1), acts).shape == (3,)
    with pytest.raises(
        ValueError, match=r"must have shape \[\.\.\., m, 4\] for a projection with batch shape"
    ):
        proj.coords(acts[0, 0])
    with pytest.raises(ValueError, match=r"does not broadcast"):
        proj.coords(torch.zeros(2, 5, 4, dtype=torch.float64))


def test_points_are_checked(fitted):
    _, _, proj = fitted
    with pytest.raises(ValueError, match=r"x must have last dim 7"):
        proj(torch.zeros(3, 6, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"x must be a floating torch.Tensor"):
        proj.coords(torch.zeros(3, 7, dtype=torch.long))
