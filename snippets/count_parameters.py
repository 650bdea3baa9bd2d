"""Parameters of one layer at 4K resolution: dense vs locally connected vs conv (exact)."""
from equidocs.params import conv_layer_params, dense_layer_params, local_layer_params

h, w = 2160, 3840  # a 4K video frame, RGB in, 64 feature maps out, 3x3 windows
print(f"dense layer:             {dense_layer_params(h, w, 3, 64):.2e}")
print(f"locally connected layer: {local_layer_params(h, w, 3, 64, 3):,}")
print(f"conv layer:              {conv_layer_params(3, 64, 3):,}")
