"""In a real IPython kernel: a cell waits for the browser's recompute; a kernel interrupt cancels it.

The "browser" is this test: it sends the same comm message the view sends (an ipywidgets state update) on the
kernel's shell channel, so the recompute starts exactly as it does from JupyterLab.
"""

import time
import uuid

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

SETUP = """
import time, torch
from torch import nn
from attr_widgets.widgets import AttributionWidget

class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10))
        self.delay = 0.0
    def forward(self, x):
        time.sleep(self.delay)
        return self.net(x)

model = Slow().eval()
w = AttributionWidget(model, torch.rand(1, 8, 8), method="saliency", n_steps=240, internal_batch_size=8)
model.delay = 0.1  # from now on each model call takes 0.1 s: IG-240 in chunks of 8 rows takes 3 s
print(w.comm.comm_id)
"""


@pytest.fixture
def kernel():
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code, timeout=60):
    """Execute ``code``; return its stdout."""
    out = []
    msg_id = kc.execute(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            if msg["parent_header"].get("msg_id") == msg_id:
                break
    kc.get_shell_msg(timeout=timeout)
    return "".join(out)


def browser_change(kc, comm_id, state):
    """What the view sends when the user changes a control."""
    content = {"comm_id": comm_id, "data": {"method": "update", "state": state, "buffer_paths": []}}
    msg = kc.session.msg("comm_msg", content)
    msg["header"]["msg_id"] = uuid.uuid4().hex
    kc.shell_channel.send(msg)


@pytest.mark.slow
def test_a_cell_waits_for_the_recompute_the_browser_started(kernel):
    _, kc = kernel
    comm_id = run(kc, SETUP).strip().splitlines()[-1]
    browser_change(kc, comm_id, {"method": "integrated_gradients"})
    time.sleep(0.3)
    out = run(kc, "print('busy', w.busy, w.result['method'], w.activity['state'], model.delay)")
    # The cell ran only after the recompute was published.
    assert "busy False integrated_gradients idle" in out, out
    assert "waiting for a widget's recompute" in out


@pytest.mark.slow
def test_an_interrupt_while_the_cell_waits_cancels_the_recompute(kernel):
    km, kc = kernel
    comm_id = run(kc, SETUP).strip().splitlines()[-1]
    browser_change(kc, comm_id, {"method": "integrated_gradients"})
    time.sleep(0.3)
    msg_id = kc.execute("print('state', w.activity['state'], w.result['method'])")
    time.sleep(1.0)  # the cell is now waiting in pre_run_cell
    start = time.monotonic()
    km.interrupt_kernel()
    out = []
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        done = msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
        if done and msg["parent_header"].get("msg_id") == msg_id:
            break
    text = "".join(out)
    assert "interrupted: cancelled 1 widget recompute" in text, text
    assert "state cancelled saliency" in text, text  # the last good result stays
    assert time.monotonic() - start < 3.0


@pytest.mark.slow
def test_an_interrupt_while_the_kernel_is_idle_cancels_the_recompute(kernel):
    km, kc = kernel
    comm_id = run(kc, SETUP).strip().splitlines()[-1]
    browser_change(kc, comm_id, {"method": "integrated_gradients"})
    time.sleep(0.6)
    start = time.monotonic()
    km.interrupt_kernel()
    out = run(kc, "print('state', w.activity['state'], w.result['method'])")
    assert "state cancelled saliency" in out, out
    assert time.monotonic() - start < 3.0


FAST = """
import torch
from torch import nn
from IPython.display import display
from attr_widgets.widgets import AttributionWidget
torch.manual_seed(0)
net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval()
w = AttributionWidget(net, torch.rand(1, 8, 8), method="saliency")
display(w)
print(w.comm.comm_id)
"""


def messages_until_quiet(kc, quiet_s, limit_s=15.0):
    """Every iopub message until none came for ``quiet_s`` seconds (this test sends nothing meanwhile)."""
    import queue

    got = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=quiet_s)
            msg["received_at"] = time.monotonic()
            got.append(msg)
        except queue.Empty:
            break
    return got


@pytest.mark.slow
def test_one_browser_change_costs_three_widget_messages_and_the_picture_follows_alone(kernel):
    # A fast recompute answers a change from the view with the echo of the change, one message for the new
    # request (its number and "computing"), and the result (with "idle"). Then, with nothing else sent to
    # the kernel, the static fallback's update arrives by itself once the results have been quiet.
    from attr_widgets.widgets._fallback import QUIET_S

    _, kc = kernel
    comm_id = run(kc, FAST).strip().splitlines()[-1]
    messages_until_quiet(kc, 0.5)
    browser_change(kc, comm_id, {"target": 3})
    got = messages_until_quiet(kc, QUIET_S + 2.0)
    widget = [m for m in got if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id]
    methods = [(m["content"]["data"]["method"], sorted(m["content"]["data"].get("state", {})))
               for m in widget]  # fmt: skip
    assert methods == [
        ("echo_update", ["target"]),
        ("update", ["activity", "request_seq"]),
        ("update", ["activity", "export_settings", "result"]),
    ], methods
    assert widget[-1]["content"]["data"]["state"]["result"]["target"] == 3
    updates = [m for m in got if m["msg_type"] == "update_display_data"]
    assert len(updates) == 1, [m["msg_type"] for m in got]
    late = updates[0]["received_at"] - widget[-1]["received_at"]
    assert QUIET_S - 0.05 <= late <= QUIET_S + 1.0, late
    assert "data-aw-fallback" in updates[0]["content"]["data"]["text/html"]
