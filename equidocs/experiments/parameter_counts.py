"""Parameter counts of one layer, dense vs locally connected vs conv, from MNIST size to a 4K frame.

Exact closed forms (equidocs.params), checked in the tests against instantiated layers where they fit
in memory. Nothing is trained: this is the arithmetic behind "one guard per window".
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt

from equidocs.experiments.formatting import fmt_int, fmt_sci
from equidocs.params import (RESOLUTIONS, conv_layer_params, dense_layer_params, dense_unit_params,
                             local_layer_params)
from equidocs.plotting import KIND_COLORS

TITLE = "Parameters of one layer: dense vs locally connected vs conv"


@dataclass(frozen=True)
class Config:
    c_in: int = 3       # input channels (RGB)
    c_out: int = 64     # output channels of the layer
    kernel: int = 3     # conv / locally-connected window
    resolutions: tuple = tuple(RESOLUTIONS)  # named (H, W) sizes from equidocs.params.RESOLUTIONS

    @classmethod
    def profile(cls, name: str) -> "Config":
        return cls()  # exact arithmetic: the same in every profile


def _slug(name: str) -> str:
    """Short key of a named resolution: "mnist", "imagenet", "1mp", "12mp", "4k"."""
    first, second = name.split()[:2]
    return (first + ("mp" if second == "MP" else "")).lower()


def run(cfg: Config, ctx) -> dict:
    rows = []
    for name in cfg.resolutions:
        h, w = RESOLUTIONS[name]
        rows.append({"name": name, "h": h, "w": w, "pixels": h * w,
                     "dense": dense_layer_params(h, w, cfg.c_in, cfg.c_out),
                     "local": local_layer_params(h, w, cfg.c_in, cfg.c_out, cfg.kernel),
                     "conv": conv_layer_params(cfg.c_in, cfg.c_out, cfg.kernel),
                     "dense_unit": dense_unit_params(h, w, cfg.c_in)})
    numbers = {"c_in": str(cfg.c_in), "c_out": str(cfg.c_out), "kernel": str(cfg.kernel),
               "cs231n_unit": fmt_int(dense_unit_params(200, 200, 3) - 1)}
    for row in rows:
        slug = _slug(row["name"])
        numbers[f"{slug}.pixels"] = fmt_int(row["pixels"])
        numbers[f"{slug}.dense"] = fmt_sci(row["dense"])
        numbers[f"{slug}.local"] = fmt_int(row["local"])
        numbers[f"{slug}.conv"] = fmt_int(row["conv"])
        numbers[f"{slug}.unit"] = fmt_int(row["dense_unit"])
        numbers[f"{slug}.local_over_conv"] = fmt_int(row["local"] / row["conv"])
        numbers[f"{slug}.dense_over_local"] = fmt_sci(row["dense"] / row["local"])
    caption = (f"Parameters of one layer mapping an H×W×{cfg.c_in} image to H×W×{cfg.c_out} "
               f"features: dense (every output unit reads every pixel), locally connected "
               f"({cfg.kernel}×{cfg.kernel} windows, separate weights per position) and conv (one "
               f"{cfg.kernel}×{cfg.kernel} kernel shared by all positions). Exact closed forms; no "
               f"training, so no seeds or error bars.")
    return {"rows": rows, "numbers": numbers, "caption": caption}


def figure(result: dict) -> plt.Figure:
    from equidocs.plotting import KIND_MARKERS, KIND_NAMES, SMALL_FONT, figsize, plain_log_axis

    rows = sorted(result["rows"], key=lambda r: r["pixels"])
    numbers = result["numbers"]
    fig, ax = plt.subplots(figsize=figsize(4.0), layout="constrained")
    pixels = [r["pixels"] for r in rows]
    for kind in ("dense", "local", "conv"):
        ax.plot(pixels, [r[kind] for r in rows], "-", marker=KIND_MARKERS[kind], color=KIND_COLORS[kind],
                label=f"{KIND_NAMES[kind]} layer")
    for i, r in enumerate(rows):  # short names, alternately below/above the dense line: neighbours don't collide
        words = r["name"].split()
        short = " ".join(words[:2]) if len(words) > 1 and words[1] == "MP" else words[0]
        below = i % 2 == 0
        ax.annotate(short, (r["pixels"], r["dense"]), textcoords="offset points",
                    xytext=(0, -9 if below else 8), ha="center", va="top" if below else "bottom",
                    fontsize=SMALL_FONT)
    ax.set(xscale="log", yscale="log", xlabel="pixels per image (H × W)",
           ylabel=f"parameters of one layer\n({numbers['c_in']} → {numbers['c_out']} channels)",
           title="One guard per window vs one guard for all")
    low, high = ax.get_ylim()
    ax.set_ylim(low / 3, max(r["dense"] for r in rows) * 8)  # room for the labels above the dense line
    plain_log_axis(ax.xaxis)
    plain_log_axis(ax.yaxis, words=True, every=3)
    fig.legend(loc="outside lower center", ncol=3)
    return fig
