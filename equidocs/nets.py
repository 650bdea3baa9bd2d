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
POOLED = ("conv", "local")  # the nets whose readout is a global max over windows


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

    def windows(self, x: torch.Tensor) -> torch.Tensor:
        """The input's k x k windows as (L, N, C*k*k), the bmm's layout."""
        n, k = len(x), self.k
        cols = x.unfold(2, k, 1).unfold(3, k, 1)  # (N, C, Ho, Wo, k, k): views, no copy yet
        return cols.permute(2, 3, 0, 1, 4, 5).reshape(self.L, n, -1)  # (L, N, C*k*k), one copy

    def forward_lno(self, x: torch.Tensor) -> torch.Tensor:
        """The output as (L, N, out): the layout the bmm produces, before any copy."""
        return torch.baddbmm(self.bias[:, None, :], self.windows(x), self.weight)  # (L, N, out)

    def windows_last(self, x: torch.Tensor) -> torch.Tensor:
        """The windows as (L, C*k*k, N): the examples last, copied in runs of N contiguous numbers,
        several times faster than :meth:`windows`' runs of k (the bmm takes either layout; they can
        differ in the last bit)."""
        xt = x.permute(1, 2, 3, 0).contiguous()  # (C, H, W, N): a small copy
        cols = xt.unfold(1, self.k, 1).unfold(2, self.k, 1)  # (C, Ho, Wo, N, k, k), views
        return cols.permute(1, 2, 0, 4, 5, 3).reshape(self.L, -1, len(x))  # (L, C*k*k, N), one copy

    def window_max(self, x: torch.Tensor) -> torch.Tensor:
        """The output's max over windows, (N, out), with a sparse backward (:class:`WindowMax`)."""
        return WindowMax.apply(self.windows_last(x), self.weight, self.bias)

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


