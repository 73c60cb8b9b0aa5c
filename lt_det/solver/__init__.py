from .optimizer import build_lt_optimizer, check_amp_device, effective_base_lr, lt_param_groups, scaled_base_lr

__all__ = ["build_lt_optimizer", "check_amp_device", "effective_base_lr", "lt_param_groups", "scaled_base_lr"]
