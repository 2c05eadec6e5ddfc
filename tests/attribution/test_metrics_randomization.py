"""Adebayo et al.'s model-parameter randomisation test and the Spearman rank correlation behind it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from torch import nn

from attr_widgets.attribution._api import attribute
from attr_widgets.attribution._model_state import hook_counts
from attr_widgets.attribution.metrics import RandomizationResult, model_randomization_check, spearman


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.integers(-3, 3), min_size=8, max_size=8),  # small integers: plenty of ties
        min_size=2,
        max_size=2,
    )
)
def test_spearman_matches_scipy_with_ties(rows: list[list[int]]) -> None:
    a, b = (torch.tensor(r, dtype=torch.float64)[None] for r in rows)
    ours = float(spearman(a, b)[0])
    reference = spearmanr(rows[0], rows[1]).statistic
    if np.isnan(reference):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(reference, abs=1e-12)


def test_spearman_is_per_example_and_rank_based() -> None:
    x = torch.randn(3, 2, 5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(spearman(x, x.exp()), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(spearman(x, -(x**3)), -torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="shapes"):
        spearman(x, x[:, :1])


class WithSpareHead(nn.Module):
    """An MLP plus a head that owns parameters but never runs."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)
        )
        self.spare = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def model_and_inputs() -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    return WithSpareHead().double().eval(), torch.randn(6, 12, dtype=torch.float64)


def test_cascading_randomisation_from_the_top() -> None:
    model, x = model_and_inputs()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = model_randomization_check(model, x, method="saliency")
    assert isinstance(result, RandomizationResult) and result.cascading
    # Output side first; the spare head never runs, so it is not part of the cascade.
    assert result.layers == ("body.4", "body.2", "body.0")
    assert result.spearman.shape == result.spearman_abs.shape == (3, 6)
    # With every layer random, the gradients have nothing to do with the trained ones.
    assert result.spearman[-1].abs().mean() < 0.5
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert sum(hook_counts(model).values()) == 0
    assert "body.4" in result.summary()


def test_a_layer_that_does_not_affect_the_output_leaves_attributions_unchanged() -> None:
    model, x = model_and_inputs()
    result = model_randomization_check(
        model, x, method="integrated_gradients", layers=["spare", model.body[4]], cascading=False, n_steps=16
    )
    assert result.layers == ("spare", "body.4")
    torch.testing.assert_close(result.spearman[0], torch.ones(6, dtype=torch.float64))
    assert (result.spearman[1] < 0.999).all()


def test_independent_randomisation_randomises_one_layer_at_a_time() -> None:
    """Independent step l equals a cascade that starts at layer l (same seed, one layer)."""
    model, x = model_and_inputs()
    independent = model_randomization_check(model, x, method="saliency", cascading=False, seed=5)
    alone = model_randomization_check(model, x, method="saliency", layers=["body.4"], seed=5)
    torch.testing.assert_close(independent.spearman[0], alone.spearman[0])
    first_layer_only = model_randomization_check(model, x, method="saliency", layers=["body.0"])
    cascade = model_randomization_check(model, x, method="saliency")
    assert not torch.allclose(first_layer_only.spearman[0], cascade.spearman[-1])


def test_targets_stay_those_of_the_original_model() -> None:
    model, x = model_and_inputs()
    original = attribute(model, x, method="saliency")
    result = model_randomization_check(model, x, method="saliency", target=original.target, layers=["body.4"])
    default = model_randomization_check(model, x, method="saliency", layers=["body.4"])
    torch.testing.assert_close(result.spearman, default.spearman)


def test_bad_layers_are_named() -> None:
    model, x = model_and_inputs()
    with pytest.raises(ValueError, match="layers: .*Did you mean 'body.4'"):
        model_randomization_check(model, x, method="saliency", layers=["body.4x"])
    with pytest.raises(ValueError, match="no layer with parameters"):
        model_randomization_check(nn.ReLU(), torch.randn(2, 3), method="saliency", output=lambda o: o)


def test_keep_maps_returns_the_maps_the_correlations_were_computed_from() -> None:
    model, x = model_and_inputs()
    plain = model_randomization_check(model, x, method="saliency")
    assert plain.original is None and plain.maps is None
    kept = model_randomization_check(model, x, method="saliency", keep_maps=True)
    assert kept.original is not None and kept.maps is not None
    assert kept.maps.shape == (len(kept.layers), *x.shape)
    torch.testing.assert_close(kept.original, attribute(model, x, method="saliency").values)
    torch.testing.assert_close(kept.spearman, plain.spearman, rtol=0, atol=0)  # same draws with or without
    for step in range(len(kept.layers)):
        for row in range(x.shape[0]):
            reference = spearmanr(kept.original[row].numpy(), kept.maps[step, row].numpy()).statistic
            assert float(kept.spearman[step, row]) == pytest.approx(reference, abs=1e-12)