def first_max(y: torch.Tensor, row: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.max(y, 0)`` of y (L, N, C) whose L = rows x ``row`` windows: the values and the first
    arg-max, found as each row's max, then the best row, then the place in that row. The same answer
    as ``torch.max`` (tests/test_nets.py), in a quarter of its time on CPU, where reductions that
    return indices are slow.

    >>> y = torch.tensor([[1.0], [5.0], [2.0], [5.0]])[:, :, None]  # L = 4 = 2 rows x 2, N = C = 1
    >>> [t.flatten().tolist() for t in first_max(y, 2)]
    [[5.0], [1]]
    """
    L, n, c = y.shape
    if not isinstance(row, int) or isinstance(row, bool) or row < 1 or L % row:
        raise ValueError(f"first_max row={row!r}: expected a positive divisor of the {L} windows")
    blocks = y.unflatten(0, (L // row, row))  # (rows, row, N, C), a view
    values, best = blocks.amax(1).max(0)  # (N, C): the max and the first row that holds it
    in_row = blocks.gather(0, best.expand(1, row, n, c)).squeeze(0).max(0).indices  # (N, C)
    return values, best * row + in_row


class WindowMax(torch.autograd.Function):
    """max over windows l of y[l, n, o] = bias[l, o] + sum_j cols[l, j, n] * weight[l, j, o], for
    windows ``cols`` laid out (L, C*k*k, N) (:meth:`Local2d.windows_last`).

    The forward is :meth:`Local2d.forward_lno`'s batched matmul on this layout (equal to it up to the
    last bit), then a max over windows (:func:`first_max`). The backward sends each
    (example, filter)'s gradient to its arg-max window alone (on exact ties, the first), as max-pooling
    does, and computes the weight and bias gradients from those N x out windows only: a sparse update
    where autograd's ``amax`` backward builds dense (L, N, out) masks and a full batched matmul, most
    of the unshared-pooled net's training time at large L. Equal to ``amax``'s gradient except on exact
    ties, which ``amax`` splits evenly; sums of two or more contributions may differ in the last bit.

    >>> cols, w, b = torch.randn(9, 2, 3), torch.randn(9, 2, 4, requires_grad=True), torch.zeros(9, 4)
    >>> WindowMax.apply(cols, w, b).sum().backward()
    >>> w2 = w.detach().clone().requires_grad_()
    >>> torch.baddbmm(b[:, None], cols.transpose(1, 2), w2).amax(0).sum().backward()
    >>> torch.allclose(w.grad, w2.grad)
    True
    """

    @staticmethod
    def forward(ctx, cols: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        row = math.isqrt(len(cols))  # the windows form a square
        y = torch.baddbmm(bias[:, None, :], cols.transpose(1, 2), weight)  # (L, N, out)
        values, idx = first_max(y, row)  # (N, out) each
        ctx.save_for_backward(cols, weight, idx)
        return values

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        cols, weight, idx = ctx.saved_tensors
        L, fan_in, n = cols.shape
        out = weight.shape[2]
        new = dict(dtype=grad.dtype, device=grad.device)  # the tensors made here: beside the inputs
        rows = (idx * out + torch.arange(out, device=idx.device)).flatten()  # winner's row in an (L * out) table
        grad_cols = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            dense = torch.zeros(L, n, out, **new).scatter_(0, idx[None], grad[None])
            grad_cols = torch.bmm(weight, dense.transpose(1, 2))  # (L, fan_in, N)
        if ctx.needs_input_grad[1]:
            picked = cols[idx, :, torch.arange(n, device=idx.device)[:, None]] * grad[..., None]  # (N, out, fan_in)
            table = torch.zeros(L * out, fan_in, **new).index_add_(0, rows, picked.reshape(-1, fan_in))
            grad_weight = table.view(L, out, fan_in).transpose(1, 2).contiguous()
        if ctx.needs_input_grad[2]:
            grad_bias = torch.zeros(L * out, **new).index_add_(0, rows, grad.flatten()).view(L, out)
        return grad_cols, grad_weight, grad_bias


class WindowNet(nn.Module):
    """5x5 filters on the valid windows (shared: Conv2d; unshared: Local2d), ReLU, then a readout:
    ``pooled`` = global max over windows + Linear(width, K); ``flatten`` = Linear(width * L, K).
    ``sparse_max`` (pooled only): the max's gradient goes to the arg-max window alone, computed
    sparsely for unshared filters (:class:`WindowMax`), instead of ``amax``'s split among ties."""

    def __init__(self, shared: bool, readout: str, canvas: int, num_classes: int, width: int,
                 sparse_max: bool = False):
        super().__init__()
        if sparse_max and readout != "pooled":
            raise ValueError(f"WindowNet sparse_max=True: expected the pooled readout, got {readout!r}")
        self.readout, self.sparse_max, L = readout, sparse_max, positions(canvas)
        self.features = nn.Conv2d(1, width, GLYPH) if shared else Local2d(1, width, canvas)
        self.classifier = nn.Linear(width * (L if readout == "flatten" else 1), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # pooled: relu(max) == max(relu) (ReLU is monotone), with ReLU on N x width values only
        if isinstance(self.features, Local2d):
            if self.sparse_max:
                return self.classifier(F.relu(self.features.window_max(x)))  # (N, width) -> (N, K)
            f = self.features.forward_lno(x)  # (L, N, width)
            if self.readout == "pooled":
                return self.classifier(F.relu(f.amax(0)))  # (N, width) -> (N, K)
            return self.flatten_position_major(F.relu(f.transpose(0, 1).flatten(1)))
        f = self.features(x)  # (N, width, h, w)
        if self.sparse_max:  # max with indices: its backward scatters into the arg-max window
            return self.classifier(F.relu(f.flatten(2).max(2).values))
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
             hidden: int = 256, sparse_max: bool = False) -> nn.Module:
    """The ``arm`` net for canvas x canvas inputs (N, 1, S, S); ``width`` = filters (conv, local,
    their flatten variants, cnn_fc's first stage), ``hidden`` = units of dense / cnn_fc's head;
    ``sparse_max`` (conv, local only): see :class:`WindowNet`.

    >>> make_net("cnn_fc", 7, 4, width=4)(torch.zeros(2, 1, 7, 7)).shape
    torch.Size([2, 4])
    """
    if arm not in NETS:
        raise ValueError(f"arm={arm!r}: expected one of {NETS}")
    positions(canvas)
    for name, v in (("num_classes", num_classes), ("width", width), ("hidden", hidden)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"make_net {name}={v!r}: expected a positive integer")
    if not isinstance(sparse_max, bool) or (sparse_max and arm not in POOLED):
        raise ValueError(f"make_net sparse_max={sparse_max!r} for arm={arm!r}: expected False, or True "
                         f"for an arm with a max over windows {POOLED}")
    if arm == "dense":  # one hidden layer, as the published dense net
        return nn.Sequential(nn.Flatten(), nn.Linear(canvas * canvas, hidden), nn.ReLU(),
                             nn.Linear(hidden, num_classes))
    if arm == "cnn_fc":
        return cnn_fc(canvas, num_classes, width, hidden)
    shared, _, readout = arm.partition("_")
    return WindowNet(shared == "conv", readout or "pooled", canvas, num_classes, width, sparse_max)


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
