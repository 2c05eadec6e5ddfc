"""Deletion / insertion curves and Hesse et al.'s KPM / KNM / KAM / RAM, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attr_widgets.attribution._api import attribute
from attr_widgets.attribution.metrics import (
    HESSE_FRACTIONS,
    deletion_curve,
    insertion_curve,
    keep_absolute_mask,
    keep_negative_mask,
    keep_positive_mask,
    keep_remove_curve,
    remove_absolute_mask,
)
from attr_widgets.attribution.metrics.keep_remove import keep_mask

DTYPE = torch.float64


class SumModel(nn.Module):
    """logits = [w·x, threshold]: class 0 wins while the weighted sum exceeds the threshold."""

    def __init__(self, weights: torch.Tensor, threshold: float | None = None) -> None:
        super().__init__()
        self.register_buffer("weights", weights)
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = (x.flatten(1) * self.weights).sum(1, keepdim=True)
        if self.threshold is None:
            return total
        return torch.cat([total, torch.full_like(total, self.threshold)], dim=1)


X = torch.tensor([[3.0, -1.0, 2.0, 0.5]], dtype=DTYPE)
ONES = torch.ones(4, dtype=DTYPE)


def test_deletion_curve_by_hand() -> None:
    """f = Σx at x = (3, −1, 2, 0.5), attribution x: delete 3, then 2, then 0.5, then −1."""
    result = deletion_curve(SumModel(ONES), X, X, steps=4, score="logit", baseline=0.0)
    torch.testing.assert_close(result.fractions, torch.tensor([0, 0.25, 0.5, 0.75, 1.0], dtype=DTYPE))
    torch.testing.assert_close(result.scores, torch.tensor([[4.5, 1.5, -0.5, -1.0, 0.0]], dtype=DTYPE))
    assert result.auc.item() == pytest.approx(0.25 * (3 + 0.5 - 0.75 - 0.5))
    assert result.name == "deletion" and result.mean_auc == pytest.approx(0.5625)


def test_insertion_curve_by_hand() -> None:
    result = insertion_curve(SumModel(ONES), X, X, steps=4, score="logit", baseline="zeros")
    torch.testing.assert_close(result.scores, torch.tensor([[0.0, 3.0, 5.0, 5.5, 4.5]], dtype=DTYPE))
    assert result.auc.item() == pytest.approx(0.25 * (1.5 + 4 + 5.25 + 5))
    data = result.to_dict()
    assert data["name"] == "insertion" and data["mean_auc"] == pytest.approx(3.9375)


def test_pixel_attributions_remove_every_channel_of_a_pixel() -> None:
    """[B, 1, H, W] attributions rank whole pixels: a step removes all channels of its pixels."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 4, 4, generator=generator, dtype=DTYPE)
    model = SumModel(torch.ones(48, dtype=DTYPE))
    pixel_scores = torch.rand(2, 1, 4, 4, generator=generator, dtype=DTYPE)
    result = deletion_curve(model, images, pixel_scores, steps=16, score="logit", baseline=0.0)
    for b in range(2):
        order = torch.argsort(pixel_scores[b].flatten(), descending=True)
        per_pixel = images[b].sum(0).flatten()
        expected = [per_pixel.sum() - per_pixel[order[:k]].sum() for k in range(17)]
        torch.testing.assert_close(result.scores[b], torch.stack(expected))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), features=st.integers(2, 12))
def test_exact_ranking_beats_every_other_ranking_on_a_linear_model(seed: int, features: int) -> None:
    """For f = w·x and the exact attribution w⊙x (IG with the zero baseline), deleting in its order gives
    the lowest curve and inserting the highest — pointwise, hence also in area — against any other ranking."""
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(features, generator=generator, dtype=DTYPE)
    x = torch.randn(3, features, generator=generator, dtype=DTYPE)
    model = SumModel(w)
    exact = attribute(model, x, method="integrated_gradients", target=0, baseline="zeros").values
    torch.testing.assert_close(exact, x * w)
    other = torch.rand(3, features, generator=generator, dtype=DTYPE)
    steps = features
    best = deletion_curve(model, x, exact, steps=steps, score="logit", baseline=0.0)
    rand = deletion_curve(model, x, other, steps=steps, score="logit", baseline=0.0)
    assert (best.scores <= rand.scores + 1e-12).all() and (best.auc <= rand.auc + 1e-12).all()
    best_in = insertion_curve(model, x, exact, steps=steps, score="logit", baseline=0.0)
    rand_in = insertion_curve(model, x, other, steps=steps, score="logit", baseline=0.0)
    assert (best_in.scores >= rand_in.scores - 1e-12).all() and (best_in.auc >= rand_in.auc - 1e-12).all()


def test_probability_score_is_the_softmax_of_the_target() -> None:
    model = SumModel(ONES, threshold=1.0)
    result = deletion_curve(model, X, X, steps=4, baseline=0.0)
    logits = torch.tensor([4.5, 1.5, -0.5, -1.0, 0.0], dtype=DTYPE)
    torch.testing.assert_close(result.scores[0], torch.sigmoid(logits - 1.0))
    assert result.score == "probability"


FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def test_keep_positive_mask_by_hand() -> None:
    """Positives (3, 2, 0.5) are eligible: k = min(⌊4p⌋, 3) = 1, 2, 3, 3 → f = 3, 5, 5.5, 5.5."""
    result = keep_positive_mask(SumModel(ONES), X, X, fractions=FRACTIONS, baseline=0.0)
    torch.testing.assert_close(result.scores, torch.tensor([[3.0, 5.0, 5.5, 5.5]], dtype=DTYPE))
    assert result.auc.item() == pytest.approx(0.25 * (4 + 5.25 + 5.5))
    assert result.name == "keep_positive" and result.score == "logit"


def test_keep_negative_mask_by_hand() -> None:
    """Only −1 is eligible: every fraction keeps just it."""
    result = keep_negative_mask(SumModel(ONES), X, X, fractions=FRACTIONS, baseline=0.0)
    torch.testing.assert_close(result.scores, torch.full((1, 4), -1.0, dtype=DTYPE))
    assert result.auc.item() == pytest.approx(-0.75)


def test_keep_and_remove_absolute_mask_by_hand() -> None:
    """logits (Σx, 1): class 0 is predicted. KAM keeps the largest |a| (always correct here); RAM keeps the
    smallest: {0.5} → 0.5, {0.5, −1} → −0.5 (wrong), {0.5, −1, 2} → 1.5 and all → 4.5 (right)."""
    model = SumModel(ONES, threshold=1.0)
    kam = keep_absolute_mask(model, X, X, fractions=FRACTIONS, baseline=0.0)
    ram = remove_absolute_mask(model, X, X, fractions=FRACTIONS, baseline=0.0)
    torch.testing.assert_close(kam.scores, torch.ones(1, 4, dtype=DTYPE))
    torch.testing.assert_close(ram.scores, torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=DTYPE))
    assert ram.auc.item() == pytest.approx(0.375) and kam.auc.item() == pytest.approx(0.75)
    assert kam.score == ram.score == "accuracy"
    # Against given labels, the same masks score the other class.
    wrong = remove_absolute_mask(model, X, X, fractions=FRACTIONS, baseline=0.0, target=1)
    torch.testing.assert_close(wrong.scores, 1 - ram.scores)


def test_zero_attributions_are_never_kept() -> None:
    values = torch.tensor([[2.0, 0.0, -3.0, 1.0]])
    assert keep_mask(values, 1.0, sort="positive", mode="keep").tolist() == [[True, False, False, True]]
    assert keep_mask(values, 1.0, sort="absolute", mode="keep").tolist() == [[True, False, True, True]]
    # remove: keep the k least important non-zero features (k = 2 of 3 eligible at p = 0.5).
    assert keep_mask(values, 0.5, sort="absolute", mode="remove").tolist() == [[True, False, False, True]]


def test_default_fractions_are_hesse_et_al() -> None:
    np.testing.assert_allclose(HESSE_FRACTIONS, np.geomspace(0.01, 1.0, num=16))
    result = keep_positive_mask(SumModel(ONES), X, X, baseline=0.0)
    assert result.scores.shape == (1, 16)
    assert result.scores[0, 0] == 0.0  # ⌊0.01·4⌋ = 0 features kept
    assert result.scores[0, -1] == 5.5


def test_attribution_objects_and_blur_baseline() -> None:
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)).eval()
    images = torch.rand(2, 3, 6, 6)
    attribution = attribute(cnn, images, method="saliency")
    curve = insertion_curve(cnn, images, attribution, steps=6)
    assert curve.scores.shape == (2, 7) and torch.isfinite(curve.auc).all()
    probs = torch.softmax(cnn(images), 1).gather(1, attribution.target[:, None]).squeeze(1).double()
    torch.testing.assert_close(curve.scores[:, -1], probs.detach())  # everything inserted = the original
    pixel = keep_remove_curve(
        cnn,
        images,
        attribution.values.mean(1, keepdim=True),
        sort="absolute",
        mode="keep",
        score="probability",
    )
    assert pixel.scores.shape == (2, 16)


def test_bad_arguments_are_named() -> None:
    model = SumModel(ONES)
    with pytest.raises(ValueError, match="attributions"):
        deletion_curve(model, X, torch.ones(1, 3), score="logit")
    with pytest.raises(ValueError, match="steps"):
        deletion_curve(model, X, X, steps=0, score="logit")
    with pytest.raises(ValueError, match="score.*Did you mean 'logit'"):
        deletion_curve(model, X, X, score="logits")
    with pytest.raises(ValueError, match="single output column"):
        deletion_curve(model, X, X)  # probability of a one-column output
    with pytest.raises(ValueError, match="fractions"):
        keep_positive_mask(model, X, X, fractions=(0.5, 0.2))
    with pytest.raises(ValueError, match="sort"):
        keep_remove_curve(model, X, X, sort="positives", mode="keep", score="logit")
    with pytest.raises(ValueError, match="baseline"):
        insertion_curve(model, X, X, score="logit")  # blur needs spatial inputs
    with pytest.raises(ValueError, match="inputs"):
        deletion_curve(model, torch.full((1, 4), float("nan")), X, score="logit")
