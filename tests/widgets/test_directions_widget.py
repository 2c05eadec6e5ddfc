"""DirectionsWidget on models where the answer is known (Hilton, "A basis-invariant version of attribution").

The constructed model of the paper: a layer h followed by a linear f = wᵀh, with data whose largest variance
is orthogonal to Σw. The important direction then spans Σw, PCA's does not, and every slider effect is known.
"""

import copy
import json
import warnings
from types import MappingProxyType

import pytest
import torch
from torch import nn
from widget_test_models import Switchable

from attr_widgets.projection import RankDeficiencyWarning
from attr_widgets.widgets import DirectionsWidget
from attr_widgets.widgets._requests import Cancelled, Request

D = 4
SCALES = torch.tensor([3.0, 1.0, 0.5, 0.2], dtype=torch.float64)
W = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)  # Σw = (0, 1, .25, 0) ⊥ e₁, the top variance


def linear_model(seed=0):
    """x → h = Hx (an invertible layer named "h") → f = wᵀh (one output)."""
    torch.manual_seed(seed)
    layer = nn.Linear(D, D).double()
    with torch.no_grad():
        layer.weight.copy_(torch.eye(D, dtype=torch.float64) + 0.3 * torch.randn(D, D, dtype=torch.float64))
    head = nn.Linear(D, 1, bias=True).double()
    with torch.no_grad():
        head.weight.copy_(W[None])
        head.bias.fill_(0.5)
    return nn.Sequential(_named(h=layer), head).eval()


def _named(**modules):
    [(name, module)] = modules.items()
    return nn.Sequential(nn.ModuleDict({name: module})[name])


def inputs_for(model, hs):
    """Inputs x with layer(x) = h for every row of ``hs``."""
    layer = model[0][0]
    return torch.linalg.solve(layer.weight, (hs - layer.bias).T).T.detach()


def sample_h(n=300, seed=1):
    """Samples whose covariance is exactly diag(SCALES²): the top variance e₁ is exactly ⊥ Σw."""
    torch.manual_seed(seed)
    z = torch.randn(n, D, dtype=torch.float64)
    z -= z.mean(0)
    z = z @ torch.linalg.inv(torch.linalg.cholesky(z.T @ z / n)).T  # whitened: covariance exactly I
    return z * SCALES + torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)


def hook_count(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules()
    )


def sample_cov(hs):
    centred = hs - hs.mean(0)
    return centred.T @ centred / hs.shape[0]


@pytest.fixture
def constructed():
    model = linear_model()
    hs = sample_h()
    return model, hs, inputs_for(model, hs)


def test_first_important_direction_spans_sigma_w_and_pca_does_not(constructed):
    model, hs, x = constructed
    w = DirectionsWidget(model, layer="0.0", data=x, k=1, target=0)
    sigma_w = sample_cov(hs) @ W
    a0 = w.projection.act_basis[:, 0]
    cos = torch.dot(a0, sigma_w) / (a0.norm() * sigma_w.norm())
    assert abs(float(cos)) == pytest.approx(1.0, abs=1e-9)
    pca0 = w.pca.act_basis[:, 0]
    assert abs(float(torch.dot(pca0, sigma_w) / (pca0.norm() * sigma_w.norm()))) < 0.3
    # The objective the widget shows is the exact E[(f(X) − f(μ + P(X − μ)))²] for this linear f.
    f = lambda h: h @ W  # noqa: E731
    exact = [float(((hs - hs.mean(0)) @ W).square().mean()), float(w.projection.objective(f, hs))]
    assert w.result["objective"]["important"] == pytest.approx(exact, rel=1e-9, abs=1e-12)
    assert exact[1] == pytest.approx(0.0, abs=1e-12)  # one direction carries all of f's variance
    assert w.result["objective"]["pca"][1] > 0.5 * exact[0]


