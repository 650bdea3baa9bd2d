"""Closed-form parameter counts of dense, locally-connected and conv layers and nets (exact ints).

Every count is a Python int (arbitrary precision), so a 4K frame needs no tensor at all.
"""
from __future__ import annotations

from torch import nn

from equidocs.models import KINDS, NetOptions, _one_of, _positive_int, _shape, block_sizes

# Named image sizes as (H, W): height first, like a tensor's (C, H, W) shape.
RESOLUTIONS: dict[str, tuple[int, int]] = {
    "MNIST 28x28": (28, 28),
    "CIFAR 32x32": (32, 32),
    "ImageNet 224x224": (224, 224),
    "1 MP 1000x1000": (1000, 1000),
    "12 MP phone photo 4000x3000": (3000, 4000),
    "4K frame 3840x2160": (2160, 3840),
}


def _ints(**named: object) -> list[int]:
    return [_positive_int(name, value) for name, value in named.items()]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters: the sum of p.numel() over parameters with requires_grad.

    >>> count_parameters(nn.Linear(10, 3))
    33
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def dense_unit_params(h: int, w: int, c_in: int) -> int:
    """Weights and bias of one dense unit reading an h x w x c_in image: h*w*c_in + 1.

    >>> dense_unit_params(200, 200, 3)  # CS231n's example: 120,000 weights, plus a bias
    120001
    """
    h, w, c_in = _ints(h=h, w=w, c_in=c_in)
    return h * w * c_in + 1


def dense_layer_params(h: int, w: int, c_in: int, c_out: int) -> int:
    """Dense layer, h x w x c_in image to h x w x c_out: (h*w*c_in)*(h*w*c_out) + h*w*c_out.

    >>> dense_layer_params(28, 28, 1, 1)
    615440
    """
    h, w, c_in, c_out = _ints(h=h, w=w, c_in=c_in, c_out=c_out)
    return (h * w * c_in) * (h * w * c_out) + h * w * c_out


def conv_layer_params(c_in: int, c_out: int, k: int) -> int:
    """A k x k conv layer from c_in to c_out channels, at any resolution: c_in*c_out*k*k + c_out.

    >>> conv_layer_params(1, 1, 5)
    26
    """
    c_in, c_out, k = _ints(c_in=c_in, c_out=c_out, k=k)
    return c_in * c_out * k * k + c_out


def local_layer_params(h: int, w: int, c_in: int, c_out: int, k: int) -> int:
    """A LocallyConnected2d with h x w output positions: h*w*(c_in*c_out*k*k + c_out).

    >>> local_layer_params(28, 28, 1, 1, 5)
    20384
    """
    h, w, c_in, c_out, k = _ints(h=h, w=w, c_in=c_in, c_out=c_out, k=k)
    return h * w * (c_in * c_out * k * k + c_out)


def net_params(kind: str, in_shape: tuple[int, int, int], num_classes: int,
               **options: object) -> int:
    """count_parameters(make_model(kind, in_shape, num_classes, **options)), without building it.

    >>> f"{net_params('dense', (3, 2160, 3840), 10, depth=1):,}"  # 4K: 256 units x 24.9M inputs
    '6,370,102,026'
    >>> net_params("conv", (1, 8, 8), 10, width=4, depth=1, kernel_size=3, head="flatten")
    2610
    """
    kind = _one_of("kind", kind, KINDS)
    c, h, w = _shape("in_shape", in_shape, 3)
    num_classes = _positive_int("num_classes", num_classes)
    o = NetOptions.from_dict(options)
    if kind == "dense":
        widths = [c * h * w] + [o.hidden] * o.depth + [num_classes]
        return sum(a * b + b for a, b in zip(widths, widths[1:]))
    c_ins, sizes = [c] + [o.width] * (o.depth - 1), block_sizes((h, w), o)  # ConvNet's checks
    if kind == "conv":
        layers = sum(conv_layer_params(c_in, o.width, o.kernel_size) for c_in in c_ins)
    else:
        layers = sum(local_layer_params(h_out, w_out, c_in, o.width, o.kernel_size)
                     for c_in, (h_out, w_out) in zip(c_ins, sizes))
    h_last, w_last = sizes[-1]
    features = o.width * (h_last * w_last if o.head == "flatten" else 1)  # the classifier's input
    return layers + features * num_classes + num_classes
