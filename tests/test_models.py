"""Oracle tests for equidocs.models: torch's Conv2d, the antialiased-cnns package, each other."""
import antialiased_cnns
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from equidocs.equivariance import assert_equivariant, equivariance_error
from equidocs.models import (KINDS, BlurPool2d, ConvNet, DenseNet, LocallyConnected2d,
                             LocallyConnectedNet, NetOptions, block_sizes, make_model)

FAST = settings(max_examples=8, deadline=None)
SMALL = dict(width=3, depth=2, kernel_size=3, hidden=16)


def _randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- LocallyConnected2d with tied weights is nn.Conv2d ------------------------------------------

@pytest.mark.parametrize("padding", ["circular", "zeros"])
@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("stride", [1, 2])
@FAST
@given(c_in=st.integers(1, 4), c_out=st.integers(1, 4), h=st.integers(5, 11),
       w=st.integers(5, 11), n=st.integers(1, 3), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_local_layer_from_conv_equals_conv(padding, k, stride, c_in, c_out, h, w, n, bias, seed):
    torch.manual_seed(seed)
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, padding_mode=padding,
                     bias=bias).double()
    local = LocallyConnected2d.from_conv(conv, (h, w), padding)
    x = _randn(n, c_in, h, w, seed=seed, dtype=torch.float64)
    torch.testing.assert_close(local(x), conv(x), rtol=1e-12, atol=1e-12)
    assert local.weight.shape == (local.out_size[0] * local.out_size[1], c_out, c_in * k * k)
    assert (local.bias is None) == (not bias)


def test_local_layer_unties_into_separate_weights_per_position():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular")
    local = LocallyConnected2d.from_conv(conv, 8)
    with torch.no_grad():
        local.weight[10] += 1.0  # position l = 10 is row 1, column 2 of the 8x8 output
    x = _randn(2, 2, 8, 8)
    changed = (local(x) - conv(x)).abs().amax(dim=(0, 1)) > 1e-3
    assert changed.nonzero().tolist() == [[1, 2]]


def test_local_layer_init_matches_conv2d_init():
    torch.manual_seed(0)
    conv, local = nn.Conv2d(8, 64, 5), LocallyConnected2d(8, 64, 6, 5)
    bound = 1 / (8 * 5 * 5) ** 0.5
    for theirs, ours in [(conv.weight, local.weight), (conv.bias, local.bias)]:
        assert ours.abs().max() <= bound and theirs.abs().max() <= bound
    torch.testing.assert_close(local.weight.std(), conv.weight.std(), rtol=0.05, atol=0)


# --- BlurPool2d equals the antialiased-cnns reference -------------------------------------------

