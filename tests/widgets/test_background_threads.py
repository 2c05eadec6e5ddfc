"""The widgets' background threads: one lingering worker per widget, one shared timer thread."""

import threading
import time

from attr_widgets.widgets._timers import Timers
from attr_widgets.widgets._worker import LatestWins


def test_successive_requests_reuse_one_worker_thread_and_wait_sees_each_finish():
    threads, gate = [], threading.Event()

    def work(item):
        gate.wait(10)
        threads.append((item, threading.current_thread()))

    runner = LatestWins(work, "test-worker")
    runner.submit(1)
    assert not runner.idle()
    gate.set()
    assert runner.wait(10) and runner.idle()
    runner.submit(2)  # the thread lingers after its item: the next one runs on it
    assert runner.wait(10)
    assert [item for item, _ in threads] == [1, 2]
    assert threads[0][1] is threads[1][1] and threads[0][1].is_alive()


def test_only_the_newest_pending_request_runs():
    started, gate, done = threading.Event(), threading.Event(), []

    def work(item):
        started.set()
        gate.wait(10)
        done.append(item)

    runner = LatestWins(work, "test-worker")
    runner.submit("a")
    assert started.wait(10)
    for item in ("b", "c", "d"):  # while "a" runs: "b" and "c" are overtaken before they start
        runner.submit(item)
    gate.set()
    assert runner.wait(10)
    assert done == ["a", "d"] and runner.skipped == 2


def test_timers_run_in_deadline_order_on_one_thread_and_cancel():
    timers, ran, lock = Timers("test-timers"), [], threading.Lock()

    def call(name):
        with lock:
            ran.append((name, threading.current_thread()))

    timers.call_later(0.15, lambda: call("late"))
    cancelled = timers.call_later(0.05, lambda: call("cancelled"))
    timers.call_later(0.02, lambda: call("early"))
    cancelled.cancel()
    deadline = time.monotonic() + 5
    while len(ran) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert [name for name, _ in ran] == ["early", "late"]
    assert ran[0][1] is ran[1][1] and ran[0][1] is not threading.current_thread()


def test_a_failing_timer_callback_does_not_stop_the_others():
    timers, ran = Timers("test-timers"), threading.Event()
    timers.call_later(0.0, lambda: 1 / 0)
    timers.call_later(0.02, ran.set)
    assert ran.wait(5)