def test_measured_objective_equals_the_first_order_one_for_a_linear_f():
    model = linear_model()
    hs = sample_h(100)  # under 128 examples: the measured objective runs over all of them
    with pytest.warns(RankDeficiencyWarning):  # a linear f has one important direction; PCA has three
        w = DirectionsWidget(model, layer="0.0", data=inputs_for(model, hs), k=3, target=0)
    objective = w.result["objective"]
    assert objective["sampled_examples"] == 100
    for basis in ("important", "pca"):
        assert objective[f"{basis}_sampled"] == pytest.approx(objective[basis], rel=1e-8, abs=1e-12)
    assert objective["pca_sampled"][1] > objective["important_sampled"][1]


def test_slider_changes_f_by_exactly_alpha_times_w_dot_a0(constructed):
    model, _, x = constructed
    w = DirectionsWidget(model, layer="0.0", data=x, k=1, target=0, example=7)
    a0, spread = w.projection.act_basis[:, 0], float(w.spreads[0])
    assert float(W @ a0) > 0  # oriented: moving right raises f
    for offset in (1.0, -2.5, 0.25):
        w.offsets = [offset]
        expected = offset * spread * float(W @ a0)
        assert w.outputs["delta_f"] == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert w.result["f_after"] - w.result["f_before"] == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_project_gives_f_of_the_projected_activation(constructed):
    model, hs, x = constructed
    w = DirectionsWidget(model, layer="0.0", data=x, k=1, target=0, example=3)
    w.project = True
    proj = w.projection
    projected = proj(hs[3])
    assert w.outputs["f_after"] == pytest.approx(float(projected @ W + 0.5), rel=1e-10)
    # With every slider at 0 the projected example keeps f: all of f's variation is in the kept direction.
    assert w.outputs["f_after"] == pytest.approx(w.outputs["f_before"], rel=1e-10)
    w.offsets = [1.5]
    assert w.outputs["f_after"] == pytest.approx(
        float((projected + 1.5 * float(w.spreads[0]) * proj.act_basis[:, 0]) @ W + 0.5), rel=1e-10
    )
    # Per-direction attribution (coordinate × slope) adds up to f(after) − f(μ) for this linear f.
    f_mean = float(proj.mean @ W + 0.5)
    assert float(w.outputs["attribution"].sum()) == pytest.approx(w.outputs["f_after"] - f_mean, rel=1e-9)


def test_moving_along_the_kernel_of_p_changes_nothing():
    model = linear_model()
    hs = sample_h(200)
    torch.manual_seed(5)
    kernel = torch.randn(D, dtype=torch.float64)
    kernel -= (kernel @ W) / (W @ W) * W  # ⊥ w: the kernel of P for a linear f (P_G ∝ w)
    pair = torch.stack([hs[0], hs[0] + 2.0 * kernel])
    data = inputs_for(model, torch.cat([hs, pair]))
    w = DirectionsWidget(model, layer="0.0", data=data, k=1, target=0)
    assert float((w.projection.grad_basis[:, 0] @ kernel).abs()) < 1e-9
    w.project = True
    w.offsets = [0.7]
    first = (w.outputs["f_after"], w.outputs["coords"].copy())
    w.example = len(data) - 1
    second = (w.outputs["f_after"], w.outputs["coords"].copy())
    assert second[0] == pytest.approx(first[0], rel=1e-10)
    assert second[1] == pytest.approx(first[1], rel=1e-9, abs=1e-12)


class Head(nn.Module):
    """A nonlinear f of the layer, so several directions matter."""

    def __init__(self, seed=3):
        super().__init__()
        torch.manual_seed(seed)
        self.u = nn.Parameter(torch.randn(D, dtype=torch.float64), requires_grad=False)
        self.v = nn.Parameter(torch.randn(D, dtype=torch.float64), requires_grad=False)
        self.q = nn.Parameter(torch.randn(D, dtype=torch.float64), requires_grad=False)

    def forward(self, h):
        return (torch.tanh(h @ self.u) + 0.3 * (h @ self.v) ** 2 + torch.sin(h @ self.q))[:, None]


