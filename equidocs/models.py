"""Dense, locally-connected and convolutional nets, built by name with one constructor signature.

The three kinds are the ladder of the argument: a dense net (no locality, no sharing), a
locally-connected net (a conv net's small windows, but separate weights at every position) and a
conv net (locality + weight sharing = translation equivariance).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("conv", "local", "dense")
PADDINGS = ("circular", "zeros")
DOWNSAMPLES = ("none", "stride", "maxpool", "blurpool")
HEADS = ("avg", "max", "flatten")


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(map(repr, allowed))}")
    return value


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name}={value!r}: expected a positive integer")
    if value <= 0:
        raise ValueError(f"{name}={value!r}: expected a positive integer")
    return int(value)


def _odd_int(name: str, value: object) -> int:
    if _positive_int(name, value) % 2 == 0:
        raise ValueError(f"{name}={value!r}: expected an odd integer (a centred window)")
    return int(value)


def _shape(name: str, value: object, n: int) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise TypeError(f"{name}={value!r}: expected a tuple of {n} positive integers")
    return tuple(_positive_int(f"{name}[{i}]", v) for i, v in enumerate(value))


def _check_input(x: object, expected: tuple[int | str, ...]) -> None:
    """Raise unless x is a tensor of shape (N, *expected); a str entry ("H") matches any size."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input x: expected a torch.Tensor, got {type(x).__name__}")
    shape = tuple(x.shape)
    if len(shape) != len(expected) + 1 or any(
            isinstance(e, int) and e != s for e, s in zip(expected, shape[1:])):
        want = ", ".join(map(str, expected))
        raise ValueError(f"input x: expected shape (N, {want}), got {shape}")


@dataclass(frozen=True)
class NetOptions:
    """Options every kind accepts (and validates); a kind ignores those it does not use."""

    width: int = 16            # channels of every conv / local layer
    depth: int = 2             # conv / local blocks, or hidden dense layers
    kernel_size: int = 5       # odd side of the conv / local window
    padding: str = "circular"  # boundary of conv, local and pooling layers: "circular" or "zeros"
    downsample: str = "none"   # before every block but the first: none, stride, maxpool, blurpool
    hidden: int = 256          # units of every hidden dense layer
    head: str = "avg"          # conv / local readout: global "avg" / "max" pool, or "flatten" the map

    def __post_init__(self) -> None:
        for name in ("width", "depth", "hidden"):
            object.__setattr__(self, name, _positive_int(name, getattr(self, name)))
        object.__setattr__(self, "kernel_size", _odd_int("kernel_size", self.kernel_size))
        _one_of("padding", self.padding, PADDINGS)
        _one_of("downsample", self.downsample, DOWNSAMPLES)
        _one_of("head", self.head, HEADS)

    @classmethod
    def from_dict(cls, options: Mapping[str, object]) -> NetOptions:
        """NetOptions(**options), with a TypeError listing the valid names if one is unknown.

        >>> NetOptions.from_dict({"width": 8}).width
        8
        """
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise TypeError(f"unknown option(s) {', '.join(map(repr, unknown))}: "
                            f"expected any of {', '.join(map(repr, OPTION_NAMES))}")
        return cls(**options)


OPTION_NAMES = tuple(f.name for f in fields(NetOptions))


