"""The static fallback shown with every widget: a script-free picture of what is on screen, same output.

Every widget is displayed as one output whose bundle holds the widget view
(``application/vnd.jupyter.widget-view+json``) and, beside it, ``text/html`` (plus ``image/png`` for images)
from the kernel's renderers (attr_widgets/widgets/_render). Where the widget cannot be drawn (nbconvert's HTML
export of a notebook saved without widget state, nbviewer, GitHub), the renderer picks the next mime type, the
static picture. The output carries a ``display_id``; each new final result (or a change of a view option that
changes the picture) updates it with ``update_display_data``, so the saved notebook shows the last result, not
the first. Updates are coalesced (at most one per ``UPDATE_INTERVAL_S``) so a slider drag does not send a PNG
per step. See docs/EXPORT.md for what each front end shows.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

log = logging.getLogger("attr_widgets")

UPDATE_INTERVAL_S = 0.25
# Traits whose change changes the static picture (besides ``result``); absent ones are skipped per class.
VIEW_TRAITS = ("sign_mode", "opacity", "outlier_percent", "canvas_size", "shared_scale", "tokens")


def static_bundle(widget: Any) -> dict[str, Any]:
    """The script-free mime types of what ``widget`` shows now."""
    from attr_widgets.widgets._render import html_of, png_of

    data: dict[str, Any] = {"text/html": html_of(widget)}
    png = png_of(widget)
    if png is not None:
        import base64

        data["image/png"] = base64.b64encode(png).decode("ascii")
    return data


class StaticFallback:
    """The displayed outputs of one widget and their updates."""

    def __init__(self, widget: Any) -> None:
        self._widget = weakref.ref(widget)
        self._display_id: str | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        names = ["result", *(n for n in VIEW_TRAITS if widget.has_trait(n))]
        widget.observe(self._changed, names=names)

    def bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        widget = self._widget()
        if widget is None:
            return {}, {}
        view = widget._repr_mimebundle_()
        data, metadata = view if isinstance(view, tuple) else (view or {}, {})
        try:
            static = static_bundle(widget)
        except Exception as exc:  # a renderer bug must never hide the widget itself
            log.warning("%s: static fallback failed: %s", type(widget).__name__, exc)
            static = {}
        return {**static, **data}, dict(metadata or {})

    def display(self) -> None:
        """Display the widget with its fallback; every display of one widget shares one display_id."""
        import uuid

        from IPython.display import display

        data, metadata = self.bundle()
        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        display(data, metadata=metadata, raw=True, display_id=self._display_id)

    def _changed(self, change: dict[str, Any]) -> None:
        if self._display_id is None:
            return
        if change["name"] == "result" and (change["new"] or {}).get("preliminary"):
            return
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(UPDATE_INTERVAL_S, self._update)
                self._timer.daemon = True
                self._timer.start()

    def _update(self) -> None:
        with self._lock:
            self._timer = None
        if self._display_id is None:
            return
        from IPython.display import update_display

        data, metadata = self.bundle()
        if data:
            update_display(data, metadata=metadata, raw=True, display_id=self._display_id)

    def flush(self) -> None:
        """Send a pending update now (tests, and before a notebook is saved from Python)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._update()
