"""Closed-form counts against instantiated layers and nets (on the meta device when too big)."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from equidocs.models import KINDS, LocallyConnected2d, make_model
from equidocs.params import (RESOLUTIONS, conv_layer_params, count_parameters,
                             dense_layer_params, dense_unit_params, local_layer_params,
                             net_params)

DOWNSAMPLES = ["none", "stride", "maxpool", "blurpool"]


def test_count_parameters_counts_only_trainable_parameters():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    assert count_parameters(model) == sum(p.numel() for p in model.parameters()) == 23
    model[0].requires_grad_(False)
    assert count_parameters(model) == 3 * 2 + 2


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), c_in=st.integers(1, 4), c_out=st.integers(1, 4),
       k=st.sampled_from([1, 3, 5]))
def test_layer_formulas_equal_instantiated_layers(h, w, c_in, c_out, k):
    assert dense_layer_params(h, w, c_in, c_out) == count_parameters(
        nn.Linear(h * w * c_in, h * w * c_out))
    assert conv_layer_params(c_in, c_out, k) == count_parameters(nn.Conv2d(c_in, c_out, k))
    if k <= min(h, w):
        local = LocallyConnected2d(c_in, c_out, (h, w), k)
        assert local_layer_params(h, w, c_in, c_out, k) == count_parameters(local)
    # the ladder: a dense layer is h*w*c_out dense units; a local layer is h*w copies of a conv
    assert dense_layer_params(h, w, c_in, c_out) == h * w * c_out * dense_unit_params(h, w, c_in)
    assert local_layer_params(h, w, c_in, c_out, k) == h * w * conv_layer_params(c_in, c_out, k)


@pytest.mark.parametrize("downsample", DOWNSAMPLES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("in_shape, depth", [((1, 8, 8), 1), ((3, 12, 14), 3), ((2, 9, 13), 2)])
def test_net_params_equals_count_of_the_built_net(kind, downsample, in_shape, depth):
    options = dict(width=5, depth=depth, kernel_size=3, hidden=24, downsample=downsample)
    model = make_model(kind, in_shape, 7, **options)
    assert net_params(kind, in_shape, 7, **options) == count_parameters(model)


@pytest.mark.parametrize("downsample", DOWNSAMPLES)
@pytest.mark.parametrize("kind", ["conv", "local"])
@pytest.mark.parametrize("in_shape, depth", [((1, 8, 8), 1), ((3, 12, 14), 3), ((2, 9, 13), 2)])
def test_net_params_of_a_flatten_head_equals_count_of_the_built_net(kind, downsample, in_shape, depth):
    options = dict(width=5, depth=depth, kernel_size=3, downsample=downsample, head="flatten")
    model = make_model(kind, in_shape, 7, **options)
    assert net_params(kind, in_shape, 7, **options) == count_parameters(model)
    h, w = model.features(torch.zeros(1, *in_shape)).shape[2:]
    pooled = net_params(kind, in_shape, 7, **{**options, "head": "max"})
    assert net_params(kind, in_shape, 7, **options) - pooled == 5 * (h * w - 1) * 7


@pytest.mark.parametrize("kind", KINDS)
def test_net_params_at_4k_equals_a_meta_device_net(kind):
    in_shape = (3, *RESOLUTIONS["4K frame 3840x2160"])
    options = dict(depth=2, downsample="stride")
    with torch.device("meta"):  # shapes without memory: the oracle for counts too big to build
        model = make_model(kind, in_shape, 10, **options)
    assert net_params(kind, in_shape, 10, **options) == count_parameters(model)


def test_4k_layer_counts_without_tensors():
    h, w = RESOLUTIONS["4K frame 3840x2160"]
    with torch.device("meta"):
        dense, local = nn.Linear(h * w * 3, h * w * 3), LocallyConnected2d(3, 3, (h, w), 5)
    assert dense_layer_params(h, w, 3, 3) == count_parameters(dense) > 6 * 10**14
    assert local_layer_params(h, w, 3, 3, 5) == count_parameters(local)
    assert conv_layer_params(3, 3, 5) == 228


def test_dense_dwarfs_local_which_dwarfs_conv_at_imagenet_size():
    h, w = RESOLUTIONS["ImageNet 224x224"]
    dense, local, conv = (dense_layer_params(h, w, 3, 3), local_layer_params(h, w, 3, 3, 5),
                          conv_layer_params(3, 3, 5))
    assert dense > 1000 * local and local > 1000 * conv
    # whole nets: a 256-unit dense bottleneck can undercut a full-resolution local net, not a conv
    nets = {kind: net_params(kind, (3, h, w), 1000) for kind in KINDS}
    assert nets["dense"] > 1000 * nets["conv"] and nets["local"] > 1000 * nets["conv"]


def test_resolutions_are_named_height_width_pairs():
    assert RESOLUTIONS["12 MP phone photo 4000x3000"] == (3000, 4000)
    for name, (h, w) in RESOLUTIONS.items():
        assert f"{w}x{h}" in name and isinstance(h, int) and isinstance(w, int)


@pytest.mark.parametrize("call, error, message", [
    (lambda: dense_layer_params(0, 8, 1, 1), ValueError, "h=0: expected a positive integer"),
    (lambda: conv_layer_params(1, 2, 3.0), TypeError, "k=3.0: expected a positive integer"),
    (lambda: local_layer_params(8, 8, 1, -2, 3), ValueError, "c_out=-2: expected a positive"),
    (lambda: dense_unit_params(8, "8", 1), TypeError, "w='8': expected a positive integer"),
    (lambda: count_parameters("model"), TypeError, "model: expected an nn.Module, got str"),
    (lambda: net_params("mlp", (1, 8, 8), 2), ValueError, "kind='mlp': expected one of"),
    (lambda: net_params("conv", (1, 8, 8), 2, widht=3), TypeError,
     r"unknown option\(s\) 'widht': expected any of 'width'"),
    (lambda: net_params("local", (1, 8, 8), 2, kernel_size=9), ValueError,
     "kernel_size=9: expected at most the 8x8 input of block 0"),
    (lambda: net_params("conv", (1, 8, 8), 2, kernel_size=9), ValueError,
     "kernel_size=9: expected at most"),
    (lambda: net_params("dense", (1, 8), 2), TypeError, r"in_shape=\(1, 8\): expected a tuple"),
])
def test_errors_name_the_argument_the_expectation_and_the_value(call, error, message):
    with pytest.raises(error, match=message):
        call()
