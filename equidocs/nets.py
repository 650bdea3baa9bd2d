"""The mechanism study's nets: {shared, unshared} 5x5 filters x {pooled, flatten} readout, a dense
net, and a hierarchical CNN with a fully connected head. One constructor: :func:`make_net`.

Windows. :func:`equidocs.data.pattern_canvas` pastes every 5x5 glyph fully inside the canvas (its
top-left corner is drawn from rows and columns ``0..S-5``; nothing wraps), so a glyph can sit at
exactly ``(S-4)^2`` places. The conv and locally-connected layers therefore use the ``(S-4)^2``
*valid* 5x5 windows (no padding, no wrapped windows): every window is a place a glyph can be, so no
unshared filter sits where the glyph never is, and conv and local see identical windows.

Readout. ``pooled`` takes the global max over the windows, then a linear layer on the ``width``
channels. Max, not mean: the glyph occupies one window, so a mean would dilute its response by
``1/positions`` against the noise of every other window, a handicap that grows with the canvas;
the max is the detector "present anywhere". With shared filters it is exactly invariant to moving
the glyph between positions at least 4 pixels from every edge; at the border the windows that would
overlap the glyph from outside the canvas are missing, so there it is invariant only approximately
(exactly only with padding k-1, which would add windows where no glyph can sit). ``flatten`` is a linear layer over ``width x positions``
features: it knows where every feature fired (position-aware, not invariant).

>>> net = make_net("local", 8, 4, width=4)
>>> net(torch.zeros(2, 1, 8, 8)).shape, count_params(net) == param_count("local", 8, 4, width=4)
(torch.Size([2, 4]), True)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GLYPH = 5  # side of the glyph and of every first-layer window
ARMS = ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser")
NETS = ARMS[:-1]  # the memoriser is a 1-nearest-neighbour lookup, not a net


def positions(canvas: int, k: int = GLYPH) -> int:
    """Places a k x k glyph (and a valid k x k window) can take on a canvas x canvas image: (S-k+1)^2.

    >>> positions(6), positions(24)
    (4, 400)
    """
    if not isinstance(canvas, int) or isinstance(canvas, bool) or canvas < k:
        raise ValueError(f"canvas={canvas!r}: expected an integer >= {k} (the glyph side)")
    return (canvas - k + 1) ** 2


class Local2d(nn.Module):
    """Locally connected layer on the valid k x k windows: one batched matmul over positions.

    y[n, o, l] = sum_j x_unfold[n, j, l] * weight[l, j, o] + bias[l, o], l over the L = (H-k+1)(W-k+1)
    windows in row-major order, j over (channel, row, column) of a window as F.unfold orders it.

    >>> Local2d(1, 8, 10)(torch.zeros(3, 1, 10, 10)).shape
    torch.Size([3, 8, 6, 6])
    """

    def __init__(self, in_channels: int, out_channels: int, in_size: int, kernel_size: int = GLYPH):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("kernel_size", kernel_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Local2d {name}={v!r}: expected a positive integer")
        self.k, self.out_channels, self.in_size = kernel_size, out_channels, in_size
        self.out_side = in_size - kernel_size + 1
        self.L = positions(in_size, kernel_size)
        fan_in = in_channels * kernel_size ** 2
        bound = 1 / math.sqrt(fan_in)  # nn.Conv2d's default init range
        self.weight = nn.Parameter(torch.empty(self.L, fan_in, out_channels).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(self.L, out_channels).uniform_(-bound, bound))

    def forward_lno(self, x: torch.Tensor) -> torch.Tensor:
        """The output as (L, N, out): the layout the bmm produces, before any copy."""
        n, k = len(x), self.k
        cols = x.unfold(2, k, 1).unfold(3, k, 1)  # (N, C, Ho, Wo, k, k): views, no copy yet
        cols = cols.permute(2, 3, 0, 1, 4, 5).reshape(self.L, n, -1)  # (L, N, C*k*k), one copy
        return torch.baddbmm(self.bias[:, None, :], cols, self.weight)  # (L, N, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.forward_lno(x)  # (L, N, out)
        return y.permute(1, 2, 0).reshape(len(x), self.out_channels, self.out_side, self.out_side)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, in_size: int) -> "Local2d":
        """conv's kernel and bias copied to every window (all positions tied): equals conv, padding 0."""
        layer = cls(conv.in_channels, conv.out_channels, in_size, conv.kernel_size[0])
        with torch.no_grad():
            layer.weight.copy_(conv.weight.reshape(conv.out_channels, -1).T.expand_as(layer.weight))
            layer.bias.copy_(conv.bias.expand_as(layer.bias))
        return layer


