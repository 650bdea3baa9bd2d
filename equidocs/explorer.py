"""Trained models as JSON for the site's explorer, and back: the page runs these exact weights.

A model is exported as its kind, input shape, class count, constructor options and every tensor of
its ``state_dict`` (float32, little-endian, base64-encoded, with its shape). The explorer
(docs/assets/javascripts/explorer.js) runs the forward pass on them in the browser;
:func:`load_models` rebuilds the same torch modules with :func:`equidocs.models.make_model`, so a
test can compare the two.

An exported kind names the net and its readout: "conv", "local" and "dense" as in
:mod:`equidocs.models`, and "conv_flatten" / "local_flatten" for a conv or local net whose head is
``head="flatten"`` (a linear readout over every position's features, see ``_SpatialNet``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from equidocs.models import ConvNet, DenseNet, LocallyConnectedNet, make_model

FORMAT = 1  # version of the exported layout; bump it when the layout changes
_KINDS = {ConvNet: "conv", LocallyConnectedNet: "local", DenseNet: "dense"}
FLATTEN = "_flatten"  # suffix of an exported kind whose readout is head="flatten"
EXPORTED_KINDS = ("conv", "local", "dense", "conv" + FLATTEN, "local" + FLATTEN)


def net_of(kind: str) -> tuple[str, dict]:
    """The :func:`make_model` kind and the options an exported kind fixes.

    >>> net_of("conv_flatten"), net_of("dense")
    (('conv', {'head': 'flatten'}), ('dense', {}))
    """
    if kind not in EXPORTED_KINDS:
        raise ValueError(f"kind={kind!r}: expected one of {', '.join(map(repr, EXPORTED_KINDS))}")
    if kind.endswith(FLATTEN):
        return kind[:-len(FLATTEN)], {"head": "flatten"}
    return kind, {}


def encode(tensor: torch.Tensor) -> dict:
    """A tensor as {"shape": [...], "data": base64 of its float32 little-endian bytes}.

    >>> encode(torch.tensor([1.0, 2.0]))
    {'shape': [2], 'data': 'AACAPwAAAEA='}
    """
    array = tensor.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4")
    return {"shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode(entry: dict) -> torch.Tensor:
    """The tensor that :func:`encode` wrote (float32), bit for bit.

    >>> decode(encode(torch.tensor([[0.1, -2.5]])))
    tensor([[ 0.1000, -2.5000]])
    """
    shape = [int(s) for s in entry["shape"]]
    array = np.frombuffer(base64.b64decode(entry["data"]), dtype="<f4")
    if array.size != int(np.prod(shape)):
        raise ValueError(f"tensor data: expected {int(np.prod(shape))} float32 values for shape "
                         f"{shape}, got {array.size}")
    return torch.from_numpy(array.astype(np.float32).reshape(shape))


def export_model(model: nn.Module) -> dict:
    """A conv, local or dense net as JSON data: kind, in_shape, num_classes, options, tensors.

    The kind is the exported one: a conv or local net with ``head="flatten"`` is "conv_flatten" or
    "local_flatten".

    >>> model = make_model("conv", (1, 12, 12), 4, depth=1, width=2)
    >>> sorted(export_model(model)["tensors"]), export_model(model)["kind"]
    (['blocks.0.0.bias', 'blocks.0.0.weight', 'classifier.bias', 'classifier.weight'], 'conv')
    """
    kind = _KINDS.get(type(model))
    if kind is None:
        raise TypeError(f"model: expected a ConvNet, LocallyConnectedNet or DenseNet, got "
                        f"{type(model).__name__}")
    if kind != "dense" and model.options.head == "flatten":
        kind += FLATTEN
    return {"kind": kind, "in_shape": list(model.in_shape), "num_classes": model.num_classes,
            "options": asdict(model.options),
            "tensors": {name: encode(t) for name, t in model.state_dict().items()}}


def import_model(entry: dict) -> nn.Module:
    """The torch module that :func:`export_model` described, in eval mode, with its exact weights.

    >>> model = make_model("dense", (1, 6, 6), 4, hidden=8)
    >>> x = torch.randn(3, 1, 6, 6)
    >>> torch.equal(import_model(export_model(model))(x), model(x))
    True
    """
    net, fixed = net_of(entry["kind"])
    if any(entry["options"].get(k) != v for k, v in fixed.items()) or (
            net != "dense" and not fixed and entry["options"].get("head") == "flatten"):
        raise ValueError(f"kind={entry['kind']!r}: options {entry['options']} disagree with it "
                         f"(head={entry['options'].get('head')!r})")
    model = make_model(net, tuple(entry["in_shape"]), entry["num_classes"], **entry["options"])
    model.load_state_dict({name: decode(t) for name, t in entry["tensors"].items()}, strict=True)
    return model.eval()


def load_models(path: str | Path) -> dict[tuple[str, int, int], nn.Module]:
    """{(kind, n, seed): model} from an exported weights file (``{"models": [entries...]}``).

    kind is the exported kind (:data:`EXPORTED_KINDS`), e.g. ("conv_flatten", 512, 0).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "w.json"
    >>> _ = path.write_text(json.dumps({"models": [{"n": 64, "seed": 0, **export_model(
    ...     make_model("local", (1, 8, 8), 4, width=2, kernel_size=3))}]}))
    >>> list(load_models(path))
    [('local', 64, 0)]
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ValueError(f"{path}: expected a JSON object with a 'models' list")
    if data.get("format", FORMAT) != FORMAT:
        raise ValueError(f"{path}: format {data['format']!r}, expected {FORMAT}")
    return {(e["kind"], int(e["n"]), int(e["seed"])): import_model(e) for e in data["models"]}
