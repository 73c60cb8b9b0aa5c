import math
import os
import time

import pytest
import torch
from torch import distributed as dist
from torch import multiprocessing as mp

from lt_det.losses import EQLv2, Seesaw

LN2 = math.log(2)


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_builds_from_config(build):
    loss = build("EQLv2", 4, True, None, **{"EQLV2.GAMMA": 10.0})
    assert isinstance(loss, EQLv2) and loss.num_logits() == 5
    assert (loss.gamma, loss.mu, loss.alpha) == (10.0, 0.8, 4.0)
    assert build("EQLv2", 4, False).num_logits() == 4


def test_state_over_three_steps():
    # C = 2 classes + 1 sigmoid background logit; gamma 12, mu 0.8, alpha 4.
    loss = EQLv2(num_classes=2, use_background=True).train()
    zeros = torch.zeros(2, 3, dtype=torch.float64)

    # Step 1: no statistics yet, every weight is 1. Labels (0, bg). All 6 terms are ln 2
    # -> loss 6 ln 2 / 2. |dBCE/dz| = |sigmoid(0) - y| = 1/2 everywhere.
    # pos: class 0 gets 1/2 (row 0); neg: class 0 gets 1/2 (row 1), class 1 gets 1/2 + 1/2.
    assert math.isclose(loss(zeros, torch.tensor([0, 2])).item(), 3 * LN2)
    assert loss.pos_grad.tolist() == [0.5, 0.0]
    assert loss.neg_grad.tolist() == [0.5, 1.0]

    # Step 2: ratio g = (0.5 / 0.5, 0 / 1) = (1, 0) ->
    # r = sigmoid(12 (g - 0.8)) = (sigmoid(2.4), sigmoid(-9.6)), q = 1 + 4 (1 - r).
    r0, r1 = sig(2.4), sig(-9.6)
    q0, q1 = 1 + 4 * (1 - r0), 1 + 4 * (1 - r1)
    pos_w, neg_w = loss.class_weights()
    assert torch.allclose(neg_w, torch.tensor([r0, r1], dtype=torch.float64), rtol=1e-9)
    assert torch.allclose(pos_w, torch.tensor([q0, q1], dtype=torch.float64), rtol=1e-9)
    # Labels (1, bg). Row 0: class 0 negative (r0), class 1 positive (q1), bg negative (1).
    # Row 1: class 0 negative (r0), class 1 negative (r1), bg positive (1).
    value = loss(zeros, torch.tensor([1, 2]))
    assert math.isclose(value.item(), LN2 * (2 * r0 + q1 + r1 + 2) / 2, rel_tol=1e-8)
    # Accumulated: pos = (0.5, 0.5 q1); neg = (0.5 + 2 * 0.5 r0, 1 + 0.5 r1).
    assert torch.allclose(loss.pos_grad, torch.tensor([0.5, 0.5 * q1], dtype=torch.float64))
    assert torch.allclose(loss.neg_grad, torch.tensor([0.5 + r0, 1 + 0.5 * r1], dtype=torch.float64))

    # Step 3: weights from g = (0.5 / (0.5 + r0), 0.5 q1 / (1 + 0.5 r1)).
    g0, g1 = 0.5 / (0.5 + r0), 0.5 * q1 / (1 + 0.5 * r1)
    r0, r1 = sig(12 * (g0 - 0.8)), sig(12 * (g1 - 0.8))
    q0, q1 = 1 + 4 * (1 - r0), 1 + 4 * (1 - r1)
    pos_w, neg_w = loss.class_weights()
    assert torch.allclose(neg_w, torch.tensor([r0, r1], dtype=torch.float64), rtol=1e-9)
    # One RoI of class 0 with logits (ln 3, 0, 0): sigmoid = (3/4, 1/2, 1/2).
    # pos class 0 += (1 - 3/4) q0; neg class 1 += 1/2 r1.
    before_pos, before_neg = loss.pos_grad.clone(), loss.neg_grad.clone()
    logits = torch.tensor([[math.log(3), 0.0, 0.0]], dtype=torch.float64)
    loss(logits, torch.tensor([0]))
    assert torch.allclose(loss.pos_grad - before_pos, torch.tensor([0.25 * q0, 0.0], dtype=torch.float64))
    assert torch.allclose(loss.neg_grad - before_neg, torch.tensor([0.0, 0.5 * r1], dtype=torch.float64))
    assert int(loss.num_updates) == 3


