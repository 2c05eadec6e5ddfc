"""aw.link: kernel selections follow each other through ipywidgets' links; view selections go to the views."""

import pytest
import torch
from torch import nn

import attr_widgets as aw
from attr_widgets.widgets import AttributionWidget, Link, LinkWarning, TabularAttributionWidget


@pytest.fixture
def two_image_widgets(cnn, smooth_cnn, digit):
    return (
        AttributionWidget(cnn, digit, method="saliency"),
        AttributionWidget(smooth_cnn, digit, method="saliency"),
    )


def tabular_widget():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 10)).eval()
    return TabularAttributionWidget(model, torch.randn(4), feature_names=list("abcd"), method="saliency")


def test_link_is_public_and_lazy():
    assert aw.link is aw.widgets.link and aw.Link is Link
    assert "link" in aw.__all__ and "Link" in aw.__all__


def test_target_set_in_one_moves_the_other_and_each_recomputes_for_its_model(two_image_widgets):
    a, b = two_image_widgets
    lk = aw.link(a, b, on=("target", "hover"))
    a.target = 3
    assert b.target == 3
    assert b.result["controls"]["target"] == 3 and b.attribution.target == 3
    # Each widget explains its own model: the same target gives different maps on the two CNNs.
    assert not torch.allclose(a.attribution.values, b.attribution.values)
    b.target = 5
    assert a.target == 5
    assert lk.linked == {("AttributionWidget#0", "AttributionWidget#1"): ["target", "hover"]}
    assert "target, hover" in repr(lk)


def test_the_views_learn_their_partners_for_hover_and_unlink_forgets_them(two_image_widgets):
    a, b = two_image_widgets
    lk = aw.link(a, b, on=("hover",))
    channel = "~".join(sorted((a.model_id, b.model_id)))
    assert a.linked_views == [{"model_id": b.model_id, "names": ["hover"], "channel": channel}]
    assert b.linked_views == [{"model_id": a.model_id, "names": ["hover"], "channel": channel}]
    lk.unlink()
    assert a.linked_views == [] and b.linked_views == []
    assert "[unlinked]" in repr(lk)


def test_unlink_stops_the_target_link(two_image_widgets):
    a, b = two_image_widgets
    lk = aw.link(a, b, on="target")
    lk.unlink()
    before = b.target
    a.target = (before + 1) % 10
    assert b.target == before
    b.target = (before + 2) % 10
    assert a.target == (before + 1) % 10


def test_kinds_that_differ_link_only_what_both_have(two_image_widgets):
    a = two_image_widgets[0]
    t = tabular_widget()
    with pytest.warns(LinkWarning, match="hover"):
        lk = aw.link(a, t)
    pair = ("AttributionWidget#0", "TabularAttributionWidget#1")
    assert lk.linked[pair] == ["target"]
    assert lk.skipped[pair] == ["example", "direction", "hover", "token"]
    assert t.linked_views == [] and a.linked_views == []  # tabular has no hover to share
    a.target = 4
    assert t.target == 4
    assert "skipped: example, direction, hover, token" in repr(lk)


def test_three_widgets_link_pairwise(cnn, smooth_cnn, digit):
    ws = [AttributionWidget(m, digit, method="saliency") for m in (cnn, smooth_cnn, cnn)]
    lk = aw.link(*ws, on=("target", "hover"))
    ws[2].target = 6
    assert [w.target for w in ws] == [6, 6, 6]
    assert len(lk.linked) == 3 and len(ws[0].linked_views) == 2


def test_bad_input_is_named(two_image_widgets):
    a, b = two_image_widgets
    with pytest.raises(ValueError, match=r"on=.*'colour'.*valid names are \['target'"):
        aw.link(a, b, on=("target", "colour"))
    with pytest.raises(TypeError, match="at least 2 widgets"):
        aw.link(a)
    with pytest.raises(TypeError, match="argument 1 is a int"):
        aw.link(a, 3)
    with pytest.raises(ValueError, match="same widget"):
        aw.link(a, a)
