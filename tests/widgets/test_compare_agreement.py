"""The agreement measures and the shared extent against independent computations (scipy, definitions)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import spearmanr

from attr_widgets.widgets._compare_agreement import (
    agreement_matrix,
    rank_correlation,
    scale_extent,
    top_k_agreement,
)

# Small integer values give many ties, where rank conventions differ.
maps = arrays(np.float32, (5, 5), elements=st.integers(-3, 3).map(float))


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
@settings(max_examples=60, deadline=None)
@given(maps, maps)
def test_rank_correlation_is_scipys_spearman_of_the_magnitudes(a, b):
    expected = spearmanr(np.abs(a).ravel(), np.abs(b).ravel()).statistic
    got = rank_correlation(a, b)
    if math.isnan(expected):
        assert got is None  # a constant ranking: rho is undefined
    else:
        assert got == pytest.approx(expected, abs=1e-12)
        assert rank_correlation(b, a) == pytest.approx(got, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(maps, maps, st.integers(1, 25))
def test_top_k_agreement_counts_the_shared_top_features(a, b, k):
    def top(v):
        flat = np.abs(v).ravel().tolist()
        return set(sorted(range(len(flat)), key=lambda i: (-flat[i], i))[:k])

    assert top_k_agreement(a, b, k) == len(top(a) & top(b)) / k
    assert top_k_agreement(a, a, k) == 1.0
    assert top_k_agreement(a, b, 25) == 1.0  # every feature is in the top 25 of both


def test_hand_computed_case():
    a = np.array([[3.0, -2.0], [1.0, 0.0]])
    b = np.array([[0.0, 1.0], [-2.0, 3.0]])  # the reversed ranking of magnitudes
    assert rank_correlation(a, b) == pytest.approx(-1.0)
    assert top_k_agreement(a, b, 2) == 0.0 and top_k_agreement(a, b, 3) == pytest.approx(2 / 3)
    matrix = agreement_matrix({"a": a, "b": b, "c": None}, ["a", "b", "c"], 2)
    assert matrix["spearman"][0][1] == pytest.approx(-1.0) and matrix["spearman"][2] == [None] * 3
    assert matrix["topk"][1][0] == 0.0 and matrix["k"] == 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(arrays(np.float32, 7, elements=st.floats(-5, 5, width=32)), min_size=1, max_size=4),
    st.sampled_from(["signed", "absolute", "positive", "negative"]),
    st.floats(0, 50),
)
def test_the_extent_is_the_percentile_of_the_shown_magnitudes(values, mode, outlier):
    pooled = np.concatenate(values).astype(np.float64)
    shown = {"positive": np.clip(pooled, 0, None), "negative": np.clip(-pooled, 0, None)}.get(
        mode, np.abs(pooled)
    )
    shown = shown[shown > 0]
    extent = scale_extent(values, mode, outlier)
    if shown.size == 0:
        assert extent == 0.0
        return
    q = (100 - outlier) / 100
    # The smallest shown magnitude with at least a fraction q of them at or below it.
    assert np.mean(shown <= extent) >= q - 1e-12
    assert np.mean(shown < extent) < q or extent == shown.min()
    assert scale_extent(values, mode, 0.0) == pytest.approx(shown.max())
