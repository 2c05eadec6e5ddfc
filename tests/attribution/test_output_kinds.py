"""Scores that are already probabilities (or log-probabilities) are shown as they are, not softmaxed again."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

import attr_widgets as aw
from attr_widgets.attribution import detect_output_kind


def _peaked(head: nn.Module | None = None) -> nn.Module:
    """8x8 images -> logits (5, 0, 0): softmax (e^5, 1, 1) / (e^5 + 2) = 98.67 % / 0.66 % / 0.66 %."""
    linear = nn.Linear(64, 3)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
    layers = [nn.Flatten(), linear] + ([head] if head is not None else [])
    return nn.Sequential(*layers).eval()


EXPECTED = [math.exp(5) / (math.exp(5) + 2), 1 / (math.exp(5) + 2), 1 / (math.exp(5) + 2)]


@pytest.mark.parametrize(
    ("head", "kind"),
    [(None, "logits"), (nn.Softmax(dim=1), "probabilities"), (nn.LogSoftmax(dim=1), "log_probabilities")],
)
def test_predict_shows_the_models_probabilities_once(head, kind) -> None:
    model = _peaked(head)
    x = torch.rand(2, 1, 8, 8)
    probs, indices = aw.predict(model, x, k=None)
    torch.testing.assert_close(probs, torch.tensor([EXPECTED, EXPECTED]), rtol=1e-5, atol=1e-7)
    assert indices[:, 0].tolist() == [0, 0]
    assert detect_output_kind(model(x)) == kind


def test_output_kind_overrides_the_detection() -> None:
    model = _peaked(nn.Softmax(dim=1))
    x = torch.rand(1, 1, 8, 8)
    twice, _ = aw.predict(model, x, k=None, output_kind="logits")
    # Softmax of probabilities: the flattened 57 % / 21 % / 21 % of the bug report.
    torch.testing.assert_close(twice[0], torch.softmax(torch.tensor(EXPECTED), dim=0))
    assert twice[0, 0] < 0.6
    with pytest.raises(ValueError, match="output_kind must be None .* 'log_probabilities'.*'probs'"):
        aw.predict(model, x, output_kind="probs")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-30, 30), min_size=2, max_size=12).map(lambda v: torch.tensor(v).reshape(1, -1)),
    st.sampled_from([torch.float32, torch.float64]),
)
def test_law_softmax_and_log_softmax_outputs_are_recognised(logits, dtype) -> None:
    z = logits.to(dtype)
    assert detect_output_kind(torch.softmax(z, dim=1)) == "probabilities"
    assert detect_output_kind(torch.log_softmax(z, dim=1)) == "log_probabilities"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=2, max_size=12))
def test_law_logits_are_not_mistaken_for_a_distribution(values) -> None:
    z = torch.tensor(values).reshape(1, -1)
    # A logit row is only a distribution if it happens to lie in [0, 1] and sum to 1 (or logsumexp 0).
    gap, log_gap = abs(float(z.double().sum()) - 1), abs(float(torch.logsumexp(z.double(), dim=1)))
    assume(not 1e-6 < gap < 1e-3 and not 1e-6 < log_gap < 1e-3)  # rounding-sized gaps: either answer is fair
    in_simplex = bool(((z >= 0) & (z <= 1)).all()) and gap <= 1e-6
    log_simplex = bool((z <= 0).all()) and log_gap <= 1e-6
    expected = "probabilities" if in_simplex else "log_probabilities" if log_simplex else "logits"
    assert detect_output_kind(z) == expected


def test_the_image_widget_shows_the_models_probabilities() -> None:
    model = _peaked(nn.Softmax(dim=1))
    w = aw.AttributionWidget(model, torch.rand(1, 8, 8), method="saliency", labels=["a", "b", "c"])
    assert w.output_kind == "probabilities" and w.options["output_kind"] == "probabilities"
    assert [entry["label"] for entry in w.top_k][0] == "a"
    assert [entry["prob"] for entry in w.top_k] == pytest.approx(EXPECTED, rel=1e-5)
    overridden = aw.AttributionWidget(model, torch.rand(1, 8, 8), method="saliency", output_kind="logits")
    assert overridden.output_kind == "logits" and overridden.top_k[0]["prob"] < 0.6
