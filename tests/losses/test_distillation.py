import math

import pytest
import torch

from lt_det.losses.distillation import Teacher, distillation_kl, distillation_loss


def test_distillation_loss_by_hand():
    # Student logits [0, 0] -> p_s = [1/2, 1/2]; teacher logits [0, 2 ln 3] with T = 2 ->
    # z_t / T = [0, ln 3] -> p_t = [1/4, 3/4].
    # KL(p_t || p_s) = 1/4 ln((1/4)/(1/2)) + 3/4 ln((3/4)/(1/2)) = 1/4 ln(1/2) + 3/4 ln(3/2).
    kl = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    s = torch.zeros(1, 2)
    t = torch.tensor([[0.0, 2 * math.log(3.0)]])
    assert abs(distillation_kl(s, t, 2.0).item() - 4 * kl) < 1e-6  # times T^2 = 4
    # (1 - w) CE + w T^2 KL with CE = 0.7, w = 0.25.
    got = distillation_loss(torch.tensor(0.7), s, t, 2.0, 0.25).item()
    assert abs(got - (0.75 * 0.7 + 0.25 * 4 * kl)) < 1e-6


def test_identical_logits_give_zero_kl_and_gradient_flows_to_student_only():
    s = torch.randn(3, 5, requires_grad=True)
    t = s.detach().clone().requires_grad_(True)
    assert abs(distillation_kl(s, t, 3.0).item()) < 1e-6
    loss = distillation_kl(s * 2, t, 1.0)
    loss.backward()
    assert s.grad is not None and t.grad is None  # the teacher is detached


def test_bad_arguments_and_empty_batch():
    s = torch.zeros(0, 3)
    assert distillation_kl(s, s, 1.0).item() == 0.0
    with pytest.raises(ValueError, match="WEIGHT"):
        distillation_loss(torch.tensor(1.0), torch.zeros(1, 2), torch.zeros(1, 2), 1.0, 1.5)
    with pytest.raises(ValueError, match="TEMPERATURE"):
        distillation_loss(torch.tensor(1.0), torch.zeros(1, 2), torch.zeros(1, 2), 0.0, 0.5)


def test_teacher_is_frozen_and_not_a_submodule(tiny_classifier):
    teacher = Teacher(tiny_classifier, temperature=1.0, weight=0.5)
    assert not any(p.requires_grad for p in tiny_classifier.parameters())
    student = torch.nn.Module()
    student.teacher = teacher
    assert list(student.parameters()) == []  # not in the student's optimizer / checkpoint
    x = torch.tensor([[[[1.0]], [[0.0]]]])
    assert torch.allclose(teacher.logits(x), torch.tensor([[3.0, 1.0]]))
