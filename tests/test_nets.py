"""Oracle tests of the mechanism study's nets: the local layer against nn.Conv2d and a plain loop,
closed-form parameter counts, and the pooled conv's exact invariance (a sanity check)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from equidocs.data import glyphs
from equidocs.nets import (NETS, POOLED, Local2d, WindowMax, count_params, first_max, make_net, param_count,
                          positions)


@pytest.mark.parametrize("c_in,c_out,side,k", [(1, 8, 10, 5), (3, 4, 7, 3), (2, 5, 5, 5)])
def test_tied_local_equals_conv_padding_0(c_in, c_out, side, k):
    torch.manual_seed(0)
    conv = nn.Conv2d(c_in, c_out, k)
    x = torch.randn(6, c_in, side, side)
    local = Local2d.from_conv(conv, side)
    assert local.L == (side - k + 1) ** 2
    torch.testing.assert_close(local(x), conv(x), atol=1e-6, rtol=0)


def test_local_equals_per_position_loop():
    torch.manual_seed(1)
    layer, x = Local2d(2, 3, 8, 5), torch.randn(4, 2, 8, 8)
    side = 8 - 5 + 1
    want = torch.empty(4, 3, side, side)
    for r in range(side):
        for c in range(side):
            l = r * side + c
            window = x[:, :, r:r + 5, c:c + 5].reshape(4, -1)  # (N, C*k*k) in unfold's order
            want[:, :, r, c] = window @ layer.weight[l] + layer.bias[l]
    torch.testing.assert_close(layer(x), want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("canvas,width", [(6, 3), (9, 8)])
def test_unshared_flatten_readout_is_the_channel_major_linear_map(canvas, width):
    """The position-major shortcut (weight permuted, not features) against the plain definition:
    Linear(width * L) on the ReLU feature map flattened channel-major, values and gradients."""
    torch.manual_seed(2)
    net, x = make_net("local_flatten", canvas, 4, width=width), torch.randn(5, 1, canvas, canvas)
    want = net.classifier(torch.relu(net.features(x)).flatten(1))
    got = net(x)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    grads = [torch.autograd.grad(y.square().sum(), list(net.parameters())) for y in (got, want)]
    for g_got, g_want in zip(*grads):
        torch.testing.assert_close(g_got, g_want, atol=1e-5, rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 6), row=st.integers(1, 6), n=st.integers(1, 4), c=st.integers(1, 3),
       levels=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_first_max_is_torch_max_ties_included(rows, row, n, c, levels, seed):
    """Oracle: torch.max over dim 0 (values and the first arg-max). Few distinct levels force ties."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, levels, (rows * row, n, c), generator=g).float()
    values, idx = first_max(y, row)
    want = torch.max(y, 0)
    assert torch.equal(values, want.values) and torch.equal(idx, want.indices)
    assert torch.equal(idx, (y == values).int().argmax(0))  # the first of the tied windows


def test_first_max_on_a_strided_view_and_bad_rows():
    y = torch.randn(3, 4, 9).permute(2, 0, 1)  # (9, 3, 4), not contiguous
    assert all(torch.equal(a, b) for a, b in zip(first_max(y, 3), torch.max(y, 0)))
    with pytest.raises(ValueError, match=r"first_max row=4: expected a positive divisor of the 9 windows"):
        first_max(y, 4)


@pytest.mark.parametrize("arm", POOLED)
@pytest.mark.parametrize("canvas", [6, 9, 24])
def test_sparse_max_matches_amax_without_ties(arm, canvas):
    """sparse_max against the amax readout (continuous data: no ties): the same logits and gradients to
    float rounding (the windows' other layout; a sparse sum adds a weight's contributions in another
    order)."""
    torch.manual_seed(3)
    dense = make_net(arm, canvas, 4, width=6)
    sparse = make_net(arm, canvas, 4, width=6, sparse_max=True)
    sparse.load_state_dict(dense.state_dict())
    x = torch.randn(7, 1, canvas, canvas)
    outs = [net(x) for net in (dense, sparse)]
    torch.testing.assert_close(outs[1], outs[0], atol=1e-6, rtol=1e-6)
    grads = [torch.autograd.grad(o.square().sum(), list(net.parameters())) for o, net in zip(outs, (dense, sparse))]
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5)


