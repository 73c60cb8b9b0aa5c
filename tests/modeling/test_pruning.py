"""Progressive pruning ratio (eq. 4), selection by importance, gamma_best from a scan."""
import pytest
import torch

from lt_det.modeling.pruning import check_gamma, choose_gamma, progressive_gamma, select_to_prune, write_gamma_scan


def test_progressive_gamma_values():
    # gamma_t = g1 + (g0 - g1)(1 - t/10)^3 from 0 to 0.5.
    assert progressive_gamma(0.0, 0.5, 0) == 0.0
    assert progressive_gamma(0.0, 0.5, 1) == pytest.approx(0.5 - 0.5 * 0.9 ** 3)  # 0.1355
    assert progressive_gamma(0.0, 0.5, 5) == pytest.approx(0.4375)  # 0.5 - 0.5 / 8
    assert progressive_gamma(0.0, 0.5, 10) == pytest.approx(0.5)
    assert progressive_gamma(0.5, 0.8, 10, delta_t=10) == pytest.approx(0.8)
    vals = [progressive_gamma(0.0, 0.8, t) for t in range(11)]
    assert vals == sorted(vals)
    with pytest.raises(ValueError):
        progressive_gamma(0, 0.5, 11)


def test_select_layer_and_global():
    imp = {"a": torch.tensor([[4.0, 1.0], [3.0, 2.0]]), "b": torch.tensor([0.5, 5.0])}
    cand = {k: torch.ones_like(v, dtype=torch.bool) for k, v in imp.items()}
    none = {k: torch.zeros_like(v, dtype=torch.bool) for k, v in imp.items()}
    # layer: half of each tensor -> a: 1.0 and 2.0; b: 0.5.
    sel = select_to_prune(imp, cand, none, 0.5, "layer")
    assert sel["a"].tolist() == [[False, True], [False, True]] and sel["b"].tolist() == [True, False]
    # global: 3 of 6 -> 0.5, 1.0, 2.0.
    sel = select_to_prune(imp, cand, none, 0.5, "global")
    assert sel["a"].tolist() == [[False, True], [False, True]] and sel["b"].tolist() == [True, False]
    # global 1/3: 2 of 6 -> 0.5, 1.0 (b loses its weak element, a only one).
    sel = select_to_prune(imp, cand, none, 1 / 3, "global")
    assert sel["a"].tolist() == [[False, True], [False, False]] and sel["b"].tolist() == [True, False]
    # Already-pruned elements count towards the target; only candidates are chosen.
    pruned = {"a": torch.tensor([[True, False], [False, False]]), "b": torch.tensor([False, False])}
    cand["b"] = torch.tensor([False, True])
    sel = select_to_prune(imp, cand, pruned, 0.5, "layer")
    assert sel["a"].tolist() == [[False, True], [False, False]]  # 2 of 4, one already pruned
    assert sel["b"].tolist() == [False, False]  # round(0.5 * 1) = 0 (banker's rounding) -> none


def test_choose_gamma_and_check():
    # drops 0, 1, 2, 20, 30: the largest increase (18) is from 0.2 to 0.3 -> gamma_best 0.2.
    assert choose_gamma([0.0, 0.1, 0.2, 0.3, 0.4], [90, 89, 88, 70, 60]) == 0.2
    assert check_gamma(0.0) == 0.0
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="LT.DECOUPLE.GAMMAS"):
            check_gamma(bad)


def test_scan_writes_plot(tmp_path):
    files = write_gamma_scan(str(tmp_path / "scan"), [0.0, 0.5], [80.0, 60.0], 0.0, "stage 1")
    assert all((tmp_path / f).exists() for f in ("scan.json", "scan.png")) and len(files) == 2
