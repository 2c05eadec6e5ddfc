"""Feature ablation and occlusion at image size: default patches, the pass estimate, its warning, progress."""

from __future__ import annotations

import warnings

import pytest
import torch
from attr_test_models import small_cnn
from captum.attr import FeatureAblation, Occlusion

from attr_widgets.attribution import AttributionWarning, attribute


class _Stop(Exception):
    pass


def _hand_patches(height: int, width: int, side: int) -> torch.Tensor:
    """Patch ids by explicit loops: row-major over patches, each side x side (cut at the border)."""
    per_row = -(-width // side)
    mask = torch.empty(1, 1, height, width, dtype=torch.long)
    for i in range(height):
        for j in range(width):
            mask[0, 0, i, j] = (i // side) * per_row + (j // side)
    return mask


def test_default_grouping_is_square_patches_equal_to_captum_with_that_mask() -> None:
    model, x = small_cnn(classes=4), torch.rand(2, 3, 30, 30, generator=torch.Generator().manual_seed(0))
    ours = attribute(model, x, method="feature_ablation", target=1, cache=False)
    side = 3  # ⌈30 / 14⌉
    reference = FeatureAblation(model).attribute(x, target=1, feature_mask=_hand_patches(30, 30, side))
    torch.testing.assert_close(ours.values, reference)
    assert ours.info["groups"] == 100 and ours.info["forward_rows"] == 2 * 101
    # All channels of a patch share one value; neighbouring patches differ.
    assert torch.equal(ours.values[:, :1].expand_as(ours.values), ours.values)


def test_patch_size_and_feature_mask_override_the_default() -> None:
    model, x = small_cnn(classes=4), torch.rand(1, 3, 10, 10)
    ours = attribute(model, x, method="feature_ablation", target=0, patch_size=4, cache=False)
    reference = FeatureAblation(model).attribute(x, target=0, feature_mask=_hand_patches(10, 10, 4))
    torch.testing.assert_close(ours.values, reference)
    assert ours.info["groups"] == 9  # 3 x 3 patches, the last row and column 2 px wide
    per_value = torch.arange(300).reshape(1, 3, 10, 10)
    exact = attribute(model, x, method="feature_ablation", target=0, feature_mask=per_value, cache=False)
    torch.testing.assert_close(exact.values, FeatureAblation(model).attribute(x, target=0))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"patch_size": 0}, "patch_size must be a positive int"),
        ({"patch_size": True}, "patch_size must be a positive int"),
        ({"patch_size": 2, "feature_mask": torch.zeros(1, 1, 6, 6, dtype=torch.long)}, "exclusive"),
    ],
)
def test_bad_patch_options_are_named(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        attribute(small_cnn(), torch.rand(1, 3, 6, 6), method="feature_ablation", cache=False, **options)


def test_patch_size_on_a_table_is_refused() -> None:
    table = torch.nn.Linear(5, 2)
    with pytest.raises(
        ValueError, match=r"patch_size= is for images \[B, C, H, W\]; the inputs are \(1, 5\)"
    ):
        attribute(table, torch.rand(1, 5), method="feature_ablation", patch_size=2, cache=False)


def test_the_progress_total_is_the_exact_number_of_rows_from_the_start() -> None:
    model, x = small_cnn(classes=4), torch.rand(3, 3, 16, 16)
    seen: list[tuple[int, int]] = []
    attribute(
        model, x, method="feature_ablation", target=2, cache=False, progress=lambda d, t: seen.append((d, t))
    )
    # The engine's first forward (3 rows) is reported before the estimate; from then on the total is final:
    # the memory probe's forward with a graph (3 rows, it sizes the chunks), then Captum's rows.
    final = seen[-1][1]
    assert final == 3 + 3 + 3 * (64 + 1)  # 2 px patches of 16 x 16: 64 groups, + Captum's unperturbed forward
    assert [t for _, t in seen[1:]] == [final] * (len(seen) - 1) and seen[-1][0] == final
    assert len(seen) >= 1 + 32  # on a CPU the 64 groups come in chunks of 2: progress in 32 steps


def _warning_before_the_first_perturbed_pass(**call) -> list[str]:
    def progress(done: int, total: int) -> None:
        if done > 1:  # the engine's own first forward is row 1: stop at Captum's first call
            raise _Stop

    with warnings.catch_warnings(record=True) as caught, pytest.raises(_Stop):
        warnings.simplefilter("always")
        attribute(
            small_cnn(classes=4), torch.rand(1, 3, 96, 96), target=0, cache=False, progress=progress, **call
        )
    return [str(w.message) for w in caught if issubclass(w.category, AttributionWarning)]


def test_a_long_run_warns_before_it_starts() -> None:
    per_value = torch.arange(3 * 96 * 96).reshape(1, 3, 96, 96)
    messages = _warning_before_the_first_perturbed_pass(method="feature_ablation", feature_mask=per_value)
    assert messages == [
        "feature_ablation: 27648 feature groups x 1 example(s) = 27649 model rows (forward passes of one "
        "example) before a result; pass feature_mask= with fewer groups (or patch_size= for images)."
    ]
    windows = _warning_before_the_first_perturbed_pass(method="occlusion", strides=1)
    assert windows and windows[0].startswith("occlusion: 7225 windows x 1 example(s) = 7226")  # (96-12+1)^2


def test_the_defaults_stay_quiet_and_occlusion_keeps_its_values() -> None:
    model, x = small_cnn(classes=4), torch.rand(1, 3, 64, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AttributionWarning)
        ablation = attribute(model, x, method="feature_ablation", target=0, cache=False)
        occluded = attribute(model, x, method="occlusion", target=0, cache=False)
    assert ablation.info["groups"] == 13 * 13  # 5 px patches of 64 px
    reference = Occlusion(model).attribute(x, sliding_window_shapes=(3, 8, 8), strides=(3, 8, 8), target=0)
    torch.testing.assert_close(occluded.values, reference)
