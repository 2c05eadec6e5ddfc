"""CompareWidget: several attribution methods on one image, side by side on one colour scale.

One request computes every method, fast ones first (by the time each took on the previous request, else
by its estimated model evaluations), and publishes each finished map at once as a partial result for the
same controls: a slow method (occlusion) never holds back the maps of the fast ones, and the one staleness
rule of the widget core still holds (a partial result answers the same controls as the final one, and an
overtaken request publishes nothing). Per-method progress (queued / computing done of total / done /
error / cancelled) travels in ``method_states``, small JSON apart from the maps, so a progress tick never
resends a heatmap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from torch import nn

from attr_widgets.attribution import Attribution, predict
from attr_widgets.attribution._validation import unknown_name_error

from ._attribution_widget import _is_row, _model_failure
from ._base import bundle
from ._classes import check_labels, top_k_entries
from ._compare_agreement import agreement_matrix, scale_extent
from ._compare_compute import MethodsRequest
from ._compare_methods import (
    DEFAULT_COMPARE_METHODS,
    DEFAULT_TABULAR_METHODS,
    MethodPlan,
    baselines_for,
    plan_methods,
)
from ._evaluation import Subject
from ._evaluation_panel import Evaluator, run_evaluation
from ._options import BASELINES, SIGN_MODES, choice_list
from ._requests import Request, first_result_traits
from ._serialize import binary_array, display_rgba
from ._settings import as_tuples, shown_controls
from ._tabular import check_feature_names, tabular_row
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
# What c.evaluate() computes by default: the figures the view's table puts side by side per method.
COMPARE_EVALUATIONS = ("deletion", "insertion", "sanity")


class CompareWidget(MethodsRequest):
    """Attribution maps of several methods for one image, on one shared colour scale, with their agreement.

    ``display(CompareWidget(model, x, methods=("saliency", "integrated_gradients", "smoothgrad",
    "grad_cam", "occlusion")))`` shows one heatmap per method over the input, all on one colour scale by
    default (``shared_scale=False`` gives each map its own), one legend and one target selector; a
    method × method matrix of rank correlation and top-k feature agreement (OpenXAI's measures: Agarwal et
    al., "OpenXAI: Towards a Transparent Evaluation of Model Explanations", 2022), where a click on a cell
    puts the two maps side by side with their difference; and linked hover (a pixel under the pointer is
    marked in every map, with each method's value).

    Args:
        model: a ``torch.nn.Module`` image classifier with at least two classes; never modified.
        inputs: one image, ``[1, C, H, W]`` or ``[C, H, W]`` (tensor or numpy array); or one row of a
            table, ``[F]`` or ``[1, F]`` (then each map is drawn as feature bars).
        methods: the methods to compare (names of ``attr_widgets.methods()`` with input-shaped values, and
            ``grad_cam``); default: saliency, integrated gradients, SmoothGrad, Grad-CAM and occlusion for
            images; saliency, input × gradient, integrated gradients, GradientSHAP and feature ablation
            for rows.
        feature_names: for a row: one name per feature (default "feature 0", ...).
        layer: the layer for Grad-CAM (a dotted module name or the module); default: the last ``Conv2d``.
        method_options: extra options per method,
            e.g. ``{"occlusion": {"sliding_window_shapes": (1, 2, 2)}}``.
        labels, target, baseline, n_steps, output, internal_batch_size: as in ``AttributionWidget``
            (``baseline`` and ``n_steps`` apply to the methods that use them).
        shared_scale: one colour extent for all maps (default) or one per map.
        k: how many top features the top-k agreement compares (default: a tenth of the pixels).
        sign_mode, outlier_percent, opacity: how the maps are drawn, as in ``AttributionWidget``.
        canvas_size: display size of each map's longer side, in CSS pixels.
    """

    _esm = bundle("compare")
    _view_controls = ("shared_scale", "k", "sign_mode", "outlier_percent", "opacity", "canvas_size")
    _saved_view_controls = ("shared_scale", "sign_mode", "outlier_percent", "opacity", "canvas_size")

    # Compute controls.
    target = ClassIndex(0).tag(sync=True, compute=True)
    baseline = Choice("zeros").tag(sync=True, compute=True)
    n_steps = BoundedInt(50, 1, MAX_STEPS).tag(sync=True, compute=True)
    # View-only controls.
    shared_scale = traitlets.Bool(True).tag(sync=True)
    sign_mode = Choice("signed", [value for value, _ in SIGN_MODES]).tag(sync=True)
    outlier_percent = BoundedFloat(2.0, 0.0, 50.0).tag(sync=True)
    opacity = BoundedFloat(0.85, 0.0, 1.0).tag(sync=True)
    canvas_size = BoundedInt(150, 48, 1024).tag(sync=True)
    # State written by Python only.
    # "image" (maps over the input) or "tabular" (one row of features: bars).
    kind = traitlets.Unicode("image").tag(sync=True)
    image = BinaryArray(allow_none=True, default_value=None).tag(sync=True)
    feature_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    feature_values = traitlets.List(traitlets.Float()).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    num_classes = traitlets.Int(0).tag(sync=True)
    top_k = traitlets.List(traitlets.Dict()).tag(sync=True)
    options = traitlets.Dict().tag(sync=True)
    # The evaluation section's progress and its figures per method (written by Python only, see
    # _evaluation_panel).
    evaluation = traitlets.Dict().tag(sync=True)
    evaluation_figures = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor | np.ndarray,
        *,
        methods: Sequence[str] | None = None,
        feature_names: Sequence[str] | None = None,
        layer: str | nn.Module | None = None,
        method_options: Mapping[str, Mapping[str, Any]] | None = None,
        labels: Sequence[str] | Mapping[int, str] | None = None,
        target: int | None = None,
        baseline: str = "zeros",
        n_steps: int = 50,
        output: Any = None,
        shared_scale: bool = True,
        k: int | None = None,
        sign_mode: str = "signed",
        outlier_percent: float = 2.0,
        opacity: float = 0.85,
        canvas_size: int = 150,
        internal_batch_size: int | str | None = "auto",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        self._model = model
        self._output = output
        self._internal_batch_size = internal_batch_size
        tabular = feature_names is not None or _is_row(inputs)
        self._kind = "tabular" if tabular else "image"
        if methods is None:
            methods = DEFAULT_TABULAR_METHODS if tabular else DEFAULT_COMPARE_METHODS
        self._plans: list[MethodPlan] = plan_methods(
            methods, model, layer=layer, method_options=method_options
        )
        self._choices = {"baseline": baselines_for(self._plans, [b for b, _ in BASELINES])}
        self._init_compute()
        self._evaluator = Evaluator(self)
        self._attributions: dict[str, Attribution] = {}
        self._maps: dict[str, np.ndarray] = {}
        self._method_errors: dict[str, str] = {}
        self._measured_ms: dict[str, float] = {}
        self._shown_seq = 1

        self._input_dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
        if tabular:
            x = tabular_row(inputs)
            x = x.to(self._input_dtype) if self._input_dtype is not None else x
            self._features = int(x.shape[1])
            columns = check_feature_names(feature_names, self._features)
        else:
            x = ImageTensor().validate(self, inputs)
            self._features = int(x.shape[2] * x.shape[3])
            columns = []
        self._x = x
        self._load_predictions(x)
        names = check_labels(labels, self._num_classes)
        if k is None:
            k = max(1, math.ceil(self._features / 10))
        controls = {
            name: self._validate_trait(name, value)
            for name, value in (
                ("target", target),
                ("baseline", baseline),
                ("n_steps", n_steps),
                ("shared_scale", shared_scale),
                ("k", k),
                ("sign_mode", sign_mode),
                ("outlier_percent", outlier_percent),
                ("opacity", opacity),
                ("canvas_size", canvas_size),
            )
        }
        first = Request(1, {name: controls[name] for name in self.compute_trait_names()})
        # Errors in the first computation raise from the constructor.
        fields, value = self._compute(first, lambda done, total: None)
        self._keep(value)
        super().__init__(
            kind=self._kind,
            image=None if tabular else binary_array(display_rgba(x)),
            feature_names=columns,
            feature_values=[float(v) for v in x[0].tolist()] if tabular else [],
            labels=names,
            num_classes=self._num_classes,
            top_k=top_k_entries(self._probs, self._order, names),
            options={
                "methods": [self._method_choice(plan) for plan in self._plans],
                "baselines": [c for c in choice_list(BASELINES) if c["value"] in self._choices["baseline"]],
                "sign_modes": choice_list(SIGN_MODES),
            },
            method_states={"seq": 1, "states": value["states"]},
            agreement_state={"seq": 1, **agreement_matrix(self._maps, self.method_names, controls["k"])},
            **first_result_traits(first, fields, fields["elapsed_ms"]),
            **controls,
        )
        self._start(first_seq=1)

    # -- public read-only state
    @property
    def inputs(self) -> torch.Tensor:
        """The image the maps explain, ``[1, C, H, W]``."""
        return self._x

    @property
    def attributions(self) -> dict[str, Attribution]:
        """Method name → the :class:`Attribution` on screen (methods still computing or failed are absent)."""
        return dict(self._attributions)

    @property
    def maps(self) -> dict[str, np.ndarray]:
        """Method name → the ``[H, W]`` float32 map on screen (the attribution summed over channels)."""
        return {name: m.copy() for name, m in self._maps.items()}

    @property
    def method_errors(self) -> dict[str, str]:
        """Method name → the error of a method that failed on the present controls."""
        return dict(self._method_errors)

    @property
    def scale(self) -> float:
        """The shared colour extent: the legend's end, over every map on screen (see ``sign_mode``)."""
        return scale_extent(
            [self._maps[n] for n in self.method_names if n in self._maps],
            self.sign_mode,
            self.outlier_percent,
        )

    @property
    def extents(self) -> dict[str, float]:
        """Method name → the colour extent its map is drawn with: ``scale`` for all when ``shared_scale``."""
        if self.shared_scale:
            shared = self.scale
            return {name: shared for name in self.method_names if name in self._maps}
        return {
            name: scale_extent([m], self.sign_mode, self.outlier_percent) for name, m in self._maps.items()
        }

    @property
    def agreement(self) -> dict[str, Any]:
        """``{"methods", "spearman", "topk", "k"}`` over the maps on screen (None where a map is missing)."""
        return {key: value for key, value in self.agreement_state.items() if key != "seq"}

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax probability of every class for the input."""
        return self._probs.copy()

    # -- the evaluation section: the AttributionWidget's figures, for each map on screen
    def evaluate(
        self, what: str | Sequence[str] = COMPARE_EVALUATIONS, methods: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Evaluate each map on screen; show the figures in the view's Evaluate section and return them.

        Args:
            what: as ``AttributionWidget.evaluate`` — "deletion", "insertion" (Petsiuk, Das and Saenko,
                "RISE", 2018), "sanity" (Adebayo et al., "Sanity Checks for Saliency Maps", 2018),
                "convergence", "axioms", "infidelity", "sensitivity". Default: the curves and the sanity
                check, the figures the view's table shows side by side.
            methods: which maps (default: every map on screen).

        Returns:
            ``{method: {name: result}}`` with the library's own result objects (a ``Curve``, a
            ``RandomizationResult``, ...). Cached per settings, example and method.

        Raises:
            ValueError: an unknown name in ``what`` or ``methods``, a row input (the curves remove pixels),
                or no map on screen.
            Cancelled: ``c.cancel()`` or a kernel interrupt stopped it.
        """
        chosen = None if methods is None else [str(m) for m in methods]
        for name in chosen or []:
            if name not in self.method_names:
                raise unknown_name_error("methods", name, self.method_names)
        return run_evaluation(self._evaluator, what, only=chosen)

    def evaluation_chart(self) -> Any:
        """The deletion and insertion curves on screen as an ``altair`` chart (needs ``pip install altair``).

        One line per method, from the figures of the last
        ``evaluate`` (or the view's Evaluate section); the view draws the same data as inline SVG.
        """
        from ._evaluation_chart import evaluation_chart

        return evaluation_chart(self.evaluation_figures, per_method=True)

    def _evaluation_subjects(
        self, only: Sequence[str] | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, Subject]]]:
        """Every map on screen (or those ``evaluate(methods=)`` names), each as its method's subject."""
        if self._kind != "image":
            raise ValueError("evaluate: the evaluation figures remove and insert pixels; they need an image "
                             "input, and this CompareWidget explains a row of features.")  # fmt: skip
        with self._sync_lock:
            result = self.result
            if result is None or not self._attributions:
                raise ValueError("evaluate: no map is on screen yet (every method failed or none finished).")
            controls = dict(result["controls"])
            plans = {plan.name: plan for plan in self._plans}
            names = [n for n in (only or self.method_names) if n in self._attributions]
            subjects = [
                (name, Subject(self._model, self._x, self._attributions[name], {**controls, "method": name},
                               self._output, dict(plans[name].kwargs)))
                for name in names
            ]  # fmt: skip
        return controls, subjects

    # -- settings (see _settings: to_dict / from_dict). Not one attribute() call: the settings are this
    # class's own arguments, CompareWidget(model, inputs, **settings); each map is attribute(model, inputs,
    # method=m, target=, baseline=, n_steps=, **method_options[m]).
    def _replay_settings(self) -> tuple[str, dict[str, Any]]:
        shown = shown_controls(self)
        return "CompareWidget", {
            "methods": self.method_names,
            "method_options": {plan.name: dict(plan.kwargs) for plan in self._plans if plan.kwargs},
            "target": shown["target"], "baseline": shown["baseline"], "n_steps": shown["n_steps"],
            "output": self._output, "internal_batch_size": self._internal_batch_size,
        }  # fmt: skip

    def _figures(self) -> dict[str, Any]:
        return {"scale": self.scale, "extents": self.extents, "agreement": self.agreement,
                "method_errors": self.method_errors, "top_k": self.top_k}  # fmt: skip

    @classmethod
    def _init_from_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {k: settings[k] for k in ("methods", "method_options") if k in settings}
        if "method_options" in options:  # JSON has no tuples: window shapes and strides come back as lists
            options["method_options"] = as_tuples(options["method_options"])
        return options

    @traitlets.observe("k")
    def _on_k(self, change: dict[str, Any]) -> None:
        if self._ready:
            self._update_agreement()

    @traitlets.validate("k")
    def _check_k(self, proposal: dict[str, Any]) -> int:
        k = int(proposal["value"])
        features = getattr(self, "_features", None)
        if features is not None and k > features:
            raise reject(
                self,
                "k",
                InvalidValueError(
                    f"k must be between 1 and the number of {self._unit()} ({features}), got {k}."
                ),
            )
        return k

    def _unit(self) -> str:
        return "features" if getattr(self, "_kind", "image") == "tabular" else "pixels"

    # -- what the recomputation needs
    def _validate_trait(self, name: str, value: Any) -> Any:
        return self.traits()[name]._validate(self, value)

    def _method_choice(self, plan: MethodPlan) -> dict[str, Any]:
        return {
            "value": plan.name,
            "label": plan.label,
            "short": plan.short,
            "detail": plan.detail,
            "uses_baseline": plan.uses_baseline,
            "baselines": self._choices["baseline"] if plan.uses_baseline else [],
            "uses_steps": plan.uses_steps,
            "completeness": False,
        }

    def _load_predictions(self, x: torch.Tensor) -> None:
        try:
            probs, indices = predict(self._model, x, output=self._output, k=None)
        except (ValueError, TypeError):
            raise
        except Exception as exc:
            raise _model_failure(self._model, x, exc) from exc
        if probs.shape[1] < 2:
            raise ValueError(
                f"model: its output has a single class (shape [1, {probs.shape[1]}]); comparing explanations "
                "of a class needs at least two. For a binary model with one logit z, wrap it to return "
                "torch.cat([-z, z], dim=1), or pick the scores with output=."
            )
        full = np.zeros(probs.shape[1], dtype=np.float64)
        self._order = indices[0].cpu().numpy()
        full[self._order] = probs[0].detach().cpu().double().numpy()
        self._probs = full
        self._num_classes = int(full.shape[0])

    def _top_class(self) -> int:
        return int(self._order[0])
