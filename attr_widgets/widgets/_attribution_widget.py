"""AttributionWidget: an image classifier's attribution heatmap, live in Jupyter.

The widget only holds state and calls :mod:`attr_widgets.attribution`; requests, progress, cancel and error
reporting live in the shared base, :class:`~attr_widgets.widgets._base.ComputeWidget`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from torch import nn

from attr_widgets.attribution import Attribution, attribute, unavailable_methods
from attr_widgets.attribution._applicability import describe
from attr_widgets.attribution._outputs import predict_with_kind
from attr_widgets.attribution._probabilities import check_output_kind
from attr_widgets.attribution._registry import specs

from ._base import ComputeWidget, bundle
from ._classes import check_labels, top_k_entries
from ._completeness import completeness
from ._evaluation import EVALUATIONS, Subject
from ._evaluation_panel import SINGLE, Evaluator, run_evaluation
from ._options import BASELINES, METHOD_LABELS, SIGN_MODES, choice_list, method_choices
from ._requests import Progress, Request, first_result_traits
from ._serialize import binary_array, block_mean, channel_sum, display_factor, display_rgba, unpack
from ._settings import attribute_settings, heatmap_figures, shown_controls
from ._traits import (
    BinaryArray,
    BoundedFloat,
    BoundedInt,
    Choice,
    ClassIndex,
    ImageTensor,
    InvalidValueError,
    reject,
)

MAX_STEPS = 2000
# Progressive path methods: a coarse result with this many nodes is shown first when the full run is
# expected to take longer than PROGRESSIVE_AFTER_S beyond it (a fast model shows its final result at once).
COARSE_STEPS = 4
PROGRESSIVE_AFTER_S = 0.3


def _is_text(inputs: object) -> bool:
    if isinstance(inputs, str) or isinstance(inputs, Mapping) and "input_ids" in inputs:
        return True
    return isinstance(inputs, (list, tuple)) and bool(inputs) and all(isinstance(t, str) for t in inputs)


def _is_row(inputs: object) -> bool:
    """One row of features, ``[F]`` or ``[1, F]``: images are 3-D or 4-D, so the image path is unchanged."""
    shape = getattr(inputs, "shape", None)
    if not isinstance(inputs, (torch.Tensor, np.ndarray)) or shape is None:
        return False
    return len(shape) == 1 or len(shape) == 2 and shape[0] == 1


def _first_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | None:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    return None


def _model_failure(model: nn.Module, x: torch.Tensor, exc: BaseException) -> ValueError:
    """The model's own error on ``inputs``, re-raised with what the widget knows about the mismatch."""
    message = f"inputs: the model raised {type(exc).__name__} on an input of shape {tuple(x.shape)}: {exc}"
    conv = _first_conv(model)
    if conv is not None and conv[1].in_channels != x.shape[1]:
        message += (
            f"\nThe model's first convolution ({conv[0] or 'the model'}: {conv[1]}) expects "
            f"{conv[1].in_channels} channel(s) but inputs has {x.shape[1]}; "
            f"pass [1, {conv[1].in_channels}, H, W]."
        )
    if x.shape[1] > 4 and x.shape[-1] in (1, 3, 4):
        message += "\ninputs looks channels-last ([H, W, C]); use x.permute(2, 0, 1)."
    return ValueError(message)


