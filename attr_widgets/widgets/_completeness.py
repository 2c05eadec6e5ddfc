"""The completeness badge: Σ attributions against f(x) − f(baseline), and when a ratio means anything.

The relative error |Σ attr − (f(x) − f(b))| / |f(x) − f(b)| is noise when f(x) ≈ f(b): on a random
net a gap of 1e-4 turns a tiny absolute error into "507 %". The rule: the ratio is reported only when the
gap is at least ``MIN_GAP_FRACTION`` of max(|f(x)|, |f(b)|) and at least ``MIN_GAP``; otherwise the badge
shows the absolute delta and says the gap is too small for a ratio.
"""

from __future__ import annotations

from typing import Any

from attr_widgets.attribution import Attribution

MIN_GAP_FRACTION = 0.01
MIN_GAP = 1e-6


def completeness(attribution: Attribution) -> dict[str, Any] | None:
    """The badge's figures for example 0, or None for a method without the completeness property."""
    baseline_outputs = attribution.baseline_outputs
    if attribution.delta is None or baseline_outputs is None:
        return None
    delta = float(attribution.delta[0])
    fx, fb = float(attribution.outputs[0]), float(baseline_outputs[0])
    gap = fx - fb
    meaningful = abs(gap) >= max(MIN_GAP_FRACTION * max(abs(fx), abs(fb)), MIN_GAP)
    return {
        "delta": delta,
        "relative": abs(delta) / abs(gap) if meaningful else None,
        "fx": fx,
        "fb": fb,
        "gap": gap,
        "min_gap_fraction": MIN_GAP_FRACTION,
    }
