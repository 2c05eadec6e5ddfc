"""Tabular bars: the attribution of a classifier's decision on one row of features, live."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from torch import nn

from attr_widgets.attribution import Attribution, attribute
from attr_widgets.attribution._outputs import predict_with_kind
from attr_widgets.attribution._probabilities import check_output_kind

from ._base import ComputeWidget, bundle
from ._classes import check_labels, top_k_entries
from ._completeness import completeness
from ._options import choice_list
from ._requests import Progress, Request, first_result_traits
from ._serialize import binary_array
from ._settings import attribute_settings, heatmap_figures, shown_controls
from ._tabular import (
    TABULAR_BASELINES,
    TABULAR_SIGN_MODES,
    check_data,
    check_feature_names,
    tabular_method_choices,
    tabular_row,
)
from ._traits import BoundedFloat, BoundedInt, Choice, ClassIndex

MAX_STEPS = 2000


class TabularAttributionWidget(ComputeWidget):
    """Feature bars of a classifier on one row of a table: which features the decision rests on.

    ``AttributionWidget(model, x_row, feature_names=[...])`` returns one of these. One horizontal bar per
    feature, sorted by |attribution|: the ``top_features`` largest, then one row summing the other features,
    so the bars still add up to the total. Signed bars use the image widget's diverging scale, centred at
    zero; each name shows the feature's value beside it. Methods: saliency (Simonyan, Vedaldi and Zisserman,
    "Deep Inside Convolutional Networks", 2014), input × gradient, integrated gradients (Sundararajan, Taly
    and Yan, "Axiomatic Attribution for Deep Networks", 2017), GradientSHAP (Lundberg and Lee, "A Unified
    Approach to Interpreting Model Predictions", 2017), DeepLIFT (Shrikumar, Greenside and Kundaje, "Learning
    Important Features Through Propagating Activation Differences", 2017) and feature ablation.

    Args:
        model: a classifier taking a float batch ``[B, F]`` and returning ``[B, classes]``; never modified.
        inputs: one row, ``[F]`` or ``[1, F]`` (float tensor or numpy array), scaled as the model expects.
        feature_names: one name per feature (default "feature 0", ...).
        data: a table ``[N, F]`` of the same features; with it the "mean" baseline (its mean row) is offered.
        labels, target, method, n_steps, output, internal_batch_size: as in ``AttributionWidget``.
        baseline: "zeros" or "mean" (with ``data=``).
        top_features: how many features get a bar of their own (the rest are folded into one row).
        sign_mode: "signed" or "absolute".
    """

    _esm = bundle("tabular")
    _view_controls = ("top_features", "sign_mode", "outlier_percent")

    method = Choice("integrated_gradients").tag(sync=True, compute=True)
    target = ClassIndex(0).tag(sync=True, compute=True)
    baseline = Choice("zeros", [value for value, _ in TABULAR_BASELINES]).tag(sync=True, compute=True)
    n_steps = BoundedInt(50, 1, MAX_STEPS).tag(sync=True, compute=True)
    # View-only controls: they redraw, never recompute.
    top_features = BoundedInt(10, 1, 100_000).tag(sync=True)
    sign_mode = Choice("signed", [value for value, _ in TABULAR_SIGN_MODES]).tag(sync=True)
    outlier_percent = BoundedFloat(0.0, 0.0, 50.0).tag(sync=True)
    # Written by Python once: the row on screen.
    feature_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    feature_values = traitlets.List(traitlets.Float()).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    num_classes = traitlets.Int(0).tag(sync=True)
    top_k = traitlets.List(traitlets.Dict()).tag(sync=True)
    options = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor | np.ndarray,
        *,
        feature_names: Sequence[str] | None = None,
        data: torch.Tensor | np.ndarray | None = None,
        labels: Sequence[str] | Mapping[int, str] | None = None,
        target: int | None = None,
        method: str = "integrated_gradients",
        baseline: str = "zeros",
        n_steps: int = 50,
        output: Any = None,
        output_kind: str | None = None,
        top_features: int = 10,
        sign_mode: str = "signed",
        outlier_percent: float = 0.0,
        internal_batch_size: int | str | None = "auto",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        self._model, self._output = model, output
        # What the scores are (logits / probabilities / log-probabilities): set by each prediction.
        self._requested_output_kind = check_output_kind(output_kind)
        self.output_kind = "logits"
        self._internal_batch_size = internal_batch_size
        self._inputs_shape = tuple(getattr(inputs, "shape", ()))
        self._row = tabular_row(inputs)
        features = int(self._row.shape[1])
        names = check_feature_names(feature_names, features)
        self._data = check_data(data, features)
        method_options = tabular_method_choices(self._data is not None)
        self._choices = {"method": [m["value"] for m in method_options]}
        self._init_compute()
        self._attribution: Attribution | None = None
        self._load_predictions()
        self._target_follows_top = target is None
        class_names = check_labels(labels, self._num_classes)
        controls = {
            key: self.traits()[key]._validate(self, value)
            for key, value in (("method", method), ("target", target), ("baseline", baseline),
                               ("n_steps", n_steps), ("top_features", top_features),
                               ("sign_mode", sign_mode), ("outlier_percent", outlier_percent))
        }  # fmt: skip
        first = Request(1, {k: controls[k] for k in self.compute_trait_names()})
        # Errors in the first computation raise from the constructor.
        fields, attribution = self._compute(first, lambda done, total: None)
        super().__init__(
            feature_names=names,
            feature_values=[float(v) for v in self._row[0].double().tolist()],
            labels=class_names,
            num_classes=self._num_classes,
            top_k=top_k_entries(self._probs, self._order, class_names),
            options={
                "methods": method_options,
                "baselines": [
                    b
                    for b in choice_list(TABULAR_BASELINES)
                    if b["value"] != "mean" or self._data is not None
                ],
                "sign_modes": choice_list(TABULAR_SIGN_MODES),
            },  # fmt: skip
            **first_result_traits(first, fields, fields["elapsed_ms"]),
            **controls,
        )
        self._attribution = attribution
        self._start(first_seq=1)

    # -- public read-only state
    @property
    def attribution(self) -> Attribution | None:
        """The :class:`Attribution` on screen (values ``[1, F]``), or None when the newest request failed."""
        return self._attribution

    @property
    def feature_scores(self) -> np.ndarray | None:
        """One float32 score per feature (in the input's column order), or None after a failure."""
        result = self.result
        if result is None or result.get("scores") is None:
            return None
        scores = np.frombuffer(result["scores"]["view"], dtype=np.float32).copy()
        scores.flags.writeable = False  # a reading of the screen: writing to it would change nothing
        return scores

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax probability of every class for the row."""
        return self._probs.copy()

    # -- the compute protocol (see _base.ComputeWidget)
    def _compute(self, request: Request, progress: Progress) -> tuple[dict[str, Any], Attribution]:
        method, baseline = request["method"], request["baseline"]
        self._check_baseline(method, baseline)
        options: dict[str, Any] = {"progress": progress}
        if baseline == "mean":
            options["data"] = self._data
        start = time.perf_counter()
        attribution = attribute(
            self._model, self._row, method=method, target=request["target"], baseline=baseline,
            n_steps=request["n_steps"], output=self._output, internal_batch_size=self._internal_batch_size,
            **options,
        )  # fmt: skip
        scores = attribution.values.detach().to("cpu", torch.float32)[0].reshape(-1).numpy()
        return {
            "scores": binary_array(np.ascontiguousarray(scores)),
            "completeness": completeness(attribution),
            "target_prob": float(self._probs[request["target"]]),
            "elapsed_ms": (time.perf_counter() - start) * 1000,
        }, attribution

    # -- settings (see _settings: to_dict / from_dict)
    def _replay_settings(self) -> tuple[str, dict[str, Any]]:
        shown = shown_controls(self)
        data = {"data": self._data} if shown["baseline"] == "mean" else {}
        return "attribute", attribute_settings(
            shown["method"], shown["target"], shown["baseline"], shown["n_steps"], output=self._output,
            internal_batch_size=self._internal_batch_size, **data,
        )  # fmt: skip

    def _figures(self) -> dict[str, Any]:
        return {
            **heatmap_figures(self.result, self.feature_scores, self.sign_mode, self.outlier_percent),
            "top_k": self.top_k,
        }

    def _check_baseline(self, method: str, baseline: str) -> None:
        if baseline == "mean" and self._data is None:
            raise ValueError(
                "baseline='mean' needs data=: the table [N, F] whose mean row is the baseline "
                "(e.g. the training set); or use baseline='zeros'."
            )

    def _failure_fields(self, request: Request) -> dict[str, Any]:
        return {"scores": None, "completeness": None, "target_prob": float(self._probs[request["target"]])}

    def _published(self, value: Any) -> None:
        self._attribution = value

    def _control_changed(self, change: dict[str, Any]) -> None:
        if change["name"] == "target" and not self._suspended:
            self._target_follows_top = False

    # -- predictions
    def _load_predictions(self) -> None:
        try:
            probs, order, self.output_kind = predict_with_kind(
                self._model, self._row, output=self._output, k=None, output_kind=self._requested_output_kind
            )
        except (ValueError, TypeError):
            raise
        except Exception as exc:
            # A 1-D array meant as an image lands here too: say how it was read, and what an image needs.
            raise ValueError(
                f"inputs: the model raised {type(exc).__name__} on one row of {self._row.shape[1]} features "
                f"(inputs of shape {self._inputs_shape}, read as feature values): {exc}\n"
                "For an image classifier pass one image, [1, C, H, W] or [C, H, W]."
            ) from exc
        full = np.zeros(probs.shape[1], dtype=np.float64)
        self._order = order[0].cpu().numpy()
        full[self._order] = probs[0].detach().cpu().double().numpy()
        self._probs, self._num_classes = full, int(full.shape[0])

    def _top_class(self) -> int:
        return int(self._order[0])
