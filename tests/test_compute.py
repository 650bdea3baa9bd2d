"""Training compute: torch's FLOP counter against closed-form counts of the same nets."""

import pytest

from equidocs.compute import flops_per_example, run_flops


def test_dense_flops_match_the_closed_form_of_two_hidden_layers():
    widths = [100, 256, 256, 4]
    forward = sum(2 * a * b for a, b in zip(widths, widths[1:]))
    weight_grads = forward
    input_grads = sum(2 * a * b for a, b in zip(widths[1:], widths[2:]))  # no gradient for the pixels
    assert flops_per_example("dense", (1, 10, 10), 4, depth=2, hidden=256) == forward + weight_grads + input_grads


@pytest.mark.parametrize("head, features", [("max", 8), ("flatten", 8 * 10 * 10)])
def test_conv_flops_match_the_closed_form_for_a_pooled_and_a_flatten_head(head, features):
    conv = 2 * (10 * 10 * 8) * (1 * 5 * 5)  # every output value: a 5x5x1 window
    classifier = 2 * features * 4
    expected = conv + classifier + conv + classifier + classifier  # forward, weight grads, classifier's input grad
    assert flops_per_example("conv", (1, 10, 10), 4, depth=1, width=8, kernel_size=5, head=head) == expected


def test_a_run_small_enough_for_one_minibatch_counts_every_example_each_step():
    assert run_flops(10, 50, 7) == 10 * 50 * 7
    assert run_flops(10, 5000, 7) == 10 * 128 * 7
