"""The static fallback shown with every widget: a script-free picture of what is on screen, in its own output.

``display(w)`` makes two outputs. The first is the widget view (``application/vnd.jupyter.widget-view+json``
and ``text/plain``). The second, under it, is the static picture from the kernel's renderers
(attr_widgets/widgets/_render): ``text/html`` (plus ``image/png`` for images), wrapped in an element marked
``data-aw-fallback="<w.fallback_id>"``. While a live view of the widget is on the page, the view's JS
(js/src/core/fallback.ts) hides that output; where no view can be drawn (nbconvert's HTML of a notebook saved
without widget state, nbviewer, GitHub, JupyterLab reopened after the kernel is gone) it shows.

Why two outputs and not one bundle: the picture is kept current (each new final result, or a change of a
view option that changes the picture, sends ``update_display_data`` to the fallback's display id once the
results have been quiet for ``QUIET_S``, at the latest ``MAX_WAIT_S`` after the first change, so a dragged
slider does not resend the picture with every result, which would more than double the bytes per update).
JupyterLab's widget renderer answers an update of an output holding a widget view by creating a new view
(the old DOM is dropped: hover, zoom and focus lost, a large heatmap redrawn), so the view's own output is
never updated. See docs/EXPORT.md for what each front end shows.
"""

from __future__ import annotations

import html
import logging
import threading
import time
import weakref
from typing import Any

from ._timers import TIMERS, Handle

log = logging.getLogger("attr_widgets")

QUIET_S = 1.0
MAX_WAIT_S = 5.0
# Traits whose change changes the static picture (besides ``result``); absent ones are skipped per class.
VIEW_TRAITS = ("sign_mode", "opacity", "outlier_percent", "canvas_size", "shared_scale", "tokens")


def static_bundle(widget: Any) -> dict[str, Any]:
    """The script-free mime types of what ``widget`` shows now, marked with the widget's ``fallback_id``."""
    from attr_widgets.widgets._render import html_of, png_of

    mark = html.escape(getattr(widget, "fallback_id", ""), quote=True)
    data: dict[str, Any] = {
        "text/html": f'<div class="aw-static-fallback" data-aw-fallback="{mark}">{html_of(widget)}</div>'
    }
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
        self._timer: Handle | None = None
        self._first_pending = 0.0  # when the oldest change not yet sent arrived (time.monotonic)
        names = ["result", *(n for n in VIEW_TRAITS if widget.has_trait(n))]
        widget.observe(self._changed, names=names)

    def view_bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget view's mime bundle and metadata (the first output)."""
        widget = self._widget()
        if widget is None:
            return {}, {}
        view = widget._repr_mimebundle_()
        data, metadata = view if isinstance(view, tuple) else (view or {}, {})
        return dict(data or {}), dict(metadata or {})

    def bundle(self) -> dict[str, Any]:
        """The fallback output's mime bundle ({} when the renderers fail: that never hides the view)."""
        widget = self._widget()
        if widget is None:
            return {}
        try:
            return static_bundle(widget)
        except Exception as exc:  # a renderer bug must never hide the widget itself
            log.warning("%s: static fallback failed: %s", type(widget).__name__, exc)
            return {}

    def display(self) -> None:
        """Display the view, then its fallback; every display of one widget shares one fallback display_id."""
        import uuid

        from IPython.display import display

        widget = self._widget()
        if widget is None:
            return
        if not widget.fallback_id:
            widget.fallback_id = uuid.uuid4().hex  # before the view is drawn: it reads the id on render
        data, metadata = self.view_bundle()
        display(data, metadata=metadata, raw=True)
        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        static = self.bundle()
        if static:
            display(static, raw=True, display_id=self._display_id)

    def _changed(self, change: dict[str, Any]) -> None:
        if self._display_id is None:
            return
        if change["name"] == "result" and (change["new"] or {}).get("preliminary"):
            return
        now = time.monotonic()
        with self._lock:
            if self._timer is not None:
                if now - self._first_pending >= MAX_WAIT_S:
                    return  # it fires soon anyway: the picture is not held back forever by a long drag
                self._timer.cancel()
            else:
                self._first_pending = now
            delay = min(QUIET_S, max(0.0, self._first_pending + MAX_WAIT_S - now))
            self._timer = TIMERS.call_later(delay, self._update)

    def _update(self) -> None:
        with self._lock:
            self._timer = None
        if self._display_id is None:
            return
        from IPython.display import update_display

        data = self.bundle()
        if data:
            update_display(data, raw=True, display_id=self._display_id)

    def flush(self) -> None:
        """Send a pending update now (tests, and before a notebook is saved from Python)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._update()