def test_directions_are_invariant_to_an_invertible_map_around_the_layer():
    torch.manual_seed(0)
    base = nn.Linear(D, D).double()
    head = Head()
    torch.manual_seed(9)
    t_matrix = torch.eye(D, dtype=torch.float64) * 2 + torch.randn(D, D, dtype=torch.float64)
    t = nn.Linear(D, D, bias=False).double()
    t_inverse = nn.Linear(D, D, bias=False).double()
    with torch.no_grad():
        t.weight.copy_(t_matrix)
        t_inverse.weight.copy_(torch.linalg.inv(t_matrix))
    plain = nn.Sequential(base, head).eval()
    wrapped = nn.Sequential(base, t, t_inverse, head).eval()
    x = torch.randn(300, D, dtype=torch.float64)
    w1 = DirectionsWidget(plain, layer="0", data=x, k=3, target=0, example=5)
    w2 = DirectionsWidget(wrapped, layer="1", data=x, k=3, target=0, example=5)
    s1, s2 = w1.result["spectrum"]["important"], w2.result["spectrum"]["important"]
    assert s1 == pytest.approx(s2, rel=1e-7)
    for offsets in ([1.0, 0.0, 0.0], [0.0, -2.0, 0.0], [0.5, 1.0, -1.5]):
        for project in (False, True):
            w1.offsets, w2.offsets = offsets, offsets
            w1.project, w2.project = project, project
            assert w2.outputs["delta_f"] == pytest.approx(w1.outputs["delta_f"], rel=1e-7, abs=1e-10)
            assert w2.outputs["attribution"] == pytest.approx(w1.outputs["attribution"], rel=1e-6, abs=1e-9)
    # PCA is not invariant: its directions differ once the basis is changed.
    assert w1.result["spectrum"]["pca"] != pytest.approx(w2.result["spectrum"]["pca"], rel=1e-3)


def test_model_unchanged_and_hook_free_after_sliders_toggles_recomputes_and_failures():
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Linear(D, 6), nn.Tanh(), nn.Linear(6, 3))
    model = Switchable(inner).train()  # a model in train mode must come back in train mode
    before = copy.deepcopy(model.state_dict())
    x = torch.randn(50, D)
    w = DirectionsWidget(model, layer="inner.1", data=x, k=2)
    calls = model.calls
    w.offsets = [1.0, -1.0]
    w.project = True
    w.example = 4
    assert model.calls == calls + 3  # each cheap change is one forward pass; the directions are cached
    w.k = 3
    assert model.calls > calls + 4  # a pass over the data
    model.fail = True
    with pytest.raises(RuntimeError, match="injected"):
        w.offsets = [0.5, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="injected"):
        w.layer = "inner.0"
    model.fail = False
    # A cancel mid-collection (raised by the progress callback) leaves no hook either.
    request = Request(99, MappingProxyType({**w.result["controls"], "layer": "inner.2"}))

    def cancel(done, total):
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        w._compute(request, cancel)
    assert hook_count(model) == 0
    assert all(m.training for m in model.modules())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    w.layer = "inner.1"
    assert w.error is None and w.projection is not None


def test_changing_offsets_from_python_updates_outputs_and_result(digits, cnn):
    x, _ = digits
    w = DirectionsWidget(cnn, layer="1", data=x[:120], k=4, labels=[str(i) for i in range(10)])
    assert w.outputs["delta_f"] == pytest.approx(0.0, abs=1e-5)
    assert w.result["elapsed_ms"] > 0 and w.activity["elapsed_ms"] == w.result["elapsed_ms"]
    w.offsets = [2.0, 0.0, 0.0, 0.0]
    assert w.outputs["delta_f"] > 0  # oriented: right raises f on average (and here, on this example)
    assert w.result["offsets"] == [2.0, 0.0, 0.0, 0.0]
    assert len(w.result["top_after"]) == 5
    assert w.result["top_before"][0]["index"] == w.result["explained_class"]
    assert w.image["shape"] == [8, 8, 4]
    w.direction = 2
    assert w.examples["direction"] == 2 and w.examples["images"]["shape"] == [10, 8, 8, 4]
    assert w.examples["top"] == w.result["top"][2]
    w.reset()
    assert w.offsets == [0.0] * 4 and w.project is False
    w.k = 3  # new directions: the sliders start at 0 again
    assert w.offsets == [0.0] * 3 and w.result["n_directions"] == 3