def test_statistics_are_the_loss_gradients():
    # The accumulated statistics are N * sum_i |dL/dz_ij| split by y_ij (L divides by N).
    torch.manual_seed(0)
    loss = EQLv2(num_classes=4, use_background=True).train()
    loss(torch.randn(10, 5, dtype=torch.float64), torch.randint(0, 5, (10,)))  # leave step 0
    logits = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 4, 4, 4, 0, 0, 1, 4, 2])
    before_pos, before_neg = loss.pos_grad.clone(), loss.neg_grad.clone()
    loss(logits, labels).backward()
    targets = torch.nn.functional.one_hot(labels, 5).double()
    grad = logits.grad.abs() * 12
    assert torch.allclose(loss.pos_grad - before_pos, (grad * targets).sum(0)[:4])
    assert torch.allclose(loss.neg_grad - before_neg, (grad * (1 - targets)).sum(0)[:4])


def test_gradcheck_with_frozen_state():
    torch.manual_seed(0)
    loss = EQLv2(num_classes=3, use_background=True).train()
    for _ in range(3):
        loss(torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 4, (8,)))
    loss.eval()  # eval mode: the statistics (hence the weights) stay fixed
    logits = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 3, 1])
    assert torch.autograd.gradcheck(lambda x: loss(x, labels), (logits,))
    assert int(loss.num_updates) == 3


def test_scores():
    loss = EQLv2(num_classes=2, use_background=True)
    # sigmoid(ln 3) = 3/4, sigmoid(0) = 1/2, background sigmoid(ln 1/3) = 1/4:
    # class scores p_j (1 - p_bg) = (9/16, 3/8), background 1/4.
    logits = torch.tensor([[math.log(3), 0.0, -math.log(3)]])
    assert torch.allclose(loss.predict_probs(logits), torch.tensor([[9 / 16, 3 / 8, 1 / 4]]))


def test_state_is_checkpointed():
    loss = EQLv2(num_classes=2, use_background=True).train()
    loss(torch.zeros(2, 3), torch.tensor([0, 2]))
    state = loss.state_dict()
    assert set(state) == {"pos_grad", "neg_grad", "num_updates"}
    fresh = EQLv2(num_classes=2, use_background=True)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.neg_grad, loss.neg_grad) and int(fresh.num_updates) == 1


def _ddp_worker(rank, world_size, init_file, out_dir):
    # A forked child must not reuse the parent's OpenMP pool (as DataLoader workers do).
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    torch.manual_seed(100 + rank)
    eqlv2 = EQLv2(num_classes=3, use_background=True).train()
    seesaw = Seesaw(num_classes=3, use_background=True).train()
    for step in range(2):
        logits = torch.randn(5 + rank, 4, dtype=torch.float64)
        labels = torch.randint(0, 4, (5 + rank,))
        eqlv2(logits, labels)
        seesaw(torch.randn(5 + rank, 5), labels)
        torch.save((logits, labels), os.path.join(out_dir, f"batch_{rank}_{step}.pt"))
    torch.save(
        (eqlv2.state_dict(), seesaw.state_dict()), os.path.join(out_dir, f"state_{rank}.pt")
    )
    dist.destroy_process_group()


def test_statistics_are_summed_over_processes(tmp_path):
    # Two gloo processes with different batches end with identical state, equal to one
    # process seeing both batches at each step (the statistics are sums over RoIs).
    # fork: the workers reuse this process's imports (spawning would re-import torch).
    context = mp.start_processes(
        _ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2,
        join=False, start_method="fork",
    )
    deadline = time.monotonic() + 60
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two gloo worker processes did not finish within 60 s")
    states = [torch.load(tmp_path / f"state_{r}.pt") for r in range(2)]
    for key in ("pos_grad", "neg_grad", "num_updates"):
        assert torch.equal(states[0][0][key], states[1][0][key])
    assert torch.equal(states[0][1]["class_counts"], states[1][1]["class_counts"])

    single = EQLv2(num_classes=3, use_background=True).train()
    counts = torch.zeros(3, dtype=torch.float64)
    for step in range(2):
        batches = [torch.load(tmp_path / f"batch_{r}_{step}.pt") for r in range(2)]
        single(torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches]))
        labels = torch.cat([b[1] for b in batches])
        counts += torch.bincount(labels[labels < 3], minlength=3).double()
    assert torch.allclose(states[0][0]["pos_grad"], single.pos_grad)
    assert torch.allclose(states[0][0]["neg_grad"], single.neg_grad)
    assert torch.equal(states[0][1]["class_counts"], counts)
