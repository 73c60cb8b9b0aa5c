"""ParamMasks: frozen elements stay bit-identical under SGD with momentum and weight decay,
pruned elements stay zero and are re-initialised, sub-model t is the masked forward."""
import torch
from torch import nn

from lt_det.modeling.param_masks import FREE, PRUNED, ParamMasks, decoupled_parameters, fresh_init


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.fc2 = nn.Linear(4, 2)
        self.masks = None

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


def _net():
    torch.manual_seed(0)
    net = Net()
    net.masks = ParamMasks(net, num_stages=2)
    return net


def _train(net, opt, steps=20):
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(8, 3, generator=g)
        loss = (net(x) ** 2).mean() + net(x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_decoupled_parameters_skip_norm_layers():
    net = _net()
    assert [n for n, _ in decoupled_parameters(net)] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert net.masks.count() == 12 + 4 + 8 + 2
    # Buffers, one int8 per element (not T weight copies), and per-stage BN states.
    sd = net.state_dict()
    assert sd["masks.owner__fc1__weight"].dtype == torch.int8
    assert sd["masks.norm__bn__running_mean"].shape == (2, 4)


def test_frozen_and_pruned_elements_do_not_move_under_momentum_and_weight_decay():
    net = _net()
    m = net.masks
    prune = {n: torch.zeros_like(p, dtype=torch.bool) for n, p in m.params(net).items()}
    prune["fc1.weight"][0, :] = True  # row 0 pruned in stage 1
    assert m.prune(net, prune) == 3
    assert (net.fc1.weight[0] == 0).all()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    m.install(net, opt)
    _train(net, opt)
    # Pruned row: still exactly zero despite weight decay and momentum.
    assert (net.fc1.weight[0] == 0).all()
    m.finish_stage(net, 1, opt, torch.Generator().manual_seed(0))
    assert (m.owner("fc1.weight")[0] == FREE).all() and (m.owner("fc1.weight")[1:] == 1).all()
    # Re-initialised with the layer's own init (the same generator draws the same values).
    expected = fresh_init(net, ["fc1.weight"], torch.Generator().manual_seed(0))["fc1.weight"]
    assert torch.equal(net.fc1.weight[0], expected[0]) and (net.fc1.weight[0] != 0).all()
    assert (opt.state[net.fc1.weight]["momentum_buffer"][0] == 0).all()
    frozen = {n: p.detach().clone() for n, p in m.params(net).items()}
    _train(net, opt)  # a whole stage-2 run of SGD + momentum + weight decay
    assert torch.equal(net.fc1.weight[1:], frozen["fc1.weight"][1:])  # bit-identical
    assert torch.equal(net.fc2.weight, frozen["fc2.weight"])  # owned by stage 1 entirely
    assert not torch.equal(net.fc1.weight[0], frozen["fc1.weight"][0])  # the free row trained
    assert int(m.stages_done) == 1


def test_submodel_is_the_masked_forward_with_its_stage_norm_state():
    net = _net()
    m = net.masks
    prune = {n: torch.zeros_like(p, dtype=torch.bool) for n, p in m.params(net).items()}
    prune["fc2.weight"][:, :2] = True
    m.prune(net, prune)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    m.install(net, opt)
    net.train()
    _train(net, opt, 5)
    stage1_bn = (net.bn.running_mean.clone(), net.bn.running_var.clone())
    m.finish_stage(net, 1, opt)
    _train(net, opt, 5)  # stage 2 moves the BN statistics and the freed elements
    m.finish_stage(net, 2, opt)
    net.eval()
    x = torch.randn(5, 3)
    full = net(x)
    with m.submodel(net, 1):
        sub1 = net(x)
    # By hand: stage-1 weights only (fc2 columns 0-1 were stage 1's pruned elements, so 0),
    # BN with the statistics recorded at the end of stage 1.
    w2 = net.fc2.weight * (m.owner("fc2.weight") == 1)
    h = torch.relu((net.fc1(x) - stage1_bn[0]) / torch.sqrt(stage1_bn[1] + net.bn.eps)
                   * m.norm__bn__weight[0] + m.norm__bn__bias[0])
    assert torch.allclose(sub1, h @ w2.t() + net.fc2.bias, atol=1e-6)
    assert torch.equal(net(x), full)  # restored on exit
    with m.submodel(net, 2):
        assert torch.allclose(net(x), full)  # sub-model T is the whole network
    assert (m.owner("fc2.weight") != PRUNED).all()
