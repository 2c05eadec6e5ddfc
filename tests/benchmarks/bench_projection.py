"""Benchmark: the seed's reference code vs our exact and randomized methods vs off-the-shelf low-rank SVDs.

Usage::

    python tests/benchmarks/bench_projection.py           # p ∈ {4096, 16384, 65536} × n ∈ {512, 2048, 4096}
    python tests/benchmarks/bench_projection.py --quick   # tiny sizes, a few seconds (run by the test suite)

All inputs are float32 on the CPU, k = 8 (4 with --quick). Data: a latent-factor model (256 factors with
power-law scales i^-0.5, isotropic noise at 5% and a mean offset) for both activations and gradients, the
kind of decaying spectrum real activations have.

Columns:
    time      wall-clock seconds of one call (the fastest of 3 for calls under a second, else of --repeats).
    vs ref    the reference's time divided by this method's (the reference is skipped where p·min(n, p)²
              exceeds --reference-limit, default that of the goal cell, which always runs).
    σ err     max over the top-k of |σ_i − σ_i*| / σ_i*, with σ* from our exact method (float64 inside).
              The reference returns only P_A, P_G; its σ is read off them afterwards (Σ P_G = P_A σ).
    peak MiB  peak resident memory above the pre-call level (Linux VmHWM after resetting it through
              /proc/self/clear_refs, free heap trimmed first): everything the call held at once,
              LAPACK/MKL workspaces included. The inputs themselves are already resident and not counted.

Baselines: torch.svd_lowrank and sklearn.utils.extmath.randomized_svd need GᵀA as an explicit matrix; they get
the data form D·Xcᵀ/p (p×p, formed inside the timed call) with the same oversampling and power iterations as
our randomized method, and are skipped ("n/a") where that matrix would exceed 1 GiB.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "projection"))

from projection_helpers import peak_torch_bytes  # noqa: E402

from attr_widgets.projection import important_directions  # noqa: E402
from attr_widgets.projection._api import DEFAULT_N_ITER, DEFAULT_OVERSAMPLE  # noqa: E402
from attr_widgets.projection._reference import get_projection  # noqa: E402

OVERSAMPLE = DEFAULT_OVERSAMPLE
N_ITER = DEFAULT_N_ITER
GOAL = (16384, 2048)


def make_data(p: int, n: int, seed: int = 0, latent: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    r = min(latent, n)
    scales = (1.0 + torch.arange(r, dtype=torch.float32)) ** -0.5
    mix_x = torch.randn(r, n, generator=gen) / math.sqrt(r)
    mix_g = torch.randn(r, n, generator=gen) / math.sqrt(r)
    acts = (torch.randn(p, r, generator=gen) * scales) @ mix_x
    acts += 0.05 * torch.randn(p, n, generator=gen)
    acts += 1.0
    grads = (torch.randn(p, r, generator=gen) * scales) @ mix_g
    grads += 0.05 * torch.randn(p, n, generator=gen)
    return acts, grads


# ------------------------------------------------------------------ memory measurement
_LIBC = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _can_reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measured(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Run ``fn`` once: (seconds, peak MiB above the starting RSS, result)."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)  # hand freed heap back to the OS so reuse cannot hide an allocation
    reset = _can_reset_peak()
    before = _rss_kib("VmRSS") if reset else 0
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = (_rss_kib("VmHWM") - before) / 1024 if reset else float("nan")
    return seconds, max(peak, 0.0), out


# ------------------------------------------------------------------ the contenders
def sigma_from_bases(acts, act_basis, grad_basis):
    """σ_i from the seed's relation Σ P_G = P_A σ (untimed): σ_i = P_A,iᵀ Σ P_G,i / ‖P_A,i‖²."""
    xc = acts - acts.mean(0)
    return ((xc @ act_basis) * (xc @ grad_basis)).sum(0) / acts.shape[0] / act_basis.square().sum(0)


def _explicit_cross(acts, grads):
    xc = acts - acts.mean(0)
    return (grads @ xc.mT) / acts.shape[0], xc


def _bases(xc, grads, u, s, v):
    p = xc.shape[0]
    inv = s.rsqrt()
    return (xc.mT @ v) * inv / math.sqrt(p), (grads.mT @ u) * inv / math.sqrt(p)


