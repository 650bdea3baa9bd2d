"""The "Train it yourself" page's trainer (docs/assets/javascripts/trainer.js), run in Node, against
torch: the loss and every gradient of its conv net (Conv2d without padding, ReLU, max over
positions, Linear) and dense net (Linear, ReLU, Linear), and Adam's steps, must be torch's within a
relative 1e-4. Its task must be the site's: equidocs.data's glyphs and regions, amnesia's canvas
and noise, the explorer's class names. And one training run in Node: deterministic for a seed, and
the conv net ahead outside the trained corner.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from equidocs.data import REGION_NAMES, glyphs, pattern_canvas, region
from equidocs.experiments import amnesia, explorer_models

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "assets" / "javascripts" / "trainer.js"
RTOL = 1e-4          # relative error of a loss, gradient or parameter, against torch in float64
MAX_BYTES = 40_000   # the whole script (TF.js's core alone is ~1 MB minified)


def node(program: str, payload=None):
    """Run `program` in Node with `core` (trainer.js's exports) and `input` (the payload) defined;
    the program calls out(value) once; returns that value."""
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("node is missing: install Node.js (scripts/setup.sh needs it for the site too)", pytrace=False)
    prelude = (f"const core = require({json.dumps(str(SCRIPT))});"
               "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
               "const out = (v) => process.stdout.write(JSON.stringify(v));")
    done = subprocess.run([binary, "-e", prelude + program], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, f"node failed:\n{done.stderr}"
    return json.loads(done.stdout)


def assert_close(name: str, got, want: torch.Tensor) -> None:
    """|got - want| <= RTOL * max|want|, elementwise (a gradient entry near zero is judged on its
    tensor's scale)."""
    got = torch.tensor(np.asarray(got, dtype=np.float64)).reshape(want.shape)
    scale = float(want.abs().max())
    error = float((got - want).abs().max())
    assert error <= RTOL * max(scale, 1e-12), f"{name}: max |js - torch| = {error:.3g}, scale {scale:.3g}"


# --- forward and backward against torch ------------------------------------------------------

FORWARD_BACKWARD = """
  const make = input.kind === "conv" ? core.convNet : core.denseNet;
  const net = make(core.TASK, core.DEFAULTS, core.stream(input.seed, 4));
  const params = {};
  net.params.forEach((p) => { params[p.name] = {shape: p.shape, data: Array.from(p.data)}; });
  if (input.params) net.params.forEach((p) => p.data.set(input.params[p.name]));
  const x = Float32Array.from(input.x), y = Int32Array.from(input.y);
  const grads = net.params.map((p) => new Float32Array(p.data.length));
  const idx = input.idx ? Int32Array.from(input.idx) : undefined;
  const loss = core.forwardBackward(net, x, y, grads, idx);
  out({loss, params, grads: Object.fromEntries(net.params.map((p, i) => [p.name, Array.from(grads[i])]))});
"""


def torch_net(kind: str, params: dict) -> tuple[torch.nn.Module, dict]:
    """The torch twin (float64) of a trainer.js net, holding its weights; and {JS name: tensor}."""
    t = {name: torch.tensor(p["data"], dtype=torch.float64).reshape(p["shape"]) for name, p in params.items()}
    if kind == "conv":
        width, k = t["conv.weight"].shape[0], t["conv.weight"].shape[-1]
        conv, fc = torch.nn.Conv2d(1, width, k, padding=0), torch.nn.Linear(width, t["fc.weight"].shape[0])
        model = torch.nn.ModuleDict({"conv": conv, "fc": fc}).double()
    else:
        hidden, d = t["fc1.weight"].shape
        model = torch.nn.ModuleDict({"fc1": torch.nn.Linear(d, hidden),
                                     "fc2": torch.nn.Linear(hidden, t["fc2.weight"].shape[0])}).double()
    with torch.no_grad():
        for name, value in t.items():
            model.get_parameter(name).copy_(value)
    return model, {name: model.get_parameter(name) for name in t}


def torch_logits(kind: str, model, x: torch.Tensor) -> torch.Tensor:
    if kind == "conv":                               # (B, 1, C, C) -> (B, W, S, S) -> (B, W)
        features = F.relu(model["conv"](x)).amax(dim=(2, 3))
        return model["fc"](features)
    return model["fc2"](F.relu(model["fc1"](x.flatten(1))))   # (B, C*C) -> (B, H) -> (B, K)


@pytest.fixture(scope="module")
def batch():
    """Six canvases of the site's task (equidocs.data), as float32 values."""
    ds = pattern_canvas(6, 12, where="anywhere", noise=0.1, seed=3)
    return ds.x.float(), ds.y


@pytest.mark.parametrize("kind", ["conv", "dense"])
@pytest.mark.parametrize("subset", [None, [4, 0, 2]], ids=["all", "minibatch"])
def test_loss_and_every_gradient_match_torch(kind, subset, batch):
    x, y = batch
    got = node(FORWARD_BACKWARD, {"kind": kind, "seed": 7, "x": x.flatten().tolist(), "y": y.tolist(), "idx": subset})
    model, params = torch_net(kind, got["params"])
    rows = torch.tensor(subset) if subset else torch.arange(len(y))
    loss = F.cross_entropy(torch_logits(kind, model, x.double()[rows]), y[rows])
    loss.backward()
    assert_close(f"{kind} loss", [got["loss"]], loss.detach().reshape(1))
    assert set(got["grads"]) == set(params)
    for name, p in params.items():
        assert float(p.grad.abs().max()) > 0, f"{name}: torch's gradient is zero; the test would be empty"
        assert_close(f"{kind} grad {name}", got["grads"][name], p.grad)


def test_conv_gradient_with_a_dead_filter_matches_torch(batch):
    """A filter whose response is negative everywhere gets no gradient (ReLU before the max)."""
    x, y = batch
    first = node(FORWARD_BACKWARD, {"kind": "conv", "seed": 1, "x": x.flatten().tolist(), "y": y.tolist()})
    params = {name: p["data"] for name, p in first["params"].items()}
    params["conv.bias"][0] = -50.0
    got = node(FORWARD_BACKWARD, {"kind": "conv", "seed": 1, "x": x.flatten().tolist(), "y": y.tolist(),
                                  "params": params})
    model, tensors = torch_net("conv", {n: {"shape": p["shape"], "data": params[n]}
                                        for n, p in first["params"].items()})
    F.cross_entropy(torch_logits("conv", model, x.double()), y).backward()
    assert not any(got["grads"]["conv.weight"][:25]), "the dead filter got a gradient"
    for name, p in tensors.items():
        assert_close(f"grad {name}", got["grads"][name], p.grad)


def test_init_is_torchs_default_range():
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as torch's Conv2d and Linear draw their weights and biases."""
    got = node(FORWARD_BACKWARD, {"kind": "dense", "seed": 0, "x": [0.0] * 144, "y": [0]})
    fans = {"fc1.weight": 144, "fc1.bias": 144, "fc2.weight": 256, "fc2.bias": 256}
    for name, fan in fans.items():
        values, bound = np.array(got["params"][name]["data"]), 1 / np.sqrt(fan)
        assert np.abs(values).max() <= bound, name
        if values.size >= 100:                   # uniform: spread to the bound, std = bound / sqrt(3)
            assert np.abs(values).max() > 0.95 * bound and abs(values.std() * np.sqrt(3) / bound - 1) < 0.1, name


# --- Adam -------------------------------------------------------------------------------------------

ADAM = """
  const params = input.params.map((p) => ({name: p.name, shape: [p.data.length], data: Float32Array.from(p.data)}));
  const state = core.adam(params, input.lr);
  for (const g of input.grads) core.adamStep(params, g.map((a) => Float32Array.from(a)), state);
  out(params.map((p) => Array.from(p.data)));
"""


def test_adam_steps_match_torch_optim_adam():
    gen = torch.Generator().manual_seed(0)
    shapes, lr, steps = [(8, 25), (8,), (4, 8)], 0.03, 4
    start = [torch.randn(s, generator=gen).float().double() for s in shapes]
    grads = [[torch.randn(s, generator=gen).float().double() * 10 ** -k for k, s in enumerate(shapes)]
             for _ in range(steps)]
    got = node(ADAM, {"lr": lr, "params": [{"name": str(i), "data": p.flatten().tolist()} for i, p in enumerate(start)],
                      "grads": [[g.flatten().tolist() for g in step] for step in grads]})
    params = [p.clone().requires_grad_(True) for p in start]
    optimiser = torch.optim.Adam(params, lr=lr)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = g.clone()
        optimiser.step()
    for i, p in enumerate(params):
        assert_close(f"Adam, parameter {i}", got[i], p.detach())


# --- the task is the site's --------------------------------------------------------------------

TASK = """
  const regions = {};
  for (const name of input.names) regions[name] = core.region(name, input.canvas, 5);
  const reg = core.region("bottom-right", 12, 5);
  const inPos = core.positions(reg, 12, 5, false), outPos = core.positions(reg, 12, 5, true);
  const set = core.makeSet(core.TASK, 400, outPos, core.stream(0, 1));
  out({task: core.TASK, glyphs: core.glyphBank(core.TASK).map((g) => Array.from(g)), regions,
       inPos: Array.from(inPos), outPos: Array.from(outPos),
       set: {x: Array.from(set.x), y: Array.from(set.y), pos: Array.from(set.pos)}});
"""


@pytest.fixture(scope="module")
def task():
    return node(TASK, {"names": [n for n in REGION_NAMES if n != "center"], "canvas": 12})


def test_the_task_is_the_sites(task):
    t = task["task"]
    site = amnesia.Config.profile("full").task
    assert (t["canvas"], t["noise"], t["pattern"]) == (site["canvas"], site["noise"], explorer_models.PATTERN)
    assert t["classes"] == list(explorer_models.CLASSES)
    want = glyphs(len(t["classes"]), t["pattern"]).flatten(1)
    assert_close("glyphs", task["glyphs"], want.double())
    assert np.allclose(task["glyphs"], want.numpy(), rtol=0, atol=1e-7)


def test_regions_are_equidocs_data_regions(task):
    for name, got in task["regions"].items():
        r = region(name, 12, 5)
        assert got == {"top": r.top, "left": r.left, "height": r.height, "width": r.width}, name
    inside = np.array(task["inPos"]).reshape(-1, 2)
    outside = np.array(task["outPos"]).reshape(-1, 2)
    assert len(inside) == 16 and len(outside) == 64 - 16
    assert region("bottom-right", 12, 5).contains(torch.tensor(inside)).all()
    assert not region("bottom-right", 12, 5).contains(torch.tensor(outside)).any()


def test_a_data_set_is_glyphs_at_its_positions_plus_the_noise(task):
    s, bank = task["set"], glyphs(4, 5)
    x = np.array(s["x"]).reshape(-1, 12, 12)
    y, pos = np.array(s["y"]), np.array(s["pos"]).reshape(-1, 2)
    assert np.bincount(y).tolist() == [100] * 4, "classes balanced"
    assert not region("bottom-right", 12, 5).contains(torch.tensor(pos)).any(), "placed outside, as asked"
    noise = x.copy()
    for i, (r, c) in enumerate(pos):
        noise[i, r:r + 5, c:c + 5] -= bank[y[i]].numpy()
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - task["task"]["noise"]) < 0.005
    assert len({tuple(p) for p in pos}) == 48, "every outside position is drawn"


# --- training, in Node ---------------------------------------------------------------------------

TRAIN = """
  (async () => {
    const first = await core.train(input.options);
    const again = input.again ? await core.train(input.options) : null;
    const strip = (r) => JSON.stringify(Object.fromEntries(Object.entries(r.nets).map(([k, v]) =>
      [k, {curve: v.curve, train_acc: v.train_acc, inside: v.inside, outside: v.outside}])));
    out({result: first, same: again ? strip(first) === strip(again) : null});
  })();
"""


def test_training_is_deterministic_for_a_seed():
    got = node(TRAIN, {"options": {"n": 32, "where": "top-right", "seed": 5, "steps": 20}, "again": True})
    assert got["same"] is True
    other = node(TRAIN, {"options": {"n": 32, "where": "top-right", "seed": 6, "steps": 20}})
    assert other["result"]["nets"]["dense"]["curve"] != got["result"]["nets"]["dense"]["curve"]


def test_a_run_in_one_corner_fits_both_nets_and_only_the_conv_net_transfers():
    got = node(TRAIN, {"options": {"n": 64, "where": "top-left", "seed": 0}})["result"]
    conv, dense = got["nets"]["conv"], got["nets"]["dense"]
    print(f"\n[trainer] node, 64 examples: conv {conv['ms']:.0f} ms, dense {dense['ms']:.0f} ms, "
          f"wall {got['wall_ms']:.0f} ms; outside: conv {conv['outside']:.3f}, dense {dense['outside']:.3f}")
    assert conv["train_acc"] == 1 and dense["train_acc"] == 1
    assert conv["outside"] - dense["outside"] >= 0.25
    assert len(conv["curve"]["step"]) == len(dense["curve"]["step"]) and conv["curve"]["step"][-1] == got["steps"]


def test_the_script_is_small_and_needs_no_library():
    text = SCRIPT.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < MAX_BYTES
    assert not re.search(r"\bimport\b|importScripts|https?://(?!www\.w3\.org/2000/svg\b)", text), \
        "the script loads nothing: no import, no URL but the SVG namespace"