def test_window_max_sends_a_tie_to_the_first_window_and_has_an_input_gradient():
    """Where amax splits the gradient between tied windows, WindowMax gives it all to the first; its
    input gradient (unused in training: the data need none) passes torch's gradcheck."""
    cols = torch.zeros(4, 1, 1)  # (L, fan_in, N)
    weight, bias = torch.zeros(4, 1, 2, requires_grad=True), torch.tensor([[1.0, 0.0], [3.0, 2.0], [3.0, 2.0], [0.0, 1.0]])
    bias.requires_grad_()
    WindowMax.apply(cols, weight, bias).sum().backward()
    assert bias.grad.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    args = (torch.randn(9, 3, 2, dtype=torch.float64, requires_grad=True),
            torch.randn(9, 3, 2, dtype=torch.float64, requires_grad=True),
            torch.randn(9, 2, dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(WindowMax.apply, args)


@pytest.mark.parametrize("arm", NETS)
@pytest.mark.parametrize("canvas", [6, 7, 12, 24])
def test_param_count_closed_form(arm, canvas):
    for width, hidden in ((8, 256), (32, 64)):
        net = make_net(arm, canvas, 4, width=width, hidden=hidden)
        assert count_params(net) == param_count(arm, canvas, 4, width=width, hidden=hidden)
        assert net(torch.zeros(3, 1, canvas, canvas)).shape == (3, 4)


def test_local_has_one_filter_per_position():
    assert param_count("local", 24, 4, width=8) - param_count("conv", 24, 4, width=8) \
        == 26 * 8 * (positions(24) - 1)


def test_bad_arguments_name_argument_expected_given():
    with pytest.raises(ValueError, match=r"arm='mlp': expected one of"):
        make_net("mlp", 8, 4)
    with pytest.raises(ValueError, match=r"canvas=4: expected an integer >= 5"):
        make_net("conv", 4, 4)
    with pytest.raises(ValueError, match=r"width=0: expected a positive integer"):
        make_net("local", 8, 4, width=0)
    with pytest.raises(ValueError, match=r"sparse_max=True for arm='dense': expected False, or True for an arm"):
        make_net("dense", 8, 4, sparse_max=True)


@settings(max_examples=25, deadline=None)
@given(canvas=st.integers(13, 20), data=st.data())
def test_pooled_conv_invariant_between_interior_positions(canvas, data):
    """Sanity check (holds by construction): shared filters + global max give the same logits for a
    glyph on a blank canvas wherever it sits at least 4 pixels from every edge (then all 81 windows
    that overlap it are valid windows, and the rest are blank)."""
    torch.manual_seed(canvas)
    net = make_net("conv", canvas, 4, width=6)
    span = st.integers(4, canvas - 9)
    (r1, c1), (r2, c2) = [(data.draw(span), data.draw(span)) for _ in range(2)]
    g = glyphs(4)[data.draw(st.integers(0, 3))]
    x = torch.zeros(2, 1, canvas, canvas)
    x[0, 0, r1:r1 + 5, c1:c1 + 5] = g
    x[1, 0, r2:r2 + 5, c2:c2 + 5] = g
    out = net(x)
    torch.testing.assert_close(out[0], out[1], atol=1e-6, rtol=0)


def test_pooled_conv_only_nearly_invariant_at_the_border():
    """With valid windows (padding 0) a glyph at the border loses the windows that would overlap it
    from outside the canvas, so exact invariance needs interior positions (or padding k-1)."""
    torch.manual_seed(0)
    net = make_net("conv", 8, 4, width=16)
    x = torch.zeros(2, 1, 8, 8)
    x[0, 0, 0:5, 0:5] = glyphs(4)[1]
    x[1, 0, 3:8, 3:8] = glyphs(4)[1]
    feats = [torch.relu(net.features(x)).amax(dim=(2, 3))[i] for i in range(2)]
    assert not torch.allclose(*feats)  # differ, but only through partial windows


def test_conv_feature_map_equivariant_to_shifts():
    """Moving the glyph by (dy, dx) moves the conv feature map by (dy, dx) (blank canvas)."""
    torch.manual_seed(2)
    net = make_net("conv", 12, 4, width=4)
    x = torch.zeros(2, 1, 12, 12)
    x[0, 0, 1:6, 2:7] = glyphs(4)[3]
    x[1, 0, 3:8, 5:10] = glyphs(4)[3]  # moved by (2, 3)
    f = net.features(x)  # (2, 4, 8, 8)
    torch.testing.assert_close(f[1, :, 2:, 3:], f[0, :, :-2, :-3], atol=1e-6, rtol=0)


def test_window_max_backward_makes_its_tensors_on_its_inputs_device():
    """The sparse max's backward must run on a GPU too: every tensor it makes sits on its inputs'
    device. Run with the default device set elsewhere (meta), a tensor made without naming its device
    lands there and the backward fails; made on the inputs' device, it runs and matches."""
    import types

    cols, w, b = torch.randn(9, 2, 3), torch.randn(9, 2, 4), torch.zeros(9, 4)
    _, idx = first_max(torch.baddbmm(b[:, None, :], cols.transpose(1, 2), w), 3)
    ctx = types.SimpleNamespace(saved_tensors=(cols, w, idx), needs_input_grad=(True, True, True))
    grad = torch.ones(3, 4)
    want = WindowMax.backward(ctx, grad)
    with torch.device("meta"):
        got = WindowMax.backward(ctx, grad)
    assert [g.device.type for g in got] == ["cpu"] * 3
    for g, h in zip(got, want):
        assert torch.equal(g, h)