def torch_lowrank(acts, grads, k):
    m, xc = _explicit_cross(acts, grads)
    u, s, v = torch.svd_lowrank(m, q=k + OVERSAMPLE, niter=N_ITER)
    _bases(xc, grads, u[:, :k], s[:k], v[:, :k])
    return s[:k]


def sklearn_randomized(acts, grads, k):
    from sklearn.utils.extmath import randomized_svd

    m, xc = _explicit_cross(acts, grads)
    u, s, vt = randomized_svd(m.numpy(), k, n_oversamples=OVERSAMPLE, n_iter=N_ITER, random_state=0)
    s_t = torch.from_numpy(s)
    _bases(xc, grads, torch.from_numpy(u), s_t, torch.from_numpy(vt).mT)
    return s_t


@dataclass
class Row:
    p: int
    n: int
    method: str
    seconds: float | None
    peak_mib: float | None
    err: float | None
    note: str = ""


def rel_err(sv: torch.Tensor, truth: torch.Tensor) -> float:
    return ((sv.double() - truth.double()) / truth.double()).abs().max().item()


def bench_cell(
    p: int, n: int, k: int, repeats: int, ref_limit: float, matrix_limit_bytes: int, auto_repeat: bool = True
) -> list[Row]:
    acts, grads = make_data(p, n)
    rows: list[Row] = []

    def timed(fn):
        # Calls under a second run 3 times (noise on a shared machine); longer ones run `repeats` times.
        best = measured(fn)
        for _ in range(max(repeats, 3 if auto_repeat and best[0] < 1.0 else 1) - 1):
            res = measured(fn)
            best = res if res[0] < best[0] else best
        return best

    t_exact, m_exact, exact = timed(lambda: important_directions(acts, grads, k, method="exact"))
    truth = exact.singular_values
    results = {"exact": (t_exact, m_exact, None)}

    gen = torch.Generator().manual_seed(0)
    t_r, m_r, rand = timed(
        lambda: important_directions(
            acts, grads, k, method="randomized", oversample=OVERSAMPLE, n_iter=N_ITER, generator=gen
        )
    )
    results["randomized"] = (t_r, m_r, rel_err(rand.singular_values, truth))

    run_ref = p * min(n, p) ** 2 <= ref_limit or (p, n) == GOAL
    if run_ref:
        t_ref, m_ref, (ref_a, ref_g) = timed(lambda: get_projection(acts, grads, k))
        results["reference (seed)"] = (t_ref, m_ref, rel_err(sigma_from_bases(acts, ref_a, ref_g), truth))
    fits = p * p * 4 <= matrix_limit_bytes
    for name, fn in (("torch.svd_lowrank", torch_lowrank), ("sklearn randomized_svd", sklearn_randomized)):
        if fits:
            t, m, s = timed(lambda fn=fn: fn(acts, grads, k))
            results[name] = (t, m, rel_err(s, truth))
    t_ref = results.get("reference (seed)", (None,))[0]
    order = ["reference (seed)", "exact", "randomized", "torch.svd_lowrank", "sklearn randomized_svd"]
    for name in order:
        if name in results:
            t, m, e = results[name]
            rows.append(Row(p, n, name, t, m, e, "" if t_ref is None else f"{t_ref / t:.1f}x"))
        elif name == "reference (seed)":
            rows.append(Row(p, n, name, None, None, None, "skipped: too slow for the time budget"))
        else:
            rows.append(
                Row(p, n, name, None, None, None, f"n/a: the p×p GᵀA would be {p * p * 4 / 2**30:.0f} GiB")
            )
    return rows


def fmt(rows: list[Row]) -> str:
    head = (
        "| p | n | method | time (s) | vs ref | σ err (top-k) | peak MiB |\n"
        + "|---:" * 2
        + "|---"
        + "|---:" * 4
        + "|"
    )
    lines = [head]
    for r in rows:
        if r.seconds is None:
            lines.append(f"| {r.p} | {r.n} | {r.method} | — | {r.note} | — | — |")
            continue
        err = "(truth)" if r.err is None else f"{r.err:.1e}"
        lines.append(
            f"| {r.p} | {r.n} | {r.method} | {r.seconds:.3f} | {r.note or '—'} | {err} | {r.peak_mib:.0f} |"
        )
    return "\n".join(lines)


