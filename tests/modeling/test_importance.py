"""Importance estimators on a one-input linear unit, values derived by hand."""
import os

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from lt_det.modeling.importance import estimate_importance


def _unit():
    lin = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(1.0)  # w1
        lin.bias.fill_(3.0)  # w2
    return lin


def _loss_fn(lin):
    # L = 0.5 y^2, y = w1 x + w2  ->  dL/dw1 = y x, dL/dw2 = y.
    return lambda x: 0.5 * (lin(x) ** 2).sum()


# Batch x = 2: y = 5, g1 = 10, g2 = 5.  Batch x = 1: y = 4, g1 = 4, g2 = 4.
# Taylor (w g)^2: w1: (100 + 16) / 2 = 58, w2: (225 + 144) / 2 = 184.5.
# Fisher g^2:     w1: (100 + 16) / 2 = 58, w2: (25 + 16) / 2 = 20.5.   L1: 1 and 3.
EXPECTED = {"taylor": (58.0, 184.5), "fisher": (58.0, 20.5), "l1": (1.0, 3.0)}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_importance_by_hand(kind):
    lin = _unit()
    params = dict(lin.named_parameters())
    batches = iter([torch.tensor([[2.0]]), torch.tensor([[1.0]])])
    imp = estimate_importance(kind, params, _loss_fn(lin), batches, 2)
    assert float(imp["weight"]) == pytest.approx(EXPECTED[kind][0])
    assert float(imp["bias"]) == pytest.approx(EXPECTED[kind][1])


def test_bad_kind():
    lin = _unit()
    with pytest.raises(ValueError, match="LT.DECOUPLE.IMPORTANCE"):
        estimate_importance("snip", dict(lin.named_parameters()), _loss_fn(lin), iter([]), 1)


def _worker(rank, init_file, out):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    lin = _unit()
    x = torch.tensor([[2.0]]) if rank == 0 else torch.tensor([[1.0]])
    imp = estimate_importance("taylor", dict(lin.named_parameters()), _loss_fn(lin), iter([x]), 1)
    if rank == 0:
        torch.save({k: v.clone() for k, v in imp.items()}, out)
    dist.destroy_process_group()


def test_two_processes_match_one_fed_the_same_batches(tmp_path):
    # Rank 0 sees x = 2, rank 1 sees x = 1: the all-reduced estimate equals the
    # single-process one over both batches (58, 184.5).
    out = str(tmp_path / "imp.pt")
    mp.spawn(_worker, args=(str(tmp_path / "init"), out), nprocs=2, join=True)
    imp = torch.load(out)
    assert float(imp["weight"]) == pytest.approx(58.0) and float(imp["bias"]) == pytest.approx(184.5)
