"""``w.save("view.html")``: one self-contained page showing the widget's view with no kernel and no network.

ipywidgets' ``embed_minimal_html`` loads its widget manager from a CDN; this page needs nothing but itself. It
holds the class's bundle (``static/<entry>.js``) and ``widgets.css``, the widget's synced state with its
binary buffers in base64, and a tiny anywidget host: a model object with what the views use of anywidget's
(``get``, ``set``, ``save_changes``, ``on`` / ``off``, ``send``) over the saved state, handed to the bundle's
``render({model, el})`` (anywidget's ESM contract). Its ``widget_manager`` has ``saved_view`` (with the
view-only controls that still work offline) and no kernel, so the store (js/src/core/store.ts) disables the
other controls and the view says why. A Content Security
Policy with no ``connect-src`` (``default-src 'none'``) makes the page unable to reach the network at all.
"""

from __future__ import annotations

import base64
import html
import json
from typing import TYPE_CHECKING, Any

import anywidget
from ipywidgets.widgets.widget import _remove_buffers

if TYPE_CHECKING:
    from ._base import ComputeWidget

# The traits of anywidget / ipywidgets' DOMWidget (layout, module names, ...): the page's host needs none.
HOST_TRAITS = frozenset(anywidget.AnyWidget.class_trait_names())

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)

# The host: decode the state, build the model shim, import the bundle from a blob: URL and render it.
HOST_JS = """
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const saved = JSON.parse(document.getElementById("aw-state").textContent);
const state = saved.state;
for (const { path, data } of saved.buffers) {
  let holder = state;
  for (const key of path.slice(0, -1)) holder = holder[key];
  holder[path[path.length - 1]] = new DataView(bytes(data).buffer);
}
const handlers = new Map();
const model = {
  get: (key) => state[key],
  set(key, value) {
    state[key] = value;
    for (const handler of [...(handlers.get(`change:${key}`) ?? [])]) handler(model, value);
  },
  save_changes() {},
  send() {},
  on(event, handler) {
    if (!handlers.has(event)) handlers.set(event, new Set());
    handlers.get(event).add(handler);
  },
  off(event, handler) {
    if (handler === undefined) handlers.delete(event);
    else handlers.get(event)?.delete(handler);
  },
  // No kernel: the store reads this and shows a saved view (controls off, "controls need a running kernel"),
  // except the view-only controls listed, which redraw from the saved data.
  widget_manager: { saved_view: { view_controls: saved.view_controls }, kernel: null },
};
const el = document.getElementById("aw-widget");
try {
  const source = bytes(document.getElementById("aw-bundle").textContent.trim());
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const module = await import(url);
  let widget = module.default;
  if (typeof widget === "function") widget = await widget();
  await widget.initialize?.({ model });
  await widget.render({ model, el });
  document.body.dataset.rendered = "true";
} catch (err) {
  document.body.dataset.rendered = "error";
  el.textContent = `This saved view could not be drawn: ${err && err.message ? err.message : err}`;
  console.error("attr_widgets saved view", err);
}
"""


def saved_state(widget: ComputeWidget) -> dict[str, Any]:
    """The widget's own synced traits as JSON, each binary buffer as ``{path, data: base64}``."""
    names = [name for name in widget.keys if name not in HOST_TRAITS and not name.startswith("_")]
    state, paths, buffers = _remove_buffers(widget.get_state(names))
    controls = widget._saved_view_controls
    return {
        "view_controls": list(widget._view_controls if controls is None else controls),
        "state": state,
        "buffers": [
            {"path": path, "data": base64.b64encode(bytes(buffer)).decode("ascii")}
            for path, buffer in zip(paths, buffers, strict=True)
        ],
    }


def _script_json(data: Any) -> str:
    """JSON that cannot end its <script> element early (every ``<`` written as a JSON unicode escape)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def offline_html(widget: ComputeWidget) -> str:
    """The self-contained page of ``widget`` (see the module docstring)."""
    # The very code and stylesheet anywidget sends the notebook for this widget (its _esm and _css traits).
    source = base64.b64encode(str(widget._esm).encode("utf-8")).decode("ascii")
    css = str(widget._css).replace("</", "<\\/")
    title = html.escape(f"{type(widget).__name__}: saved view")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="generator" content="attr_widgets">
<title>{title}</title>
<style>body {{ margin: 16px; font-family: system-ui, sans-serif; }}</style>
<style>{css}</style>
</head>
<body>
<div id="aw-widget"></div>
<script type="application/json" id="aw-state">{_script_json(saved_state(widget))}</script>
<script type="text/plain" id="aw-bundle">{source}</script>
<script type="module">{HOST_JS}</script>
</body>
</html>
"""