def test_bad_inputs_name_the_argument(digits, cnn):
    x, _ = digits
    with pytest.raises(ValueError, match=r"layer='conv'.*Did you mean"):
        DirectionsWidget(_conv_model(), layer="conv", data=x[:10])
    with pytest.raises(ValueError, match="data needs at least 2"):
        DirectionsWidget(cnn, layer="1", data=x[:1])
    with pytest.raises(ValueError, match=r"target: the callable must return a tensor of shape \[B\]"):
        DirectionsWidget(cnn, layer="1", data=x[:10], target=lambda out: out)
    with pytest.raises(ValueError, match="target 12 is out of range"):
        DirectionsWidget(cnn, layer="1", data=x[:10], target=12)
    with pytest.raises(TypeError, match="data must be"):
        DirectionsWidget(cnn, layer="1", data="images")
    w = DirectionsWidget(cnn, layer="1", data=x[:20], k=2)
    with pytest.raises(ValueError, match="example 20 is out of range"):
        w.example = 20
    with pytest.raises(ValueError, match=r"offsets\[1\]"):
        w.offsets = [0.0, float("nan")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = torch.randn(30, D, dtype=torch.float64)
        small = DirectionsWidget(linear_model(), layer="0.0", data=data, k=6, target=0)
    assert any(issubclass(c.category, RankDeficiencyWarning) and "k=6" in str(c.message) for c in caught)
    assert small.result["n_directions"] <= D


def _conv_model():
    model = nn.Sequential()
    model.add_module("conv1", nn.Conv2d(1, 2, 3))
    model.add_module("flat", nn.Flatten())
    return model


def test_callable_target_and_dataloader_data(digits, cnn):
    x, y = digits
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:64], y[:64]), batch_size=16)
    w = DirectionsWidget(cnn, layer="3", data=loader, k=2, target=lambda out: out[:, 3] - out[:, 5])
    assert w.n_examples == 64 and w.target.startswith("fn 1:") and callable(w.target_function)
    assert w.result["top_before"] and w.result["explained_class"] is None
    w.target = 3
    assert w.result["f_description"] == "the logit of class 3" and w.target == 3


def test_spectrum_chart_is_an_altair_chart_of_the_data_on_screen(digits, cnn):
    import altair as alt  # a test dependency: the chart is checked as data, not skipped

    x, _ = digits
    w = DirectionsWidget(cnn, layer="1", data=x[:40], k=3)
    chart = w.spectrum_chart()
    assert isinstance(chart, alt.TopLevelMixin)
    spec = chart.to_dict()
    assert "Hilton" in json.dumps(spec["title"])
    bars, curve = (panel["data"]["values"] for panel in spec["hconcat"])
    for kind, label in (("important", "important directions"), ("pca", "PCA")):
        sigma = torch.tensor(w.result["spectrum"][kind], dtype=torch.float64)
        shares = [row["share"] for row in bars if row["basis"] == label]
        torch.testing.assert_close(torch.tensor(shares, dtype=torch.float64), sigma**2 / (sigma**2).sum())
        first_order = [row for row in curve if row["basis"] == label and row["estimate"] == "first order"]
        assert [row["objective"] for row in first_order] == w.result["objective"][kind]


