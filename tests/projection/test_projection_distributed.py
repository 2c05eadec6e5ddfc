"""Two gloo processes over two shards give the single-process answer."""

from __future__ import annotations

import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from projection_helpers import problem, rel

from attr_widgets.projection import DirectionsAccumulator, important_directions

P, N, K = 301, 9, 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        acts, grads = problem(P, N, 0, offset=20.0)
        # uneven shards, fed in uneven chunks; rank 1 also holds the empty-shard case on a second accumulator
        shard = slice(0, 120) if rank == 0 else slice(120, P)
        acc = DirectionsAccumulator()
        a, g = acts[shard], grads[shard]
        for start in range(0, a.shape[0], 37):
            acc.update(a[start : start + 37], g[start : start + 37])
        proj = acc.result(K)
        empty_ok = DirectionsAccumulator(n=N)
        if rank == 0:
            empty_ok.update(acts, grads)
        proj_all_on_rank0 = empty_ok.result(K)
        local = acc.result(K, sync=False)
        torch.save(
            {
                "basis": proj.act_basis,
                "matrix": proj.matrix(),
                "sv": proj.singular_values,
                "count": proj.n_samples,
                "empty_ok": proj_all_on_rank0.matrix(),
                "local_count": local.n_samples,
            },
            f"{out_dir}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_equal_the_single_process_result(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    acts, grads = problem(P, N, 0, offset=20.0)
    single = important_directions(acts, grads, K, method="exact")
    results = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for res in results:
        assert res["count"] == P
        assert rel(res["matrix"], single.matrix()) < 1e-8
        torch.testing.assert_close(res["sv"], single.singular_values, rtol=1e-9, atol=1e-12)
        assert rel(res["empty_ok"], single.matrix()) < 1e-8
    assert torch.equal(results[0]["basis"], results[1]["basis"])
    assert [r["local_count"] for r in results] == [120, P - 120]
