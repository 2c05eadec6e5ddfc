"""DirectionsWidget: the directions of a layer's activations that matter to f, with a slider along each.

From Jacob Hilton, "A basis-invariant version of attribution" (2024): the rank-k projection ``P`` minimising
``E[(f(X) − f(μ + P(X − μ)))²]`` comes from the SVD of ``GᵀA`` (activations A, gradients G of f); PCA is the
case ``Π = I``. The math lives in :mod:`attr_widgets.projection`; requests, progress, cancel and errors in
the shared base, :class:`~attr_widgets.widgets._base.ComputeWidget`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from torch import nn

from attr_widgets._torch import model_device, model_lock, resolve_layer
from attr_widgets.projection import Projection

from ._base import ComputeWidget, bundle
from ._directions_compute import (
    SAMPLED_EXAMPLES,
    DirectionsState,
    Samples,
    TargetReader,
    collect_samples,
    solve,
    with_sampled_objectives,
)
from ._directions_distributed import GlobalStatistics, global_statistics
from ._directions_distributed import ready as distributed_ready
from ._directions_inputs import ExampleIndex, LayerName, Offsets, Target, materialise_data
from ._directions_payload import (
    outcome_fields,
    snippets,
    state_fields,
    thumbnails,
    token_fields,
    top_predictions,
)
from ._directions_slider import SliderOutcome, slider_pass
from ._directions_tokens import TokenBatch, forward, logits_of, tokenize
from ._requests import Progress, Request, first_result_traits
from ._serialize import binary_array, display_rgba
from ._settings import shown_controls
from ._traits import BinaryArray, BoundedInt

MAX_K = 64
CACHED_STATES = 2  # directions kept for the last two (k, target, layer, data) settings


class DirectionsWidget(ComputeWidget):
    """Important directions of a layer (Hilton, "A basis-invariant version of attribution", 2024).

    ``display(DirectionsWidget(model, layer="conv1", data=images, k=8))`` shows one slider per direction
    (moving the example's activation along it), a toggle that replaces the activation ``h`` by its
    projection ``μ + P(h − μ)``, the model's output before → after, and the spectrum and objective of the
    important directions next to PCA's at the same layer. Every control is a public trait.

    The layer's whole output is one sample per example (a conv map is flattened to ``C·H·W`` features).
    Sliders are in *spreads*: the standard deviation of that direction's coordinate ``P_Gᵀ(h − μ)`` over
    the data; offset ``α`` on direction ``i`` adds ``α · spreadᵢ · aᵢ`` (``aᵢ`` the i-th column of
    ``projection.act_basis``) to the example's activation. Each direction is oriented so that moving it
    right raises f on average.

    The objective ``E[(f(X) − f(μ + P_k(X − μ)))²]`` for k = 0..K comes two ways, for both bases: the
    first-order objective ``tr(Π (I − P_k) Σ (I − P_k)ᵀ)`` that the directions minimise, computed exactly
    from the collected activations and gradients with no extra forward pass (for an f that is linear in
    the layer it is the objective itself), and the objective of the real f measured by forward passes
    over a fixed subsample of 128 examples (one pass per k, with the layer's output projected).

    The widget draws its charts as dependency-free inline SVG, so it works offline with no CDN;
    :meth:`spectrum_chart` returns the same data as an Altair chart where Altair is installed.

    Args:
        model: a ``torch.nn.Module``; never modified (hooks exist only during a pass, under the model lock).
        layer: the submodule (or its dotted name) whose output holds the activations.
        data: examples ``[N, ...]`` (tensor or numpy) or a DataLoader of them (its inputs are kept on CPU),
            at least 2; the directions are computed over all of them.
        k: the number of directions (clamped, with a warning, to what the layer and data allow).
        target: f for each example: None (its top class logit), a class index, or a callable
            ``output -> [B]``.
        labels: class names (a sequence, or a dict ``{index: name}``) for the top-5 lists.
        example: the index into data of the example the sliders move.
        tokenizer: with a list of texts as ``data``: the model's tokenizer. Every token is then one sample
            (the layer's output must be ``[batch, tokens, features]``), the model is called as
            ``model(input_ids=, attention_mask=)`` (a tensor, a dict or an object with ``logits`` back), a
            slider moves every token of the text or the one in ``position``, and the view shows each
            token's coordinate along the selected direction (docs/DIRECTIONS.md, "Texts").
        distributed: True to compute the directions over all ranks of the initialised ``torch.distributed``
            process group: construct one widget on every rank, each with its own shard as ``data``; the
            statistics are all-reduced once (the directions equal those of one process holding all the
            data), ``k`` can then change on one rank alone, the layer and target cannot
            (docs/DIRECTIONS.md, "Distributed").
    """

    _esm = bundle("directions")
    _view_controls = ("direction",)
    _saved_view_controls = ()  # the top / bottom examples of a direction come from the kernel
    _derived_controls = ("data_version",)
    _inputs_argument = "data"

    # Compute controls. Changing k, target, layer or the data recomputes the directions (a pass over the
    # data); example, offsets and project reuse them and run one example through the model.
    k = BoundedInt(8, 1, MAX_K).tag(sync=True, compute=True)
    target = Target().tag(sync=True, compute=True)
    layer = LayerName("").tag(sync=True, compute=True)
    data_version = traitlets.Int(0).tag(sync=True, compute=True)
    example = ExampleIndex(0).tag(sync=True, compute=True)
    offsets = Offsets().tag(sync=True, compute=True)
    project = traitlets.Bool(False).tag(sync=True, compute=True)
    # Texts: the token position the sliders move (-1: every token of the text).
    position = traitlets.Int(-1).tag(sync=True, compute=True)
    # View-only: which direction's top/bottom examples are shown.
    direction = traitlets.Int(0).tag(sync=True)
    # Written by Python only.
    image = BinaryArray(allow_none=True, default_value=None).tag(sync=True)
    examples = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    layer_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    n_examples = traitlets.Int(0).tag(sync=True)
    # "image" (one sample per example) or "tokens" (texts: one sample per token).
    kind = traitlets.Unicode("image").tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        layer: nn.Module | str,
        data: Any,
        *,
        k: int = 8,
        target: int | Callable[[Any], torch.Tensor] | None = None,
        labels: Sequence[str] | Mapping[int, str] | None = None,
        example: int = 0,
        tokenizer: Any = None,
        distributed: bool = False,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        if not isinstance(distributed, bool):
            raise TypeError(f"distributed must be True or False, got {distributed!r}.")
        if distributed and not distributed_ready():
            raise ValueError(
                "distributed=True needs an initialised torch.distributed process group "
                "(torch.distributed.init_process_group(...)) and one DirectionsWidget per rank on its shard."
            )
        self._distributed = distributed
        # distributed: (target, layer, data version) -> this rank's samples and all ranks' statistics
        self._collected: dict[tuple[Any, ...], tuple[Samples, GlobalStatistics]] = {}
        self._model = model
        self._tokenizer = tokenizer
        self._data = tokenize(data, tokenizer, model) if tokenizer is not None else materialise_data(data)
        self._target_functions: dict[str, Callable[[Any], torch.Tensor]] = {}
        self._states: OrderedDict[tuple[Any, ...], DirectionsState] = OrderedDict()
        self._value: tuple[DirectionsState, SliderOutcome, int] | None = None
        self._init_compute()
        self._num_outputs = self._probe_outputs()
        controls = {
            name: self.traits()[name]._validate(self, value)
            for name, value in (("k", k), ("target", target), ("layer", layer), ("example", example))
        }
        controls.update(offsets=[0.0] * controls["k"], project=False, data_version=0, position=-1)
        first = Request(1, {name: controls[name] for name in self.compute_trait_names()})
        self._names = _label_list(labels, self._num_outputs)
        start = time.perf_counter()
        fields, value = self._compute(first, lambda done, total: None)  # errors raise from the constructor
        elapsed_ms = (time.perf_counter() - start) * 1000
        super().__init__(
            kind="tokens" if isinstance(self._data, TokenBatch) else "image",
            labels=self._names,
            layer_names=[name for name, _ in model.named_modules() if name],
            n_examples=int(self._data.shape[0]),
            **first_result_traits(first, fields, elapsed_ms),
            **controls,
        )
        self._published(value)
        self._start(first_seq=1)

    # -- public read-only state
    @property
    def projection(self) -> Projection | None:
        """The important directions on screen (oriented, see the class docstring), or None after a failure."""
        return None if self._value is None else self._value[0].projection

    @property
    def pca(self) -> Projection | None:
        """PCA's directions at the same layer (the case ``Π = I``), oriented the same way."""
        return None if self._value is None else self._value[0].pca

    @property
    def spreads(self) -> np.ndarray | None:
        """The slider unit of each direction: the std of its coordinate over the data."""
        return None if self._value is None else self._value[0].spreads.cpu().numpy()

    @property
    def outputs(self) -> dict[str, Any] | None:
        """F before and after the sliders (and projection), the coordinates and per-direction attribution."""
        if self._value is None:
            return None
        state, outcome, index = self._value
        probs = state.samples.probs
        return {
            "example": index,
            "f_before": outcome.f_before,
            "f_after": outcome.f_after,
            "delta_f": outcome.f_after - outcome.f_before,
            "coords": outcome.coords.cpu().numpy(),
            "coords_after": outcome.coords_after.cpu().numpy(),
            "attribution": outcome.attribution.cpu().numpy(),
            "top_before": top_predictions(None if probs is None else probs[index], self._names),
            "top_after": top_predictions(outcome.probs_after, self._names),
        }

    @property
    def target_function(self) -> Callable[[Any], torch.Tensor] | None:
        """The callable behind a callable ``target`` (the trait itself holds its label), or None."""
        return self._target_functions.get(self.target) if isinstance(self.target, str) else None

    def set_data(self, data: Any) -> None:
        """Replace the examples (recomputes the directions)."""
        tokenizer, model = self._tokenizer, self._model
        self._data = tokenize(data, tokenizer, model) if tokenizer is not None else materialise_data(data)
        with self._requests_suspended(), self.hold_sync():
            self.n_examples = int(self._data.shape[0])
            if self.example >= self.n_examples:
                self.example = 0
            self.data_version += 1
        self._request()

    def reset(self) -> None:
        """Every slider back to 0 and the projection off."""
        with self._requests_suspended():
            self.offsets = [0.0] * len(self.offsets)
            self.project = False
        self._request()

    def spectrum_chart(self) -> Any:
        """The spectrum and objective as an ``altair`` chart (needs ``pip install altair``).

        It renders offline from the Vega-Lite spec with a local renderer. The widget itself draws the same
        data as dependency-free inline SVG, so the widget needs no Vega and no CDN.
        """
        from ._directions_chart import spectrum_chart

        return spectrum_chart(self.result)

    # -- settings (see _settings: to_dict / from_dict). Not one attribute() call: the settings are this
    # class's own arguments, DirectionsWidget(model, data=data, **settings), then offsets and project.
    def _replay_settings(self) -> tuple[str, dict[str, Any]]:
        shown = shown_controls(self)
        target = self._target_functions.get(shown["target"], shown["target"])
        return "DirectionsWidget", {
            "layer": shown["layer"], "k": shown["k"], "target": target, "example": shown["example"],
        }  # fmt: skip

    def _figures(self) -> dict[str, Any]:
        outputs = self.outputs
        if outputs is None:
            return {}
        spreads = self.spreads
        return {
            "n_directions": 0 if spreads is None else len(spreads),
            "f_before": outputs["f_before"],
            "f_after": outputs["f_after"],
            "delta_f": outputs["delta_f"],
            "spreads": None if spreads is None else [float(v) for v in spreads],
        }

    # -- the compute protocol
    def _compute(self, request: Request, progress: Progress) -> tuple[dict[str, Any], Any]:
        reader = TargetReader(self._target_functions.get(request["target"], request["target"]))
        layer = resolve_layer(self._model, request["layer"])[0]
        key = (request["k"], request["target"], request["layer"], request["data_version"])
        with model_lock(self._model):
            state = self._states.get(key)
            if state is None:
                state = self._directions(layer, reader, request["k"], progress, key[1:])
                self._states[key] = state
                while len(self._states) > CACHED_STATES:
                    self._states.popitem(last=False)
            self._states.move_to_end(key)
            index = request["example"]
            r = state.projection.n_directions
            offsets = torch.zeros(r, dtype=state.spreads.dtype)
            given = list(request["offsets"])[:r]
            offsets[: len(given)] = torch.tensor(given, dtype=state.spreads.dtype)
            position = self._position(index, request["position"])
            outcome = slider_pass(
                self._model, layer, self._data[index : index + 1], index, state, reader,
                offsets.to(state.spreads.device), request["project"], position,
            )
        fields = {**state_fields(state, reader), **outcome_fields(state, outcome, index, self._names)}
        if isinstance(self._data, TokenBatch):
            fields.update(token_fields(self._data, state, outcome, index, position))
        return fields, (state, outcome, index)

    def _position(self, index: int, position: int) -> int | None:
        """The token the sliders move (None: all of them); a position past this text's end is an error."""
        if not isinstance(self._data, TokenBatch) or position < 0:
            return None
        length = int(self._data.attention_mask[index].sum())
        if position >= length:
            raise ValueError(
                f"position {position} is past the end of example {index} ({length} tokens); -1 moves all."
            )
        return position

    def _directions(
        self, layer: nn.Module, reader: TargetReader, k: int, progress: Progress, collect: tuple[Any, ...]
    ) -> DirectionsState:
        """The expensive part: collect over the data, solve, then measure the objective of the real f."""
        count = self._data.shape[0]
        # Units of work: examples through the model (the objective: 2 bases × (k + 1) passes of a subsample).
        total = count + 2 * (k + 1) * min(count, SAMPLED_EXAMPLES)
        if self._distributed:
            samples, statistics = self._collect_on_all_ranks(
                layer, reader, lambda done, _: progress(done, total), collect
            )
            state = solve(samples, k, statistics)
        else:
            samples = collect_samples(
                self._model, layer, self._data, reader, lambda done, _: progress(done, total)
            )
            state = solve(samples, k)
        done = [count]

        def step(examples: int) -> None:
            done[0] += examples
            progress(min(done[0], total), total)

        return with_sampled_objectives(self._model, layer, self._data, reader, state, step)

    def _collect_on_all_ranks(
        self, layer: nn.Module, reader: TargetReader, progress: Progress, key: tuple[Any, ...]
    ) -> tuple[Samples, GlobalStatistics]:
        """Collect once (a collective) and reuse for any k: the rank's samples, all ranks' statistics.

        ``key``: (target, layer, data version) of the request.
        """
        known = self._collected.get(key)
        if known is not None:
            return known
        if self._collected:
            raise ValueError(
                "distributed=True: the layer, target and data are fixed for a distributed DirectionsWidget "
                "(a new collect is a collective every rank must join); build a new widget on every rank."
            )
        samples = collect_samples(self._model, layer, self._data, reader, progress)
        self._collected[key] = (samples, global_statistics(samples))
        return self._collected[key]

    def _failure_fields(self, request: Request) -> dict[str, Any]:
        return {"n_directions": 0}

    def _published(self, value: Any) -> None:
        previous = self._value
        self._value = value
        if value is None:
            return
        state, _, index = value
        new_example = previous is None or previous[2] != index
        if new_example and isinstance(self._data, torch.Tensor) and self._data.ndim == 4:
            self.image = binary_array(display_rgba(self._data[index : index + 1]))
        if previous is None or previous[0] is not state:
            if self.direction >= state.projection.n_directions:
                self.direction = 0
            self._send_examples()

    def _control_changed(self, change: dict[str, Any]) -> None:
        if change["name"] == "example" and self.position >= 0:
            with self._requests_suspended():  # a pinned token belongs to its text
                self.position = -1
        if change["name"] in ("k", "target", "layer", "data_version"):
            # New directions: the old offsets mean nothing along them.
            with self._requests_suspended():
                self.offsets = [0.0] * self.k

    @traitlets.observe("direction")
    def _on_direction(self, _change: dict[str, Any]) -> None:
        if self._ready:
            self._send_examples()

    def _send_examples(self) -> None:
        if self._value is None:
            return
        state = self._value[0]
        selected = min(max(self.direction, 0), state.projection.n_directions - 1)
        if isinstance(self._data, TokenBatch):
            self.examples = snippets(self._data, state, selected)
        else:
            self.examples = thumbnails(self._data, state, selected)

    def _probe_outputs(self) -> int | None:
        """The model's output width on two examples ([B, C] → C; None otherwise), to range-check target."""
        with model_lock(self._model), torch.no_grad():
            training = [(m, m.training) for m in self._model.modules()]
            try:
                self._model.eval()
                out = logits_of(forward(self._model, self._data[:2], model_device(self._model)))
            except Exception as exc:
                raise ValueError(
                    f"data: the model raised {type(exc).__name__} on data[:2] of shape "
                    f"{tuple(self._data[:2].shape)}: {exc}"
                ) from exc
            finally:
                for module, flag in training:
                    module.training = flag
        return int(out.shape[1]) if isinstance(out, torch.Tensor) and out.ndim == 2 else None


def _label_list(labels: Sequence[str] | Mapping[int, str] | None, classes: int | None) -> list[str]:
    if classes is None:
        return []
    if labels is None:
        return [str(i) for i in range(classes)]
    if isinstance(labels, Mapping):
        return [str(labels.get(i, i)) for i in range(classes)]
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(f"labels must be a sequence of class names or a dict {{index: name}}; got {labels!r}")
    if len(labels) != classes:
        raise ValueError(f"labels has {len(labels)} names but the model has {classes} outputs.")
    return [str(name) for name in labels]