@pytest.mark.parametrize("filt_size", [2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@FAST
@given(channels=st.integers(1, 4), h=st.integers(4, 11), w=st.integers(4, 11),
       seed=st.integers(0, 2**16))
def test_blurpool_equals_antialiased_cnns(filt_size, stride, channels, h, w, seed):
    ours = BlurPool2d(channels, filt_size=filt_size, stride=stride, pad_mode="reflect")
    theirs = antialiased_cnns.BlurPool(channels, filt_size=filt_size, stride=stride,
                                       pad_type="reflect")
    x = _randn(2, channels, h, w, seed=seed)
    torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("filt_size", [1, 3, 4])
def test_circular_blurpool_commutes_with_shifts_by_its_stride(filt_size):
    pool, x = BlurPool2d(3, filt_size=filt_size), _randn(2, 3, 12, 10)
    shifted = pool(torch.roll(x, shifts=(4, -2), dims=(2, 3)))
    torch.testing.assert_close(shifted, torch.roll(pool(x), shifts=(2, -1), dims=(2, 3)))


# --- the three nets -----------------------------------------------------------------------------

@pytest.mark.parametrize("downsample", ["none", "stride", "maxpool", "blurpool"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("in_shape", [(1, 12, 12), (3, 11, 9)])
def test_every_kind_builds_from_the_same_options(kind, downsample, in_shape):
    model = make_model(kind, in_shape, 7, downsample=downsample, head="max", **SMALL)
    x = _randn(5, *in_shape)
    assert model(x).shape == (5, 7)
    if kind != "dense":
        h, w = block_sizes(in_shape[1:], model.options)[-1]
        assert model.features(x).shape == (5, SMALL["width"], h, w)


@pytest.mark.parametrize("downsample", ["none", "stride", "maxpool", "blurpool"])
@pytest.mark.parametrize("head", ["avg", "max", "flatten"])
@pytest.mark.parametrize("padding", ["circular", "zeros"])
def test_local_net_with_tied_weights_is_the_conv_net(downsample, head, padding):
    options = dict(width=4, depth=3, kernel_size=3, downsample=downsample, head=head,
                   padding=padding)
    conv_net = ConvNet((2, 13, 12), 5, **options).double()
    local_net = LocallyConnectedNet((2, 13, 12), 5, **options).double()
    convs = [m for m in conv_net.modules() if isinstance(m, nn.Conv2d)]
    locals_ = [m for m in local_net.modules() if isinstance(m, LocallyConnected2d)]
    assert len(convs) == len(locals_) == 3
    for conv, local in zip(convs, locals_):
        local.load_state_dict(LocallyConnected2d.from_conv(conv, local.in_size).state_dict())
    local_net.classifier.load_state_dict(conv_net.classifier.state_dict())
    x = _randn(3, 2, 13, 12, dtype=torch.float64)
    torch.testing.assert_close(local_net.features(x), conv_net.features(x))
    torch.testing.assert_close(local_net(x), conv_net(x))


def test_conv_net_reads_any_image_size_but_local_and_dense_need_theirs():
    conv, local = (make_model(k, (1, 12, 12), 3, **SMALL) for k in ("conv", "local"))
    assert conv(_randn(2, 1, 20, 16)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"expected shape \(N, 1, 12, 12\), got \(2, 1, 20, 16\)"):
        local(_randn(2, 1, 20, 16))


@pytest.mark.parametrize("downsample", ["none", "stride", "maxpool", "blurpool"])
@pytest.mark.parametrize("kind", ["conv", "local"])
def test_flatten_head_reads_the_whole_last_feature_map(kind, downsample):
    in_shape = (2, 11, 9)
    model = make_model(kind, in_shape, 7, downsample=downsample, head="flatten", **SMALL)
    h, w = block_sizes(in_shape[1:], model.options)[-1]
    assert model.classifier.in_features == SMALL["width"] * h * w
    x = _randn(5, *in_shape)
    torch.testing.assert_close(model(x), model.classifier(model.features(x).flatten(1)))
    assert model(x).shape == (5, 7)


def test_flatten_head_keeps_the_blocks_and_their_random_draws():
    def build(head: str) -> nn.Module:
        torch.manual_seed(7)
        return make_model("conv", (1, 10, 10), 3, head=head, **SMALL)

    pooled, flat = build("max"), build("flatten")
    blocks = zip(pooled.blocks.state_dict().values(), flat.blocks.state_dict().values())
    assert all(torch.equal(a, b) for a, b in blocks)  # built first, from the same RNG draws


def test_flatten_head_conv_net_is_not_shift_invariant_but_the_max_pooled_one_is():
    def build(head: str) -> nn.Module:
        torch.manual_seed(0)
        return make_model("conv", (1, 10, 10), 4, head=head, **SMALL).double()

    pooled, flat = build("max"), build("flatten")
    x = _randn(6, 1, 10, 10, dtype=torch.float64)
    assert_equivariant(pooled, x)  # logits: this asserts invariance under circular shifts
    assert_equivariant(flat.features, x)  # the same equivariant feature map ...
    assert min(equivariance_error(flat, x, dy, dx) for dy, dx in [(1, 0), (0, 1), (2, -3)]) > 0.01
    with pytest.raises(AssertionError, match="not equivariant"):  # ... read out by position
        assert_equivariant(flat, x)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_gives_the_same_model_and_output(kind):
    def build() -> tuple[dict, torch.Tensor]:
        torch.manual_seed(123)
        model = make_model(kind, (2, 10, 10), 4, downsample="blurpool", **SMALL)
        return model.state_dict(), model(_randn(3, 2, 10, 10))

    (state_a, out_a), (state_b, out_b) = build(), build()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[key], state_b[key]) for key in state_a)
    assert torch.equal(out_a, out_b)


def test_unused_options_are_ignored():
    base = make_model("dense", (1, 8, 8), 3, hidden=16)
    other = make_model("dense", (1, 8, 8), 3, hidden=16, width=99, kernel_size=7, head="max")
    assert [p.shape for p in base.parameters()] == [p.shape for p in other.parameters()]
    conv_a, conv_b = make_model("conv", (1, 8, 8), 3), make_model("conv", (1, 8, 8), 3, hidden=9)
    assert [p.shape for p in conv_a.parameters()] == [p.shape for p in conv_b.parameters()]


def test_dense_first_layer_is_the_first_linear_and_reads_the_whole_image():
    model = DenseNet((3, 5, 4), 2, hidden=8, depth=2)
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    assert model.first_layer is first and first.weight.shape == (8, 3 * 5 * 4)
    assert first.weight[0].reshape(3, 5, 4).shape == (3, 5, 4)


def test_block_sizes_follow_each_downsampling_rule():
    sizes = {d: block_sizes((13, 8), NetOptions(depth=3, kernel_size=1, downsample=d))
             for d in ("none", "stride", "maxpool", "blurpool")}
    assert sizes == {"none": [(13, 8)] * 3, "stride": [(13, 8), (7, 4), (4, 2)],
                     "maxpool": [(13, 8), (6, 4), (3, 2)], "blurpool": [(13, 8), (7, 4), (4, 2)]}


# --- every error names the argument, what was expected and what was given -----------------------

BAD_CALLS = [
    (lambda: make_model("mlp", (1, 8, 8), 3), ValueError,
     "kind='mlp': expected one of 'conv', 'local', 'dense'"),
    (lambda: make_model("conv", (1, 8, 8), 3, hiden=4), TypeError,
     r"unknown option\(s\) 'hiden': expected any of 'width', 'depth', .*'hidden', 'head'"),
    (lambda: make_model("conv", (1, 8, 8), 3, padding="reflect"), ValueError,
     "padding='reflect': expected one of 'circular', 'zeros'"),
    (lambda: make_model("dense", (1, 8, 8), 3, downsample="avgpool"), ValueError,
     "downsample='avgpool': expected one of 'none', 'stride', 'maxpool', 'blurpool'"),
    (lambda: make_model("local", (1, 8, 8), 3, head="sum"), ValueError,
     "head='sum': expected one of 'avg', 'max', 'flatten'"),
    (lambda: make_model("conv", (1, 8, 8), 3, width=0), ValueError,
     "width=0: expected a positive integer"),
    (lambda: make_model("conv", (1, 8, 8), 3, width=2.5), TypeError,
     "width=2.5: expected a positive integer"),
    (lambda: make_model("dense", (1, 8, 8), 3, depth=True), TypeError,
     "depth=True: expected a positive integer"),
    (lambda: make_model("conv", (1, 8, 8), 3, kernel_size=4), ValueError,
     "kernel_size=4: expected an odd integer"),
    (lambda: make_model("local", (1, 8, 8), 3, kernel_size=9), ValueError,
     "kernel_size=9: expected at most the 8x8 input of block 0"),
    (lambda: make_model("conv", (1, 8, 8), 3, depth=3, downsample="stride"), ValueError,
     "kernel_size=5: expected at most the 4x4 input of block 2"),
    (lambda: make_model("conv", (28, 28), 3), TypeError,
     r"in_shape=\(28, 28\): expected a tuple of 3 positive integers"),
    (lambda: make_model("dense", (1, 0, 28), 3), ValueError,
     r"in_shape\[1\]=0: expected a positive integer"),
    (lambda: make_model("conv", (1, 8, 8), -1), ValueError,
     "num_classes=-1: expected a positive integer"),
    (lambda: make_model("conv", (1, 8, 8), 3)(_randn(1, 8, 8)), ValueError,
     r"input x: expected shape \(N, 1, H, W\), got \(1, 8, 8\)"),
    (lambda: make_model("conv", (1, 8, 8), 3)(_randn(2, 3, 8, 8)), ValueError,
     r"input x: expected shape \(N, 1, H, W\), got \(2, 3, 8, 8\)"),
    (lambda: make_model("conv", (1, 8, 8), 3, head="flatten")(_randn(2, 1, 10, 10)), ValueError,
     r"input x: expected shape \(N, 1, 8, 8\), got \(2, 1, 10, 10\)"),
    (lambda: make_model("dense", (1, 8, 8), 3)(_randn(2, 1, 8, 9)), ValueError,
     r"input x: expected shape \(N, 1, 8, 8\), got \(2, 1, 8, 9\)"),
    (lambda: make_model("local", (1, 8, 8), 3)([[0.0]]), TypeError,
     "input x: expected a torch.Tensor, got list"),
    (lambda: BlurPool2d(2, pad_mode="replicate"), ValueError,
     "pad_mode='replicate': expected one of 'circular', 'zeros', 'reflect'"),
    (lambda: BlurPool2d(0), ValueError, "channels=0: expected a positive integer"),
    (lambda: BlurPool2d(2)(_randn(1, 3, 8, 8)), ValueError,
     r"input x: expected shape \(N, 2, H, W\), got \(1, 3, 8, 8\)"),
    (lambda: LocallyConnected2d(1, 2, (8, 8), 3, padding="reflect"), ValueError,
     "padding='reflect': expected one of 'circular', 'zeros'"),
    (lambda: LocallyConnected2d(1, 2, (8, 6), 7), ValueError,
     "kernel_size=7: expected at most the input size 8x6"),
    (lambda: LocallyConnected2d(1, 2, (8, 8), 2), ValueError,
     "kernel_size=2: expected an odd integer"),
    (lambda: LocallyConnected2d(1, 2, (8, 8, 1), 3), TypeError,
     r"in_size=\(8, 8, 1\): expected a tuple of 2 positive integers"),
    (lambda: LocallyConnected2d.from_conv(nn.Linear(2, 2), 8), TypeError,
     "conv: expected an nn.Conv2d, got Linear"),
    (lambda: LocallyConnected2d.from_conv(nn.Conv2d(1, 2, 3, padding=1), 8, "circular"),
     ValueError, r"conv=Conv2d\(.*\): expected .* padding=1 and padding_mode='circular'"),
    (lambda: LocallyConnected2d.from_conv(nn.Conv2d(1, 2, 3, dilation=2, padding=1), 8),
     ValueError, "undilated"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_errors_name_the_argument_the_expectation_and_the_value(call, error, message):
    with pytest.raises(error, match=message):
        call()
