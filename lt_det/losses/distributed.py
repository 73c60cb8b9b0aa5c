"""The one distributed helper of the losses that keep statistics across iterations (EQLv2's
gradient sums, Seesaw's class counts): every process must hold the same state."""
import torch
from torch import distributed as dist


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over processes, in place, when torch.distributed runs with more than
    one; returns it. Every process must call it, even with an empty batch."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor)
    return tensor
