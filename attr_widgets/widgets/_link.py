"""Linked views: ``aw.link(w1, w2, ..., on=(...))`` keeps chosen selections of several widgets equal.

Two kinds of selection, two kinds of link (docs/LINKING.md):

- selections the kernel must know because they recompute or pick what is shown (``target``,
  ``example``, ``direction``) are traits: they are linked kernel-side with ipywidgets' own
  :func:`ipywidgets.link`, so setting one from Python or from either view moves the others, and
  each widget recomputes for its own model;
- the pointer's selections (``hover`` over a heatmap, ``token`` hover over text) are view-local
  state that never reaches the kernel: the link only tells each view its partners (the synced
  ``linked_views`` trait); the views forward hovers to each other in the browser.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Sequence

import ipywidgets

from ._base import ComputeWidget

KERNEL_SELECTIONS = ("target", "example", "direction")
VIEW_SELECTIONS = ("hover", "token")
SELECTIONS = KERNEL_SELECTIONS + VIEW_SELECTIONS

# The trait (kernel selections) or the view-local state (front-end selections) each class calls a selection.
# Directions' ``target`` also accepts None / a callable: it is linked only with another DirectionsWidget.
SELECTION_NAMES: dict[str, dict[str, str]] = {
    "AttributionWidget": {"target": "target", "hover": "hover"},
    "TextAttributionWidget": {"target": "target", "example": "example", "token": "hover"},
    "TabularAttributionWidget": {"target": "target"},
    "CompareWidget": {"target": "target", "hover": "hover"},
    "DirectionsWidget": {"target": "target", "example": "example", "direction": "direction"},
}


class LinkWarning(UserWarning):
    """Some requested selections were not linked because one side of a pair lacks them."""


def selections_of(widget: ComputeWidget) -> dict[str, str]:
    """The selections ``widget`` has, mapped to its own name for each."""
    for cls in type(widget).__mro__:
        if cls.__name__ in SELECTION_NAMES:
            return SELECTION_NAMES[cls.__name__]
    return {name: name for name in KERNEL_SELECTIONS if widget.has_trait(name)}


def _shared(a: ComputeWidget, b: ComputeWidget, on: Sequence[str]) -> tuple[list[str], list[str]]:
    sa, sb = selections_of(a), selections_of(b)
    linked: list[str] = []
    skipped: list[str] = []
    for name in on:
        directions_target = name == "target" and (type(a).__name__ == "DirectionsWidget") != (
            type(b).__name__ == "DirectionsWidget"
        )
        (linked if name in sa and name in sb and not directions_target else skipped).append(name)
    return linked, skipped


class Link:
    """Selections kept equal between widgets; :meth:`unlink` undoes it on both sides (kernel and views)."""

    def __init__(self, widgets: Sequence[ComputeWidget], on: Sequence[str]) -> None:
        self.widgets = tuple(widgets)
        self.on = tuple(on)
        self.linked: dict[tuple[str, str], list[str]] = {}
        self.skipped: dict[tuple[str, str], list[str]] = {}
        self._trait_links: list[ipywidgets.link] = []
        self._view_links: list[tuple[ComputeWidget, ComputeWidget, list[str]]] = []
        for i, j in itertools.combinations(range(len(self.widgets)), 2):
            self._link_pair(i, j)
        missing = {pair: names for pair, names in self.skipped.items() if names}
        if missing:
            detail = "; ".join(f"{a}–{b}: {', '.join(names)}" for (a, b), names in missing.items())
            warnings.warn(
                f"aw.link: not linked where one side lacks the selection ({detail}).",
                LinkWarning,
                stacklevel=3,
            )

    def _label(self, index: int) -> str:
        return f"{type(self.widgets[index]).__name__}#{index}"

    def _link_pair(self, i: int, j: int) -> None:
        a, b = self.widgets[i], self.widgets[j]
        linked, skipped = _shared(a, b, self.on)
        pair = (self._label(i), self._label(j))
        self.linked[pair], self.skipped[pair] = linked, skipped
        sa, sb = selections_of(a), selections_of(b)
        # Only the first widget's value wins at link time (ipywidgets.link copies source to target).
        for name in (n for n in linked if n in KERNEL_SELECTIONS):
            self._trait_links.append(ipywidgets.link((a, sa[name]), (b, sb[name])))
        view = [n for n in linked if n in VIEW_SELECTIONS]
        if view:
            self._view_links.append((a, b, view))
            _add_partner(a, b, view)
            _add_partner(b, a, view)

    def unlink(self) -> None:
        """Stop every link this object made: traits no longer follow, views no longer share hovers."""
        for trait_link in self._trait_links:
            trait_link.unlink()
        self._trait_links = []
        for a, b, _names in self._view_links:
            _remove_partner(a, b)
            _remove_partner(b, a)
        self._view_links = []

    @property
    def active(self) -> bool:
        """True until :meth:`unlink`."""
        return bool(self._trait_links or self._view_links)

    def __repr__(self) -> str:
        parts = []
        for pair, names in self.linked.items():
            text = f"{pair[0]} ↔ {pair[1]}: {', '.join(names) or 'nothing'}"
            if self.skipped[pair]:
                text += f" (skipped: {', '.join(self.skipped[pair])})"
            parts.append(text)
        state = "" if self.active else " [unlinked]"
        return f"Link({'; '.join(parts)}){state}"


def _add_partner(widget: ComputeWidget, partner: ComputeWidget, names: list[str]) -> None:
    entries = [e for e in widget.linked_views if e.get("model_id") != partner.model_id]
    # Both views of a pair name the same channel (js/src/core/link.ts): a hover travels on it, page-local.
    channel = "~".join(sorted((widget.model_id, partner.model_id)))
    widget.linked_views = [
        *entries, {"model_id": partner.model_id, "names": list(names), "channel": channel}
    ]


def _remove_partner(widget: ComputeWidget, partner: ComputeWidget) -> None:
    widget.linked_views = [e for e in widget.linked_views if e.get("model_id") != partner.model_id]


def link(*widgets: ComputeWidget, on: Iterable[str] = SELECTIONS) -> Link:
    """Link the selections ``on`` of ``widgets`` (two or more attr_widgets widgets); returns a :class:`Link`.

    Pairs of widgets of different kinds link only the selections both have (a :class:`LinkWarning` and the
    ``repr`` say which were skipped). Kernel selections (target, example, direction) take the first
    widget's value; view selections (``hover``, ``token``) are forwarded between the views in the browser.

    Raises:
        TypeError: fewer than two widgets, or something that is not an attr_widgets widget.
        ValueError: an unknown name in ``on``.
    """
    if isinstance(on, str):
        on = (on,)
    names = list(dict.fromkeys(on))
    bad = [name for name in names if name not in SELECTIONS]
    if bad:
        raise ValueError(f"link(on=...): unknown selection(s) {bad}; valid names are {list(SELECTIONS)}.")
    if not names:
        raise ValueError(f"link(on=...): nothing to link; valid names are {list(SELECTIONS)}.")
    if len(widgets) < 2:
        raise TypeError(f"link() needs at least 2 widgets to link, got {len(widgets)}.")
    for index, widget in enumerate(widgets):
        if not isinstance(widget, ComputeWidget):
            raise TypeError(
                f"link(): argument {index} is a {type(widget).__name__}, not an attr_widgets widget."
            )
    if len({id(w) for w in widgets}) != len(widgets):
        raise ValueError("link(): the same widget was given twice.")
    return Link(widgets, names)


__all__ = ["Link", "LinkWarning", "link", "SELECTIONS", "SELECTION_NAMES"]