def goals(rows: list[Row]) -> list[str]:
    cell = {r.method: r for r in rows if (r.p, r.n) == GOAL}
    if (
        not {"reference (seed)", "exact", "randomized"} <= cell.keys()
        or cell["reference (seed)"].seconds is None
    ):
        return []
    ref, ex, rnd = cell["reference (seed)"], cell["exact"], cell["randomized"]
    speed_r = ref.seconds / rnd.seconds
    speed_e = ref.seconds / ex.seconds
    p, n = GOAL
    out = [
        f"goal randomized >= 20x reference at p={p}, n={n} with top-k σ within 1e-3: {speed_r:.1f}x, "
        f"err {rnd.err:.1e} -> {'MET' if speed_r >= 20 and rnd.err <= 1e-3 else 'NOT MET'}",
        f"goal exact >= 2x reference at p={p}, n={n}: {speed_e:.1f}x -> "
        f"{'MET' if speed_e >= 2 else 'NOT MET'}",
    ]
    worst = max((r for r in rows if r.method == "randomized"), key=lambda r: r.peak_mib or 0)
    mib = 4 / 2**20
    out.append(
        f"randomized peak extra RSS: max {worst.peak_mib:.0f} MiB in the grid (at p={worst.p}, n={worst.n}, "
        f"where float32 n×n = {worst.n**2 * mib:.0f} MiB, p×p = {worst.p**2 * mib:.0f} MiB, "
        f"the p×n input = {worst.p * worst.n * mib:.0f} MiB); RSS includes MKL/OpenMP workspaces"
    )
    acts, grads = make_data(p, n)
    peak_bytes, _ = peak_torch_bytes(lambda: important_directions(acts, grads, 8, method="randomized"))
    tensors = peak_bytes / 2**20
    out.append(
        f"randomized torch-allocated peak at p={p}, n={n} (profiler, every tensor incl. kernel temporaries): "
        f"{tensors:.1f} MiB vs n×n = {n * n * mib:.0f} MiB, p×p = {p * p * mib:.0f} MiB"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds); used by the test suite")
    parser.add_argument(
        "--repeats", type=int, default=1, help="time each call this many times, keep the fastest"
    )
    parser.add_argument(
        "--reference-limit",
        type=float,
        default=float(GOAL[0] * GOAL[1] ** 2),
        help="run the reference only where p·min(n,p)² is at most this (the goal cell always runs)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--sizes", default=None, help="comma-separated PxN cells instead, e.g. 16384x2048")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        sizes, k, limit_bytes = [(300, 48), (96, 128)], 4, 1 << 30  # both exact routes
        ref_limit = float("inf")
    else:
        sizes = [(p, n) for p in (4096, 16384, 65536) for n in (512, 2048, 4096)]
        k, limit_bytes, ref_limit = 8, 1 << 30, args.reference_limit
    if args.sizes:
        sizes = [tuple(int(v) for v in cell.lower().split("x")) for cell in args.sizes.split(",")]
    torch.manual_seed(0)
    print(
        f"# bench_projection: float32, CPU, {torch.get_num_threads()} threads, k={k}, "
        f"oversample={OVERSAMPLE}, n_iter={N_ITER}, torch {torch.__version__}, "
        f"peak memory via {'VmHWM reset' if _can_reset_peak() else 'unavailable'}",
        flush=True,
    )
    bench_cell(
        64, 16, 2, 1, float("inf"), limit_bytes, auto_repeat=False
    )  # warm-up: first LAPACK/MKL calls pay one-off costs
    rows: list[Row] = []
    started = time.perf_counter()
    for p, n in sizes:
        cell = bench_cell(p, n, k, args.repeats, ref_limit, limit_bytes, auto_repeat=not args.quick)
        rows += cell
        print(
            f"# done p={p} n={n} ({time.perf_counter() - started:.0f}s elapsed)", file=sys.stderr, flush=True
        )
    print(fmt(rows))
    for line in goals(rows):
        print(line)
    print(f"# total {time.perf_counter() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
