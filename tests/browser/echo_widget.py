"""The transport's floor for tests/benchmarks/bench_roundtrip.py: a bare anywidget, timed in the page."""

import anywidget
import traitlets


class Echo(anywidget.AnyWidget):
    """A bare anywidget answering custom messages, and a trait echo: what any widget pays per round trip.

    Its view puts ``window.__echo(kind, count)`` on the page: ``"message"`` times ``model.send`` until the
    kernel's reply arrives; ``"trait"`` sets ``ping`` and waits for the observer's ``pong``.
    """

    _esm = """
    export default { render({ model, el }) {
      el.textContent = "echo widget"; el.className = "aw-echo";
      window.__echo = async (kind, count) => {
        const times = [];
        for (let i = 1; i <= count; i++) {
          const start = performance.now();
          await new Promise((resolve) => {
            if (kind === "message") {
              const handler = (content) => {
                if (content.i === i) { model.off("msg:custom", handler); resolve(); }
              };
              model.on("msg:custom", handler);
              model.send({ i });
            } else {
              const target = model.get("ping") + 1;
              const handler = () => {
                if (model.get("pong") === target) { model.off("change:pong", handler); resolve(); }
              };
              model.on("change:pong", handler);
              model.set("ping", target);
              model.save_changes();
            }
          });
          times.push(performance.now() - start);
        }
        return times;
      };
    } };
    """
    ping = traitlets.Int(0).tag(sync=True)
    pong = traitlets.Int(0).tag(sync=True)

    def __init__(self):
        super().__init__()
        self.on_msg(lambda widget, content, buffers: self.send(content))
        self.observe(lambda change: setattr(self, "pong", change["new"]), "ping")