class AttributionWidget(ComputeWidget):
    """Attribution heatmap of an image classifier with live controls.

    ``display(AttributionWidget(model, x))`` shows the input with the attribution overlaid, the top-5
    classes, and controls for the method, target, baseline, integration steps, sign mode and opacity. Every
    control is a public trait: ``w.method = "saliency"`` from Python does what the selector does. Changes
    from Python recompute before the assignment returns (errors raise there); changes in the browser
    recompute on a background thread, newest request first (``w.wait()`` blocks until it is done and raises
    its error, if any).

    Args:
        model: a ``torch.nn.Module`` image classifier, on any device; it is never modified.
        inputs: one image, ``[1, C, H, W]`` or ``[C, H, W]`` (tensor or numpy array), as the model expects it.
        tokenizer: for text models: with it (or with text inputs) the widget is a
            :class:`TextAttributionWidget` (token highlights) instead; with ``feature_names=`` (or one row
            ``[F]`` / ``[1, F]`` as inputs) a :class:`TabularAttributionWidget` (feature bars).
        labels: class names (a sequence with one name per class, or a dict ``{index: name}``).
        target: the class to explain; None (default) follows the top predicted class.
        method: attribution method (one of ``w.options["methods"]``).
        baseline: "zeros", "blur" or "uniform" (methods with a baseline).
        n_steps: integration steps for integrated gradients.
        output: selector for models that return tuples, dicts or objects (see ``attr_widgets.attribute``).
        output_kind: what the model's scores are: "logits" (softmax gives the probabilities shown),
            "probabilities" (shown as they are: a model ending in ``nn.Softmax``) or "log_probabilities"
            (``nn.LogSoftmax``); None (default) reads it off the values, ``w.output_kind`` says which.
        methods: the methods offered in the selector (default: the image methods that need no extra options).
        opacity: heatmap opacity over the image, 0..1.
        sign_mode: "positive", "negative", "absolute" or "signed".
        outlier_percent: the colour scale ends at this top percentile of magnitudes (Captum's default is 2).
        canvas_size: display size of the longer image side, in CSS pixels.
        internal_batch_size: rows per model call ("auto" fits a memory budget); smaller chunks make progress
            finer and cancel quicker.
    """

    _esm = bundle("attribution")

    # Compute controls (the view writes them too); `compute=True` is all the base needs to know.
    method = Choice("integrated_gradients").tag(sync=True, compute=True)
    target = ClassIndex(0).tag(sync=True, compute=True)
    baseline = Choice("zeros", [value for value, _ in BASELINES]).tag(sync=True, compute=True)
    n_steps = BoundedInt(50, 1, MAX_STEPS).tag(sync=True, compute=True)
    # Counts the inputs the widget has had: results for an older input are not current in the view.
    inputs_version = traitlets.Int(0).tag(sync=True, compute=True)
    # View-only controls: they redraw, never recompute.
    opacity = BoundedFloat(0.85, 0.0, 1.0).tag(sync=True)
    sign_mode = Choice("signed", [value for value, _ in SIGN_MODES]).tag(sync=True)
    outlier_percent = BoundedFloat(2.0, 0.0, 50.0).tag(sync=True)
    canvas_size = BoundedInt(320, 64, 2048).tag(sync=True)
    # The input (Python only; the view gets its display form in `image`).
    inputs = ImageTensor()
    # State written by Python only.
    image = BinaryArray(allow_none=True, default_value=None).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    num_classes = traitlets.Int(0).tag(sync=True)
    top_k = traitlets.List(traitlets.Dict()).tag(sync=True)
    options = traitlets.Dict().tag(sync=True)
    # The evaluation panel's progress and its figures (written by Python only; see _evaluation_panel).
    evaluation = traitlets.Dict().tag(sync=True)
    evaluation_figures = traitlets.Dict().tag(sync=True)

    # Settings hooks (_settings): what a saved dict carries beside the compute controls.
    _view_controls = ("opacity", "sign_mode", "outlier_percent", "canvas_size")
    _derived_controls = ("inputs_version",)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """Text (``tokenizer=``, a str or list of str, a tokenizer's output) gets token highlights.

        One row of features (``feature_names=``, or a ``[F]`` / ``[1, F]`` array) gets feature bars.
        """
        inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
        if cls is AttributionWidget and (kwargs.get("tokenizer") is not None or _is_text(inputs)):
            from ._text_widget import TextAttributionWidget

            return TextAttributionWidget(*args, **kwargs)
        if cls is AttributionWidget and ("feature_names" in kwargs or _is_row(inputs)):
            from ._tabular_widget import TabularAttributionWidget

            return TabularAttributionWidget(*args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor | np.ndarray,
        *,
        tokenizer: Any = None,
        labels: Sequence[str] | Mapping[int, str] | None = None,
        target: int | None = None,
        method: str = "integrated_gradients",
        baseline: str = "zeros",
        n_steps: int = 50,
        output: Any = None,
        output_kind: str | None = None,
        methods: Sequence[str] | None = None,
        opacity: float = 0.85,
        sign_mode: str = "signed",
        outlier_percent: float = 2.0,
        canvas_size: int = 320,
        internal_batch_size: int | str | None = "auto",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        self._model = model
        self._output = output
        self._requested_output_kind = check_output_kind(output_kind)
        self._internal_batch_size = internal_batch_size
        method_options = method_choices(methods)
        self._choices = {"method": [m["value"] for m in method_options]}
        self._init_compute()
        self._attribution: Attribution | None = None
        self._evaluator = Evaluator(self)

        self._input_dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
        x = self._validate_trait("inputs", inputs)
        self._load_predictions(x)
        method_options = self._hide_unavailable(method_options, x, method)
        names = check_labels(labels, self._num_classes)
        self._target_follows_top = target is None
        controls = {
            name: self._validate_trait(name, value)
            for name, value in (
                ("method", method),
                ("target", target),
                ("baseline", baseline),
                ("n_steps", n_steps),
                ("opacity", opacity),
                ("sign_mode", sign_mode),
                ("outlier_percent", outlier_percent),
                ("canvas_size", canvas_size),
            )
        }
        self._first_inputs = x
        values = {**controls, "inputs_version": 0}
        first = Request(1, {name: values[name] for name in self.compute_trait_names()})
        # Errors in the first computation raise from the constructor.
        fields, attribution = self._compute(first, lambda done, total: None)
        super().__init__(
            inputs=x,
            image=binary_array(display_rgba(x, display_factor(*x.shape[-2:]))),
            labels=names,
            num_classes=self._num_classes,
            top_k=self._top_k(names),
            options={
                "methods": method_options,
                "baselines": choice_list(BASELINES),
                "sign_modes": choice_list(SIGN_MODES),
                "output_kind": self._output_kind,
                "unavailable_methods": describe(self._unavailable, METHOD_LABELS),
            },
            **first_result_traits(first, fields, fields["elapsed_ms"]),
            **controls,
        )
        del self._first_inputs
        self._attribution = attribution
        self._start(first_seq=1)

    # -- public read-only state
    @property
    def attribution(self) -> Attribution | None:
        """The :class:`Attribution` on screen, or None when the newest request failed."""
        return self._attribution

    @property
    def heatmap(self) -> np.ndarray | None:
        """The ``[H, W]`` float32 heatmap on screen (attribution summed over channels), or None.

        At the input's resolution; the view gets inputs larger than 640 px a side averaged over blocks.
        """
        result = self.result
        if result is None or result.get("heatmap") is None:
            return None
        if result.get("display_scale", 1) > 1 and self._attribution is not None:
            return self._full_heatmap()
        return unpack(result["heatmap"])

    def _full_heatmap(self) -> np.ndarray:
        """The channel sum of the attribution on screen at full resolution (cached per result)."""
        attribution = self._attribution
        assert attribution is not None
        known = getattr(self, "_full", None)
        if known is None or known[0] is not attribution:
            known = (attribution, channel_sum(attribution.values))
            self._full = known
        return known[1]

    @property
    def probabilities(self) -> np.ndarray:
        """Probability of every class for the current input (see :attr:`output_kind`)."""
        return self._probs.copy()

    @property
    def unavailable_methods(self) -> dict[str, str]:
        """``{method: one-line reason}`` for the methods hidden from the selector on this model."""
        return dict(self._unavailable)

    def _hide_unavailable(
        self, options: list[dict[str, Any]], x: torch.Tensor, method: str
    ) -> list[dict[str, Any]]:
        """Drop the methods that cannot run meaningfully on the model (x_gradient on a non-X-DNN, ...)."""
        self._unavailable = unavailable_methods(
            self._model, x, [entry["value"] for entry in options], output=self._output
        )
        if method in self._unavailable:
            reason = self._unavailable[method]
            raise ValueError(f"method={method!r} is not available for this model: {reason}")
        kept = [entry for entry in options if entry["value"] not in self._unavailable]
        self._choices["method"] = [entry["value"] for entry in kept]
        return kept

    @property
    def output_kind(self) -> str:
        """What the model's scores were taken to be: "logits", "probabilities" or "log_probabilities"."""
        return self._output_kind
    # -- settings (see _settings: to_dict / from_dict)
    def _replay_settings(self) -> tuple[str, dict[str, Any]]:
        shown = shown_controls(self)
        return "attribute", attribute_settings(
            shown["method"], shown["target"], shown["baseline"], shown["n_steps"],
            output=self._output, internal_batch_size=self._internal_batch_size,
        )  # fmt: skip

    def _constructor_options(self) -> dict[str, Any]:
        return {"methods": [entry["value"] for entry in self.options["methods"]]}

    def _figures(self) -> dict[str, Any]:
        result = self.result
        heatmap = None if result is None or result.get("heatmap") is None else unpack(result["heatmap"])
        return {**heatmap_figures(result, heatmap, self.sign_mode, self.outlier_percent), "top_k": self.top_k}

    # -- the evaluation panel (see _evaluation_panel: beside the compute protocol, never a request of it)
    def evaluate(self, what: str | Sequence[str] = EVALUATIONS) -> dict[str, Any]:
        """Evaluate the attribution on screen; show the figures in the panel and return the library's results.

        Args:
            what: any of "deletion", "insertion" (``Curve``, Petsiuk et al., RISE, 2018), "convergence" (the
                ``convergence`` dict, None for a method without an integration rule), "sanity"
                (``RandomizationResult``, Adebayo et al., "Sanity Checks for Saliency Maps", 2018), "axioms"
                (``AxiomReport``, Sundararajan, Taly and Yan, 2017), "infidelity" and "sensitivity" (``[1]``
                tensors, Yeh et al., 2019). Default: all of them.

        Returns:
            ``{name: result}`` for each name in ``what``. Results are cached per settings and example.

        Raises:
            Cancelled: ``w.cancel()`` or a kernel interrupt stopped it.
        """
        return run_evaluation(self._evaluator, what)

    def evaluation_chart(self) -> Any:
        """The deletion and insertion curves on screen as an ``altair`` chart (needs ``pip install altair``).

        The attribution order and the random order, from the figures of the last
        ``evaluate`` (or the view's Evaluate section); the view draws the same data as inline SVG.
        """
        from ._evaluation_chart import evaluation_chart

        return evaluation_chart(self.evaluation_figures, per_method=False)

    def _evaluation_subjects(
        self, only: Sequence[str] | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, Subject]]]:
        """The attribution on screen, as the evaluator's one subject (see _evaluation_panel)."""
        with self._sync_lock:
            attribution, result = self.attribution, self.result
            if attribution is None or result is None or result.get("error"):
                raise ValueError("evaluate: there is no attribution on screen to evaluate (the last request "
                                 "failed); fix the settings first.")  # fmt: skip
            controls = dict(result["controls"])
            return controls, [(SINGLE, Subject(self.model, self.inputs, attribution, controls, self._output))]

    def _on_view_message(self, widget: Any, content: Any, buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "hover":
            self._send_hover_value(content)
        else:
            super()._on_view_message(widget, content, buffers)

    def _send_hover_value(self, content: dict[str, Any]) -> None:
        """The exact value under the pointer, for a view that shows a block-averaged heatmap."""
        x, y = content.get("x"), content.get("y")
        if self._attribution is None or not isinstance(x, int) or not isinstance(y, int):
            return
        full = self._full_heatmap()
        if 0 <= y < full.shape[0] and 0 <= x < full.shape[1]:
            seq = None if self.result is None else self.result["seq"]
            self.send({"type": "hover_value", "x": x, "y": y, "value": float(full[y, x]), "seq": seq})

    # -- the compute protocol (see _base.ComputeWidget)
    def _compute(self, request: Request, progress: Progress) -> tuple[dict[str, Any], Attribution]:
        x = getattr(self, "_first_inputs", None)
        x = self.inputs if x is None else x
        start = time.perf_counter()
        steps = int(request["n_steps"])
        coarse_rows = 0
        if specs()[request["method"]].path and steps > 2 * COARSE_STEPS:
            coarse_rows = self._progressive_start(x, request, progress, steps)
        attribution = self._attribute(x, request, steps, _offset(progress, coarse_rows))
        return self._fields(request, attribution, start), attribution

    def _attribute(self, x: torch.Tensor, request: Request, n_steps: int, progress: Progress) -> Attribution:
        return attribute(
            self._model,
            x,
            method=request["method"],
            target=request["target"],
            baseline=request["baseline"],
            n_steps=n_steps,
            output=self._output,
            internal_batch_size=self._internal_batch_size,
            progress=progress,
        )

    def _fields(self, request: Request, attribution: Attribution, start: float) -> dict[str, Any]:
        full = channel_sum(attribution.values)
        k = display_factor(*full.shape)
        shown = full if k == 1 else block_mean(torch.from_numpy(full), k).numpy()
        return {
            "target_prob": self._target_probability(request["target"]),
            "heatmap": binary_array(shown),
            # The view draws `heatmap` at 1/k of the input's resolution and asks the kernel for exact values.
            "display_scale": k,
            "full_shape": list(full.shape),
            "completeness": completeness(attribution),
            "steps_taken": attribution.n_steps,
            "elapsed_ms": (time.perf_counter() - start) * 1000,
        }

    def _progressive_start(self, x: torch.Tensor, request: Request, progress: Progress, steps: int) -> int:
        """Compute IG with COARSE_STEPS nodes; show it when the full run will take a while. Returns its rows.

        The coarse run's model rows count in the progress bar, whose total covers both runs from the start.
        """
        start = time.perf_counter()
        rows = [0]

        def coarse_progress(done: int, total: int) -> None:
            rows[0] = done
            progress(done, total + (total - x.shape[0]) * steps // COARSE_STEPS)

        coarse = self._attribute(x, request, COARSE_STEPS, coarse_progress)
        took = time.perf_counter() - start
        if took * (steps / COARSE_STEPS) > PROGRESSIVE_AFTER_S:
            self._publish_preliminary(request, self._fields(request, coarse, start))
        return rows[0]

    def _failure_fields(self, request: Request) -> dict[str, Any]:
        return {
            "target_prob": self._target_probability(request["target"]),
            "heatmap": None,
            "completeness": None,
        }

    def _published(self, value: Any) -> None:
        self._attribution = value

    def _control_changed(self, change: dict[str, Any]) -> None:
        if change["name"] == "target" and not self._suspended:
            self._target_follows_top = False

    # -- what the recomputation needs
    def _validate_trait(self, name: str, value: Any) -> Any:
        return self.traits()[name]._validate(self, value)

    def _predictions(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(probability of every class, classes by decreasing probability); model errors name ``inputs``."""
        try:
            probs, indices, kind = predict_with_kind(
                self._model, x, output=self._output, k=None, output_kind=self._requested_output_kind
            )
        except (ValueError, TypeError):
            raise
        except Exception as exc:
            raise _model_failure(self._model, x, exc) from exc
        self._output_kind = kind
        full = np.zeros(probs.shape[1], dtype=np.float64)
        order = indices[0].cpu().numpy()
        full[order] = probs[0].detach().cpu().double().numpy()
        return full, order

    def _load_predictions(self, x: torch.Tensor) -> None:
        self._probs, self._order = self._predictions(x)
        self._num_classes = int(self._probs.shape[0])

    def _top_class(self) -> int:
        return int(self._order[0])

    def _top_k(self, names: Sequence[str]) -> list[dict[str, Any]]:
        return top_k_entries(self._probs, self._order, names)

    def _target_probability(self, target: int) -> float:
        return float(self._probs[target])

    @traitlets.validate("inputs")
    def _check_inputs_on_model(self, proposal: dict[str, Any]) -> torch.Tensor:
        """A new input must run through the model: its error rejects the value (and shows in the view)."""
        x = proposal["value"]
        if not self._ready:
            return x
        with self._compute_lock:
            try:
                self._validated = (x, self._predictions(x))
            except (ValueError, TypeError) as exc:
                raise reject(self, "inputs", InvalidValueError(str(exc))) from exc
        return x

    @traitlets.observe("inputs")
    def _on_inputs(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        x = change["new"]
        validated_x, (self._probs, self._order) = self._validated
        assert validated_x is x, "inputs changed without validation"
        self._num_classes = int(self._probs.shape[0])
        with self._requests_suspended(), self.hold_sync():
            self.image = binary_array(display_rgba(x, display_factor(*x.shape[-2:])))
            self.num_classes = self._num_classes
            self.top_k = self._top_k(self.labels)
            if self._target_follows_top or self.target >= self._num_classes:
                self.target = self._top_class()
            self.inputs_version += 1
        self._request()


def _offset(progress: Progress, rows: int) -> Progress:
    """``progress`` for a run that follows ``rows`` rows already reported (the coarse progressive result)."""
    if rows == 0:
        return progress
    return lambda done, total: progress(done + rows, total + rows)
