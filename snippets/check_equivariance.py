"""Check numerically that a conv layer is translation-equivariant and a dense layer is not."""
import torch

from equidocs.equivariance import equivariance_error
from equidocs.models import make_model

torch.manual_seed(0)
x = torch.rand(4, 1, 16, 16)  # four random 16x16 images
conv = make_model("conv", (1, 16, 16), 4, depth=2, padding="circular")
local = make_model("local", (1, 16, 16), 4, depth=2, padding="circular")

for name, net in [("conv", conv), ("locally connected", local)]:
    err = equivariance_error(net.features, x, dy=3, dx=-2)  # ||f(Sx) - S f(x)|| / ||f(x)||
    print(f"{name:>18}: equivariance error {err:.1e}")