def block_sizes(in_hw: tuple[int, int], options: NetOptions) -> list[tuple[int, int]]:
    """Output (h, w) of each block; a downsampled block halves it (maxpool: h // 2, else ceil).

    >>> block_sizes((28, 28), NetOptions(depth=3, kernel_size=3, downsample="maxpool"))
    [(28, 28), (14, 14), (7, 7)]
    """
    (h, w), k, mode, sizes = in_hw, options.kernel_size, options.downsample, []
    for i in range(options.depth):
        out = (h, w)
        if i > 0 and mode != "none":
            out = (h // 2, w // 2) if mode == "maxpool" else ((h + 1) // 2, (w + 1) // 2)
        seen = (h, w) if mode == "stride" else out  # a strided layer reads the unhalved map
        if k > min(seen):
            raise ValueError(f"kernel_size={k}: expected at most the {seen[0]}x{seen[1]} input of "
                             f"block {i} (depth={options.depth}, downsample={mode!r})")
        sizes.append(out)
        h, w = out
    return sizes


class BlurPool2d(nn.Module):
    """Zhang's (2019) anti-aliased subsampling: blur by b b^T / sum(b)^2 (b binomial), then stride.

    >>> BlurPool2d(4)(torch.ones(1, 4, 8, 8)).shape
    torch.Size([1, 4, 4, 4])
    """

    def __init__(self, channels: int, filt_size: int = 3, stride: int = 2,
                 pad_mode: str = "circular") -> None:
        super().__init__()
        self.channels = _positive_int("channels", channels)
        self.filt_size = f = _positive_int("filt_size", filt_size)
        self.stride = _positive_int("stride", stride)
        self.pad_mode = _one_of("pad_mode", pad_mode, ("circular", "zeros", "reflect"))
        b = torch.tensor([math.comb(f - 1, i) for i in range(f)], dtype=torch.get_default_dtype())
        kernel = torch.outer(b, b) / b.sum() ** 2  # (f, f), sums to 1
        self.register_buffer("kernel", kernel.expand(self.channels, 1, f, f).contiguous())
        before = (f - 1) // 2  # an even filter pads one more pixel on the right / bottom
        self.pads = (before, f - 1 - before) * 2  # (left, right, top, bottom)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, (self.channels, "H", "W"))
        x = F.pad(x, self.pads, mode="constant" if self.pad_mode == "zeros" else self.pad_mode)
        return F.conv2d(x, self.kernel, stride=self.stride, groups=self.channels)


class LocallyConnected2d(nn.Module):
    """Conv windows, no sharing: y[n, o, l] = sum_j weight[l, o, j] * patch[n, j, l] + bias[o, l].

    weight is (L, out_channels, in_channels*k*k): l = i * W_out + j runs over output positions in
    row-major order, and the last axis runs over (channel, row, column) of the window like F.unfold
    and conv.weight.reshape(out_channels, -1). bias is (out_channels, H_out, W_out).

    >>> LocallyConnected2d(3, 8, (10, 10), kernel_size=3)(torch.zeros(2, 3, 10, 10)).shape
    torch.Size([2, 8, 10, 10])
    """

    def __init__(self, in_channels: int, out_channels: int, in_size: tuple[int, int] | int,
                 kernel_size: int, stride: int = 1, padding: str = "circular",
                 bias: bool = True) -> None:
        super().__init__()
        self.in_channels = _positive_int("in_channels", in_channels)
        self.out_channels = _positive_int("out_channels", out_channels)
        self.in_size = _shape("in_size", (in_size, in_size) if isinstance(in_size, Integral)
                              else in_size, 2)
        self.kernel_size = k = _odd_int("kernel_size", kernel_size)
        self.stride = s = _positive_int("stride", stride)
        self.padding = _one_of("padding", padding, PADDINGS)
        h, w = self.in_size
        if k > min(h, w):
            raise ValueError(f"kernel_size={k}: expected at most the input size {h}x{w}")
        self.out_size = ((h - 1) // s + 1, (w - 1) // s + 1)  # "same" padding k // 2
        positions = self.out_size[0] * self.out_size[1]
        fan_in = self.in_channels * k * k
        self.weight = nn.Parameter(torch.empty(positions, self.out_channels, fan_in))
        self.bias = nn.Parameter(torch.empty(self.out_channels, *self.out_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weight and bias from U(-b, b), b = 1/sqrt(in_channels*k*k), as nn.Conv2d does."""
        bound = 1 / math.sqrt(self.weight.shape[-1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, (self.in_channels, *self.in_size))
        p = self.kernel_size // 2
        x = F.pad(x, (p, p, p, p), mode="circular" if self.padding == "circular" else "constant")
        k, s, n = self.kernel_size, self.stride, x.shape[0]
        patches = x.unfold(2, k, s).unfold(3, k, s)  # (N, C_in, H_out, W_out, k, k)
        # One contiguous (L, N, C_in*k*k) block, so bmm needs no per-position copies.
        patches = patches.permute(2, 3, 0, 1, 4, 5).reshape(-1, n, self.weight.shape[-1])
        y = torch.bmm(patches, self.weight.transpose(1, 2))  # (L, N, C_out)
        y = y.permute(1, 2, 0).reshape(n, self.out_channels, *self.out_size)  # (N, C_out, H_out, W_out)
        return y if self.bias is None else y + self.bias

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, in_size: tuple[int, int] | int,
                  padding: str | None = None) -> LocallyConnected2d:
        """The map conv computes on in_size inputs: conv's kernel copied to every position (tied).

        >>> conv = nn.Conv2d(2, 4, 3, padding=1, padding_mode="circular")
        >>> x = torch.randn(1, 2, 6, 6)
        >>> torch.allclose(LocallyConnected2d.from_conv(conv, (6, 6))(x), conv(x), atol=1e-6)
        True
        """
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"conv: expected an nn.Conv2d, got {type(conv).__name__}")
        padding = _one_of("padding", conv.padding_mode if padding is None else padding, PADDINGS)
        (k, k_w), (s, s_w) = conv.kernel_size, conv.stride
        if (k != k_w or s != s_w or conv.groups != 1 or conv.dilation != (1, 1)
                or conv.padding not in ((k // 2, k // 2), "same") or conv.padding_mode != padding):
            raise ValueError(f"conv={conv}: expected a square, ungrouped, undilated kernel with "
                             f"padding={k // 2} and padding_mode={padding!r}")
        layer = cls(conv.in_channels, conv.out_channels, in_size, k, s, padding,
                    bias=conv.bias is not None).to(conv.weight.device, conv.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(conv.weight.reshape(conv.out_channels, -1).expand_as(layer.weight))
            if conv.bias is not None:
                layer.bias.copy_(conv.bias[:, None, None].expand_as(layer.bias))
        return layer


class _Net(nn.Module):
    """The constructor all kinds share: checks in_shape, num_classes and NetOptions, then builds."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int, *, width: int = 16,
                 depth: int = 2, kernel_size: int = 5, padding: str = "circular",
                 downsample: str = "none", hidden: int = 256, head: str = "avg") -> None:
        super().__init__()
        self.in_shape = _shape("in_shape", in_shape, 3)
        self.num_classes = _positive_int("num_classes", num_classes)
        self.options = NetOptions(width, depth, kernel_size, padding, downsample, hidden, head)
        self._build()

    def _build(self) -> None:
        raise NotImplementedError


class _SpatialNet(_Net):
    """depth x ([downsample] + layer + ReLU), then the head and a linear classifier.

    head "avg" / "max": global pooling, Linear(width, num_classes). head "flatten": the last
    (width, h, w) map flattened, Linear(width*h*w, num_classes): the readout sees where a feature
    fired, so it is not shift invariant.
    """

    def _layer(self, c_in: int, in_size: tuple[int, int], stride: int) -> nn.Module:
        raise NotImplementedError

    def _downsample(self, channels: int) -> list[nn.Module]:
        """Modules that halve the map before a block: MaxPool2d(2), or Zhang's MaxBlurPool.

        MaxBlurPool is a stride-1 2x2 max (padded one pixel right / bottom, so circular nets stay
        exactly equivariant up to the subsampling), then BlurPool2d(filt_size=3, stride=2).
        """
        o = self.options
        if o.downsample == "maxpool":
            return [nn.MaxPool2d(2)]
        if o.downsample == "blurpool":  # after ReLU (>= 0) a zero pad never changes a 2x2 max
            pad = (nn.CircularPad2d if o.padding == "circular" else nn.ZeroPad2d)((0, 1, 0, 1))
            return [pad, nn.MaxPool2d(2, stride=1), BlurPool2d(channels, 3, 2, o.padding)]
        return []

    def _build(self) -> None:
        o, channels, prev = self.options, self.in_shape[0], self.in_shape[1:]
        blocks = []
        for i, size in enumerate(block_sizes(prev, o)):
            stride = 2 if i > 0 and o.downsample == "stride" else 1
            pool = self._downsample(channels) if i > 0 else []
            layer = self._layer(channels, prev if stride == 2 else size, stride)
            blocks.append(nn.Sequential(*pool, layer, nn.ReLU()))
            channels, prev = o.width, size
        self.blocks = nn.Sequential(*blocks)
        features = o.width * (math.prod(prev) if o.head == "flatten" else 1)
        self.classifier = nn.Linear(features, self.num_classes)

    def _input_shape(self) -> tuple[int | str, ...]:
        return self.in_shape

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's feature map (N, width, h, w), before the head."""
        _check_input(x, self._input_shape())
        return self.blocks(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, head = self.features(x), self.options.head
        if head == "flatten":
            return self.classifier(f.flatten(1))  # (N, width*h*w) -> (N, num_classes)
        pooled = f.mean(dim=(2, 3)) if head == "avg" else f.amax(dim=(2, 3))
        return self.classifier(pooled)  # (N, width) -> (N, num_classes)


class ConvNet(_SpatialNet):
    """Conv blocks (locality + weight sharing), a head, a linear classifier.

    A pooled head ("avg", "max") reads any H x W input; "flatten" fixes the size to in_shape.

    >>> ConvNet((1, 28, 28), 10, downsample="blurpool")(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> ConvNet((1, 28, 28), 10, head="flatten").classifier.in_features  # width x 28 x 28
    12544
    """

    def _layer(self, c_in: int, in_size: tuple[int, int], stride: int) -> nn.Module:
        o = self.options
        return nn.Conv2d(c_in, o.width, o.kernel_size, stride=stride, padding=o.kernel_size // 2,
                         padding_mode=o.padding)

    def _input_shape(self) -> tuple[int | str, ...]:
        if self.options.head == "flatten":
            return self.in_shape  # the classifier reads exactly width x h x w features
        return (self.in_shape[0], "H", "W")  # shared weights and global pooling fit any size


class LocallyConnectedNet(_SpatialNet):
    """ConvNet with every Conv2d replaced by a LocallyConnected2d: locality without sharing.

    >>> LocallyConnectedNet((1, 12, 12), 10, width=4)(torch.zeros(2, 1, 12, 12)).shape
    torch.Size([2, 10])
    """

    def _layer(self, c_in: int, in_size: tuple[int, int], stride: int) -> nn.Module:
        o = self.options
        return LocallyConnected2d(c_in, o.width, in_size, o.kernel_size, stride, o.padding)


class DenseNet(_Net):
    """Flatten, depth x (Linear(., hidden) + ReLU), Linear(hidden, num_classes): no locality at all.

    >>> DenseNet((1, 28, 28), 10, hidden=64)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def _build(self) -> None:
        o = self.options
        widths = [math.prod(self.in_shape)] + [o.hidden] * o.depth
        layers = [m for a, b in zip(widths, widths[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
        self.body = nn.Sequential(nn.Flatten(), *layers, nn.Linear(o.hidden, self.num_classes))

    @property
    def first_layer(self) -> nn.Linear:
        """The first nn.Linear; weight[u].reshape(in_shape) is what hidden unit u looks at."""
        return self.body[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_shape)
        return self.body(x)


_CLASSES = {"conv": ConvNet, "local": LocallyConnectedNet, "dense": DenseNet}


def make_model(kind: str, in_shape: tuple[int, int, int], num_classes: int,
               **options: object) -> nn.Module:
    """Build the kind ("conv", "local" or "dense") net; every kind takes the same NetOptions.

    >>> make_model("local", (1, 8, 8), 10, width=4, kernel_size=3)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    cls = _CLASSES[_one_of("kind", kind, KINDS)]
    NetOptions.from_dict(options)  # unknown names -> TypeError listing the valid ones
    return cls(in_shape, num_classes, **options)
