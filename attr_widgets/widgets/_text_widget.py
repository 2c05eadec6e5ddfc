"""Token highlights: the attribution of a text classifier's decision to its tokens (or words), live."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from torch import nn

from attr_widgets.attribution import Attribution, attribute
from attr_widgets.attribution._cache import model_state_key
from attr_widgets.attribution._outputs import predict_with_kind
from attr_widgets.attribution._probabilities import check_output_kind
from attr_widgets.attribution._registry import specs

from ._base import ComputeWidget, bundle
from ._classes import check_labels, top_k_entries
from ._completeness import completeness
from ._erasure_panel import erasure_figures, flip_table
from ._next_token import LastPosition, detect_next_token, vocabulary_names
from ._options import SIGN_MODES, choice_list
from ._requests import Progress, Request, first_result_traits
from ._serialize import binary_array
from ._settings import heatmap_figures, shown_controls
from ._tokens import TextExample, check_vocabulary, encode, find_token_embedding, max_tokens, word_scores
from ._traits import BoundedFloat, BoundedInt, Choice, ClassIndex, InvalidValueError, reject

# (method, label, baselines it can use, uses steps, how its values become one score per token)
TEXT_METHODS = (
    ("layer_integrated_gradients", "Integrated Gradients (embeddings)", ("pad", "mask", "zero_embedding"),
     True,
     "summed over the embedding dimension (the sum keeps completeness)"),
    ("layer_gradient_x_activation", "Gradient × embedding", (), False, "summed over the embedding dimension"),
    ("attention", "Attention (last layer, mean over heads)", (), False,
     "attention from the first token ([CLS]) to each token"),  # the last token's for a causal LM
    ("feature_ablation", "Token ablation", ("pad", "mask"), False,
     "drop in the score when the token is replaced by the baseline token"),
)  # fmt: skip
TEXT_BASELINES = (("pad", "[PAD]"), ("mask", "[MASK]"), ("zero_embedding", "Zero embedding"))
MAX_STEPS = 1024


def text_method_choices(next_token: bool = False) -> list[dict[str, Any]]:
    """The methods the engine has (layer gradient × activation may not be there), for the selector."""
    registry = specs()
    return [
        {"value": name, "label": label, "uses_baseline": bool(baselines), "baselines": list(baselines),
         "uses_steps": steps, "completeness": bool(registry[name].has_delta),
         "reduction": LAST_TOKEN_ATTENTION if next_token and name == "attention" else reduction}
        for name, label, baselines, steps, reduction in TEXT_METHODS
        if name in registry
    ]  # fmt: skip


# A causal LM's decision is made at the last position, so its attention is read from there.
LAST_TOKEN_ATTENTION = "attention from the last token (the one that predicts the next) to each token"
# n_steps="auto" (refine until |delta| <= tol * |f(x) - f(b)|) exists for the IG family only.
AUTO_STEP_METHODS = ("layer_integrated_gradients",)


class TextAttributionWidget(ComputeWidget):
    """Token highlights of a text classifier: which tokens (or words) the decision rests on.

    ``AttributionWidget(model, text, tokenizer=tok)`` returns one of these. Each token is drawn as text (never
    as HTML) on a diverging colour scale centred at zero; hover reads a token's attribution and share, a click
    pins it (``w.pinned``). Words merge subword pieces by the tokenizer's own word boundaries, summing their
    scores. Methods: layer Integrated Gradients on the token embeddings (Sundararajan, Taly and Yan,
    "Axiomatic Attribution for Deep Networks", 2017), gradient × embedding, attention weights and token
    ablation.

    Args:
        model: a classifier taking ``input_ids`` and ``attention_mask`` and returning logits (a tensor, a
            tuple, a dict or an object with ``.logits``: see ``output``); never modified.
        inputs: a text, a list of texts (an example selector), or the tokenizer's output.
        tokenizer: the model's tokenizer (a fast one gives character offsets and words).
        labels, target, method, n_steps, output, sign_mode, outlier_percent: as in ``AttributionWidget``.
        baseline: "pad", "mask" (every non-special token replaced) or "zero_embedding".
        layer: the module whose output are the token embeddings (default: found automatically).
        example: which of ``inputs`` is shown.
        words: show words instead of subword tokens; show_special: show [CLS], [SEP] and the like.
        auto_steps, tol: Integrated Gradients with ``n_steps="auto", integration="adaptive"``: nodes are
            added where the model changes along the path, until the completeness errors of its pieces sum to
            at most ``tol·|f(x) − f(baseline)|`` (so ``|delta|`` is within it too); ``n_steps`` is then
            unused, the result says how many were taken.
        next_token: attribute the next token of a causal language model (logits ``[B, T, vocabulary]``):
            the target is a vocabulary token at the last position, the top next tokens are offered and
            attention is read from the last token. None (default) detects it from the output's shape.
            Real language-model weights come from the user; nothing is downloaded.

    Texts longer than the model's maximum are cut to it, with a warning and a note in the view.
    """

    _esm = bundle("text")
    _view_controls = ("words", "show_special", "sign_mode", "outlier_percent")
    _saved_view_controls = (*_view_controls, "pinned")  # a click on a token pins it, in the view alone

    method = Choice("layer_integrated_gradients").tag(sync=True, compute=True)
    target = ClassIndex(0).tag(sync=True, compute=True)
    baseline = Choice("pad", [value for value, _ in TEXT_BASELINES]).tag(sync=True, compute=True)
    n_steps = BoundedInt(32, 1, MAX_STEPS).tag(sync=True, compute=True)
    auto_steps = traitlets.Bool(False).tag(sync=True, compute=True)
    tol = BoundedFloat(1e-2, 1e-6, 0.5).tag(sync=True, compute=True)
    example = traitlets.Int(0).tag(sync=True, compute=True)
    # Serrano and Smith's erasure test for the example on screen (opt-in: it runs many forward passes).
    erasure = traitlets.Bool(False).tag(sync=True, compute=True)
    # View-only controls.
    words = traitlets.Bool(False).tag(sync=True)
    show_special = traitlets.Bool(False).tag(sync=True)
    pinned = traitlets.Int(-1).tag(sync=True)
    sign_mode = Choice("signed", [value for value, _ in SIGN_MODES]).tag(sync=True)
    outlier_percent = BoundedFloat(0.0, 0.0, 50.0).tag(sync=True)
    # Written by Python: the tokens of the example on screen (sent once per example, not per result).
    tokens = traitlets.List(traitlets.Dict()).tag(sync=True)
    examples = traitlets.List(traitlets.Unicode()).tag(sync=True)
    truncated_from = traitlets.Int(0).tag(sync=True)
    words_available = traitlets.Bool(True).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    num_classes = traitlets.Int(0).tag(sync=True)
    next_token = traitlets.Bool(False).tag(sync=True)
    top_k = traitlets.List(traitlets.Dict()).tag(sync=True)
    options = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        inputs: Any,
        *,
        tokenizer: Any,
        labels: Sequence[str] | Mapping[int, str] | None = None,
        target: int | None = None,
        method: str = "layer_integrated_gradients",
        baseline: str = "pad",
        n_steps: int = 32,
        layer: nn.Module | str | None = None,
        output: Any = None,
        output_kind: str | None = None,
        example: int = 0,
        erasure: bool = False,
        words: bool = False,
        show_special: bool = False,
        sign_mode: str = "signed",
        outlier_percent: float = 0.0,
        internal_batch_size: int | str | None = "auto",
        auto_steps: bool = False,
        tol: float = 1e-2,
        next_token: bool | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        if tokenizer is None or not callable(getattr(tokenizer, "convert_ids_to_tokens", None)):
            raise TypeError(
                "tokenizer=: text inputs need the model's tokenizer (AutoTokenizer.from_pretrained(...)), "
                f"got {type(tokenizer).__name__}."
            )
        self._model, self._output, self._tokenizer = model, output, tokenizer
        # What the scores are (logits / probabilities / log-probabilities): set by each prediction.
        self._requested_output_kind = check_output_kind(output_kind)
        self.output_kind = "logits"
        self._internal_batch_size = internal_batch_size
        name, embedding = find_token_embedding(model) if layer is None else (layer, None)
        if embedding is not None:
            check_vocabulary(tokenizer, embedding)
        self._layer = name
        self._examples: list[TextExample] = encode(inputs, tokenizer, max_tokens(tokenizer, model))
        first = self._examples[0]
        if next_token is None:
            next_token = detect_next_token(model, first.input_ids, first.attention_mask, output)
        self._next_token = bool(next_token)
        if self._next_token:
            self._output = LastPosition(output)
        method_options = text_method_choices(self._next_token)
        self._choices = {"method": [m["value"] for m in method_options]}
        self._init_compute()
        self._attribution: Attribution | None = None
        self._flips: tuple[tuple, dict[str, Any]] | None = None  # (model state, 2×2 flip table)
        self._example_index = self._check_example(example)
        self._load_predictions(self._example_index)
        self._target_follows_top = target is None
        # A vocabulary of ~50k names stays in Python: the view gets the top tokens' names with top_k.
        vocabulary = self._next_token and labels is None
        names = (
            vocabulary_names(tokenizer, self._num_classes)
            if vocabulary
            else check_labels(labels, self._num_classes)
        )
        self._names = names
        controls = {
            key: self.traits()[key]._validate(self, value)
            for key, value in (("method", method), ("target", target), ("baseline", baseline),
                               ("n_steps", n_steps), ("auto_steps", bool(auto_steps)), ("tol", tol),
                               ("sign_mode", sign_mode), ("outlier_percent", outlier_percent))
        }  # fmt: skip
        compute = ("method", "target", "baseline", "n_steps", "auto_steps", "tol")
        first_request = Request(1, {**{k: controls[k] for k in compute},
                            "example": self._example_index, "erasure": bool(erasure)})  # fmt: skip
        fields, attribution = self._compute(first_request, lambda done, total: None)
        current = self._examples[self._example_index]
        super().__init__(
            tokens=current.tokens,
            examples=[e.preview for e in self._examples],
            truncated_from=current.truncated_from or 0,
            words_available=current.text is not None and getattr(tokenizer, "is_fast", False),
            labels=[] if vocabulary else names,
            num_classes=self._num_classes,
            next_token=self._next_token,
            top_k=top_k_entries(self._probs, self._order, names),
            options={
                "methods": method_options,
                "baselines": choice_list(TEXT_BASELINES),
                "sign_modes": choice_list(SIGN_MODES),
            },  # fmt: skip
            **first_result_traits(first_request, fields, fields["elapsed_ms"]),
            example=self._example_index,
            erasure=bool(erasure),
            words=bool(words),
            show_special=bool(show_special),
            **controls,
        )
        self._attribution = attribution
        self._start(first_seq=1)

    # -- public read-only state
    @property
    def attribution(self) -> Attribution | None:
        """The :class:`Attribution` on screen (values per token and embedding dimension), or None."""
        return self._attribution

    @property
    def token_scores(self) -> np.ndarray | None:
        """One score per token of the example on screen (special tokens included), or None after a failure."""
        result = self.result
        if result is None or result.get("scores") is None:
            return None
        return np.frombuffer(result["scores"]["view"], dtype=np.float32).copy()

    def word_scores(self) -> tuple[list[str], np.ndarray] | None:
        """(words, their scores): each word's score is the sum of its pieces' scores."""
        scores = self.token_scores
        return None if scores is None else word_scores(scores, self.tokens)

    @property
    def probabilities(self) -> np.ndarray:
        return self._probs.copy()

    # -- the compute protocol
    def _compute(self, request: Request, progress: Progress) -> tuple[dict[str, Any], Attribution]:
        ex = self._examples[request["example"]]
        start = time.perf_counter()
        attribution = attribute(
            self._model, ex.input_ids, forward_kwargs={"attention_mask": ex.attention_mask},
            progress=progress, **self._attribute_options(request, ex),
        )  # fmt: skip
        values = attribution.values.detach().float().cpu()[0]
        scores = values.reshape(values.shape[0], -1).sum(dim=1) if values.dim() > 1 else values
        panel = self._erasure(request, ex, scores, progress) if request["erasure"] else None
        return {
            "scores": binary_array(scores.numpy().astype(np.float32)),
            "erasure": panel,
            "completeness": completeness(attribution),
            "target_prob": float(self._probs[request["target"]]),
            "steps_taken": attribution.n_steps,
            "elapsed_ms": (time.perf_counter() - start) * 1000,
        }, attribution

    def _attribute_options(self, request: Mapping[str, Any] | Request, ex: TextExample) -> dict[str, Any]:
        """``attribute`` keyword arguments for ``request`` on ``ex`` (its attention mask aside)."""
        method = request["method"]
        options: dict[str, Any] = {
            "method": method,
            "target": request["target"],
            "output": self._output,
            "internal_batch_size": self._internal_batch_size,
        }
        if specs()[method].needs_layer:
            options["layer"] = self._layer_name()
        if method in ("layer_integrated_gradients", "feature_ablation"):
            options.update(self._token_baseline(method, request["baseline"], ex))
        if specs()[method].path:
            auto = request["auto_steps"] and method in AUTO_STEP_METHODS
            options["n_steps"] = "auto" if auto else request["n_steps"]
            if auto:  # nodes where the model changes along the path (attribution._adaptive)
                options.update(tol=request["tol"], integration="adaptive")
        if method == "attention" and self._next_token:
            options["query"] = -1
        return options

    def _layer_name(self) -> nn.Module | str:
        """The embedding layer's dotted name where it has one (a name travels in a settings dict)."""
        if isinstance(self._layer, str):
            return self._layer
        return next((name for name, m in self._model.named_modules() if m is self._layer), self._layer)

    # -- settings (see _settings: to_dict / from_dict)
    def _replay_settings(self) -> tuple[str, dict[str, Any]]:
        shown = shown_controls(self)
        ex = self._examples[shown["example"]]
        return "attribute", self._attribute_options(shown, ex)

    def _figures(self) -> dict[str, Any]:
        scores = self.token_scores
        return {
            **heatmap_figures(self.result, scores, self.sign_mode, self.outlier_percent),
            "top_k": self.top_k,
        }

    def _replay_inputs(self) -> dict[str, Any]:
        """The example's token ids and attention mask.

        ``attribute(model, torch.tensor(d["inputs"]["input_ids"]), forward_kwargs={"attention_mask":
        torch.tensor(d["inputs"]["attention_mask"])}, **d["settings"])`` is the attribution on screen.
        """
        ex = self._examples[shown_controls(self)["example"]]
        return {"input_ids": ex.input_ids.tolist(), "attention_mask": ex.attention_mask.tolist()}

    def _erasure(
        self, request: Request, ex: TextExample, scores: torch.Tensor, progress: Progress
    ) -> dict[str, Any]:
        """The erasure panel's figures; IG's token scores are reused when they explain the decision."""
        decision = self._top_class()
        reuse = request["method"] == "layer_integrated_gradients" and request["target"] == decision
        baseline = request["baseline"] if request["baseline"] in ("pad", "mask") else "pad"
        special = torch.tensor([[t["special"] for t in ex.tokens]])
        panel = erasure_figures(
            self._model, ex.input_ids, ex.attention_mask, special, layer=self._layer,
            ig_scores=scores[None] if reuse else None, n_steps=request["n_steps"], output=self._output,
            baseline=self._token_baseline("layer_integrated_gradients", baseline, ex), progress=progress,
        )  # fmt: skip
        panel["flip_table"] = self._flip_table(progress) if len(self._examples) > 1 else None
        return panel

    def _flip_table(self, progress: Progress) -> dict[str, Any]:
        """The 2×2 decision-flip table over every text of the widget (kept until the model changes)."""
        state = model_state_key(self._model)
        if self._flips is not None and self._flips[0] == state:
            return self._flips[1]
        examples = [
            (e.input_ids, e.attention_mask, torch.tensor([[t["special"] for t in e.tokens]]))
            for e in self._examples
        ]
        table = flip_table(self._model, examples, output=self._output, query=-1 if self._next_token else 0,
                           progress=progress)  # fmt: skip
        self._flips = (state, table)
        return table

    def _token_baseline(self, method: str, name: str, ex: TextExample) -> dict[str, Any]:
        allowed = next(baselines for value, _, baselines, _, _ in TEXT_METHODS if value == method)
        if name not in allowed:
            raise ValueError(
                f"baseline={name!r} does not apply to method={method!r} (it replaces whole tokens); "
                f"use one of {list(allowed)}."
            )
        if name == "zero_embedding":
            width = self._embedding_width(ex)
            return {"baseline": torch.zeros(1, ex.input_ids.shape[1], width)}
        token = getattr(self._tokenizer, f"{name}_token_id", None)
        if token is None:
            raise ValueError(f"baseline={name!r}: the tokenizer has no {name} token; use another baseline.")
        keep = list(getattr(self._tokenizer, "all_special_ids", []))
        keep = [
            t for t in keep if t != token
        ]  # [CLS] and [SEP] stay in the baseline text (as in Captum's tutorials)
        return {"baseline": name, f"{name}_token_id": int(token), "keep_token_ids": keep}

    def _embedding_width(self, ex: TextExample) -> int:
        module = (
            dict(self._model.named_modules())[self._layer] if isinstance(self._layer, str) else self._layer
        )
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.dim() == 2:
            return int(weight.shape[1])
        raise ValueError("baseline='zero_embedding' needs an embedding layer with a [vocab, width] weight.")

    def _failure_fields(self, request: Request) -> dict[str, Any]:
        target_prob = float(self._probs[request["target"]])
        return {
            "scores": None, "erasure": None, "completeness": None,
            "target_prob": target_prob, "steps_taken": None,
        }  # fmt: skip

    def _published(self, value: Any) -> None:
        self._attribution = value

    def _control_changed(self, change: dict[str, Any]) -> None:
        if change["name"] == "target" and not self._suspended:
            self._target_follows_top = False
        if change["name"] == "example":
            self._show_example(change["new"])

    # -- examples and predictions
    def _check_example(self, value: Any) -> int:
        count = len(self._examples)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= int(value) < count:
            raise reject(self, "example", InvalidValueError(
                f"example must be an integer index 0..{count - 1} into the {count} input text(s), "
                f"got {value!r}."
            ))  # fmt: skip
        return int(value)

    @traitlets.validate("example")
    def _validate_example(self, proposal: dict[str, Any]) -> int:
        return self._check_example(proposal["value"])

    def _load_predictions(self, index: int) -> None:
        ex = self._examples[index]
        probs, order, self.output_kind = predict_with_kind(
            self._model, ex.input_ids, output=self._output, k=None,
            output_kind=self._requested_output_kind, attention_mask=ex.attention_mask)  # fmt: skip
        full = np.zeros(probs.shape[1], dtype=np.float64)
        full[order[0].cpu().numpy()] = probs[0].detach().cpu().double().numpy()
        self._probs, self._order = full, order[0].cpu().numpy()
        self._num_classes = int(full.shape[0])

    def _top_class(self) -> int:
        return int(self._order[0])

    def _show_example(self, index: int) -> None:
        self._load_predictions(index)
        ex = self._examples[index]
        with self._requests_suspended(), self.hold_sync():
            self.tokens = ex.tokens
            self.truncated_from = ex.truncated_from or 0
            self.pinned = -1
            self.top_k = top_k_entries(self._probs, self._order, self._names)
            if self._target_follows_top:
                self.target = self._top_class()
