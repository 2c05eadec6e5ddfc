"""DirectionsWidget(distributed=True) on two gloo processes, each with half of the data, gives the
directions of one process holding all of it (Hilton, "A basis-invariant version of attribution", 2024: they
depend on the data through μ, Σ and Π only, which the widget all-reduces once)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

HERE = Path(__file__).resolve().parent
K = 3
N_EXAMPLES = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model_and_data():
    sys.path.insert(0, str(HERE.parent / "browser"))
    from digits_model import digits_cnn, digits_data

    torch.manual_seed(0)
    return digits_cnn().eval(), digits_data()[2][:N_EXAMPLES]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        from attr_widgets.widgets import DirectionsWidget

        model, data = _model_and_data()
        shard = data[: N_EXAMPLES // 3] if rank == 0 else data[N_EXAMPLES // 3 :]  # uneven shards
        w = DirectionsWidget(model, layer="1", data=shard, k=K, distributed=True)
        first = {"basis": w.projection.act_basis, "spreads": w.result["spreads"], "n": w.projection.n_samples}
        if rank == 0:  # k changes on one rank alone: solved from the stored statistics, no collective
            w.k = K - 1
        smaller = w.projection.act_basis
        refused = ""
        try:
            w.target = 3  # a new collect would be a collective: refused
        except Exception as exc:  # noqa: BLE001  (the test inspects the error)
            refused = str(exc) or repr(w.error)
        saved = {**first, "smaller": smaller, "refused": refused or str(w.error)}
        torch.save(saved, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_give_the_single_process_directions(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    from attr_widgets.widgets import DirectionsWidget

    model, data = _model_and_data()
    single = DirectionsWidget(model, layer="1", data=data, k=K)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for got in ranks:
        assert got["n"] == N_EXAMPLES  # every rank's directions are over all ranks' examples
        # the same directions, the same orientation and slider units as one process with all the data
        torch.testing.assert_close(got["basis"], single.projection.act_basis, rtol=1e-3, atol=1e-4)
        torch.testing.assert_close(
            torch.tensor(got["spreads"]), torch.tensor(single.result["spreads"]), rtol=1e-4, atol=1e-6
        )
        assert "distributed=True" in got["refused"], got["refused"]
    assert ranks[0]["smaller"].shape[1] == K - 1 and ranks[1]["smaller"].shape[1] == K
    first_two = single.projection.act_basis[:, : K - 1]
    torch.testing.assert_close(ranks[0]["smaller"], first_two, rtol=1e-3, atol=1e-4)


def test_distributed_needs_a_process_group(cnn, digits):
    from attr_widgets.widgets import DirectionsWidget

    with pytest.raises(ValueError, match="distributed=True needs an initialised torch.distributed"):
        DirectionsWidget(cnn, layer="1", data=digits[0][:10], k=2, distributed=True)
    with pytest.raises(TypeError, match="distributed must be True or False"):
        DirectionsWidget(cnn, layer="1", data=digits[0][:10], k=2, distributed="yes")