def test_recomputing_reports_progress_and_keeps_directions_for_cheap_changes(digits, cnn):
    x, _ = digits
    w = DirectionsWidget(cnn, layer=cnn[1], data=x, k=2)  # the module itself, resolved to its name
    assert w.layer == "1"
    states = []
    w.observe(lambda change: states.append(dict(change["new"])), names=["activity"])
    w.k = 3
    # Units: examples through the model, the pass over the data then 2 bases × (k + 1) passes of 128 examples.
    # (A quick computation sends no progress message: the "idle" that comes with the result carries them.)
    assert states[0]["state"] == "computing" and states[-1]["state"] == "idle"
    assert states[-1]["done"] == states[-1]["total"] == len(x) + 2 * 4 * 128
    projection = w.projection
    w.example = 9
    w.offsets = [1.0, 0.0, 0.0]
    assert w.projection is projection  # cached: no new pass over the data


def test_changes_from_the_view_compute_in_the_background(digits, cnn):
    x, _ = digits
    w = DirectionsWidget(cnn, layer="1", data=x[:60], k=2)
    w.set_state({"offsets": [1.5, -0.5]})
    w.wait(60)
    assert w.result["offsets"] == [1.5, -0.5] and w.outputs["delta_f"] != 0
    w.set_state({"target": 4})
    w.wait(60)
    assert w.result["f_description"] == "the logit of class 4" and w.offsets == [0.0, 0.0]
    w.set_state({"target": "not a label"})  # rejected: the notice says why, the old value stays
    assert "target='not a label' is not known" in w.notice and w.target == 4
    w.wait(60)


def test_a_slider_move_sends_small_json_and_no_images(digits, cnn):
    from ipywidgets.widgets.widget import _remove_buffers

    x, _ = digits
    w = DirectionsWidget(cnn, layer="1", data=x, k=8)
    sent = []
    w.observe(
        lambda change: sent.append((change["name"], _remove_buffers({change["name"]: change["new"]}))),
        names=["result", "image", "examples", "request_seq", "activity"],
    )
    w.offsets = [1.0] + [0.0] * 7
    names = {name for name, _ in sent}
    assert "image" not in names and "examples" not in names
    buffers = sum(len(b) for _, (_, _, bs) in sent for b in bs)
    json_bytes = sum(len(json.dumps(state)) for _, (state, _, _) in sent)
    assert buffers == 0 and json_bytes < 8_000, json_bytes


def test_numpy_and_list_of_batches_are_accepted_as_data(digits, cnn):
    x, y = digits
    from_numpy = DirectionsWidget(cnn, layer="1", data=x[:30].numpy(), k=2)
    batches = [(x[i : i + 10], y[i : i + 10]) for i in range(0, 30, 10)]
    from_batches = DirectionsWidget(cnn, layer="1", data=batches, k=2)
    for basis in ("important", "pca"):
        assert from_numpy.result["spectrum"][basis] == pytest.approx(from_batches.result["spectrum"][basis])
    with pytest.raises(TypeError, match="data: every batch"):
        DirectionsWidget(cnn, layer="1", data=[{"x": x[:4]}])


def test_cancel_during_a_browser_recompute_keeps_the_last_result_and_no_hooks():
    torch.manual_seed(0)
    model = Switchable(nn.Sequential(nn.Linear(D, 6), nn.Tanh(), nn.Linear(6, 3))).eval()
    w = DirectionsWidget(model, layer="inner.1", data=torch.randn(600, D), k=2)  # 3 batches
    shown = w.result
    model.gate.clear()
    model.entered.clear()
    w.set_state({"k": 3})
    assert model.entered.wait(10)
    assert hook_count(model) == 1  # the collection's capture hook, inside the pass
    w.cancel()
    model.gate.set()
    with pytest.raises(Cancelled):
        w.wait(30)
    assert w.activity["state"] == "cancelled" and w.result is shown
    assert hook_count(model) == 0
    w.recompute()
    assert w.result["n_directions"] == 3 and hook_count(model) == 0
