"""Training compute: the floating-point operations a training run executes, as torch counts them.

A run's compute is its optimiser steps x its minibatch size x the FLOPs of one example's forward and
backward pass (:func:`flops_per_example`). torch's ``FlopCounterMode`` counts the matrix
multiplications and convolutions (2 FLOPs per multiply-add); elementwise work (ReLU, pooling, the
loss, Adam's update, a shift augmentation's gather) is not counted, which is a small share for these
nets. Not imported by the trainer, so a change here leaves every recorded run fresh.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from equidocs.models import make_model
from equidocs.train import TrainConfig


def training_flops(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of forward + backward of one minibatch ``(x, y)``, as torch's FlopCounterMode counts them.

    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> training_flops(model, torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 0]))  # 2x(3x4x2) fwd, the same for dW
    96
    """
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def flops_per_example(kind: str, in_shape: tuple[int, int, int], num_classes: int, **options: object) -> int:
    """Training FLOPs per example (forward + backward) of the ``kind`` net :func:`make_model` builds.

    >>> flops_per_example("dense", (1, 10, 10), 4, depth=1, hidden=256)  # 2x(100x256 + 256x4) fwd, as much for dW,
    108544
    >>> 2 * (100 * 256 + 256 * 4) * 2 + 2 * 256 * 4  # ... and 2x(256x4) for dX of the hidden layer
    108544
    """
    model = make_model(kind, in_shape, num_classes, **options)
    batch = 2  # FLOPs are linear in the batch: count two examples, so batch-wide work would show
    x, y = torch.zeros(batch, *in_shape), torch.zeros(batch, dtype=torch.long)
    total = training_flops(model, x, y)
    if total % batch:
        raise ValueError(f"flops_per_example: {total} FLOPs for a batch of {batch} is not per-example")
    return total // batch


def run_flops(steps: int, n_train: int, per_example: int, batch_size: int = TrainConfig.batch_size) -> int:
    """Training FLOPs of a run: ``steps`` minibatches of ``min(batch_size, n_train)`` examples.

    >>> run_flops(1000, 64, 10)  # the whole 64-example set is one minibatch
    640000
    """
    return steps * min(batch_size, n_train) * per_example