class WindowNet(nn.Module):
    """5x5 filters on the valid windows (shared: Conv2d; unshared: Local2d), ReLU, then a readout:
    ``pooled`` = global max over windows + Linear(width, K); ``flatten`` = Linear(width * L, K)."""

    def __init__(self, shared: bool, readout: str, canvas: int, num_classes: int, width: int):
        super().__init__()
        self.readout, L = readout, positions(canvas)
        self.features = nn.Conv2d(1, width, GLYPH) if shared else Local2d(1, width, canvas)
        self.classifier = nn.Linear(width * (L if readout == "flatten" else 1), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # pooled: relu(max) == max(relu) (ReLU is monotone), with ReLU on N x width values only
        if isinstance(self.features, Local2d):
            f = self.features.forward_lno(x)  # (L, N, width)
            if self.readout == "pooled":
                return self.classifier(F.relu(f.amax(0)))  # (N, width) -> (N, K)
            return self.flatten_position_major(F.relu(f.transpose(0, 1).flatten(1)))
        f = self.features(x)  # (N, width, h, w)
        if self.readout == "pooled":
            return self.classifier(F.relu(f.amax(dim=(2, 3))))  # (N, width) -> (N, K)
        return self.classifier(F.relu(f).flatten(1))  # (N, width * L)


    def flatten_position_major(self, h: torch.Tensor) -> torch.Tensor:
        """The flatten readout of features ``h`` laid out position-major, (N, L * width), as the
        batched matmul leaves them: the same linear map as ``classifier`` on the channel-major
        (N, width * L) features, with the (small) weight permuted instead of the (large) features.
        Moving the features into channel-major order took more time than the whole matmul."""
        k, w = self.classifier.out_features, self.features.out_channels
        weight = self.classifier.weight.view(k, w, -1).transpose(1, 2).reshape(k, -1)  # (K, L * width)
        return F.linear(h, weight, self.classifier.bias)


def cnn_fc(canvas: int, num_classes: int, width: int, hidden: int) -> nn.Sequential:
    """LeNet/VGG style: [conv 5x5 'same' -> ReLU -> 2x2 max-pool] -> [conv 3x3 (2 width) -> ReLU ->
    2x2 max-pool] -> flatten -> Linear(hidden) -> ReLU -> Linear(K). Pools round up (ceil_mode)."""
    side = math.ceil(math.ceil(canvas / 2) / 2)
    return nn.Sequential(
        nn.Conv2d(1, width, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Flatten(), nn.Linear(2 * width * side * side, hidden), nn.ReLU(),
        nn.Linear(hidden, num_classes))


def make_net(arm: str, canvas: int, num_classes: int, *, width: int = 32,
             hidden: int = 256) -> nn.Module:
    """The ``arm`` net for canvas x canvas inputs (N, 1, S, S); ``width`` = filters (conv, local,
    their flatten variants, cnn_fc's first stage), ``hidden`` = units of dense / cnn_fc's head.

    >>> make_net("cnn_fc", 7, 4, width=4)(torch.zeros(2, 1, 7, 7)).shape
    torch.Size([2, 4])
    """
    if arm not in NETS:
        raise ValueError(f"arm={arm!r}: expected one of {NETS}")
    positions(canvas)
    for name, v in (("num_classes", num_classes), ("width", width), ("hidden", hidden)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"make_net {name}={v!r}: expected a positive integer")
    if arm == "dense":  # one hidden layer, as the published dense net
        return nn.Sequential(nn.Flatten(), nn.Linear(canvas * canvas, hidden), nn.ReLU(),
                             nn.Linear(hidden, num_classes))
    if arm == "cnn_fc":
        return cnn_fc(canvas, num_classes, width, hidden)
    shared, _, readout = arm.partition("_")
    return WindowNet(shared == "conv", readout or "pooled", canvas, num_classes, width)


def param_count(arm: str, canvas: int, num_classes: int, *, width: int = 32, hidden: int = 256) -> int:
    """Closed-form trainable parameters of :func:`make_net` (L = positions, K = classes, w = width).

    conv: 26w + (w+1)K; local: 26wL + (w+1)K; conv_flatten: 26w + wLK + K; local_flatten: 26wL + wLK + K;
    dense: (S^2+1)h + (h+1)K; cnn_fc: 26w + 2w(9w+1) + (2w s^2 + 1)h + (h+1)K, s = ceil(S/4).

    >>> param_count("conv", 6, 4, width=8), param_count("dense", 24, 4, hidden=256)
    (244, 148740)
    """
    L, K, w, h = positions(canvas), num_classes, width, hidden
    filters = 26 * w * (L if arm.startswith("local") else 1)
    if arm in ("conv", "local"):
        return filters + (w + 1) * K
    if arm in ("conv_flatten", "local_flatten"):
        return filters + w * L * K + K
    if arm == "dense":
        return (canvas * canvas + 1) * h + (h + 1) * K
    if arm == "cnn_fc":
        s = math.ceil(math.ceil(canvas / 2) / 2)
        return 26 * w + 2 * w * (9 * w + 1) + (2 * w * s * s + 1) * h + (h + 1) * K
    raise ValueError(f"arm={arm!r}: expected one of {NETS}")


def count_params(net: nn.Module) -> int:
    """Trainable parameters of a built net: sum of p.numel().

    >>> count_params(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
