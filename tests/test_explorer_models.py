"""The explorer's exported models: load_models rebuilds exactly the trained torch modules, and the
explorer_models experiment trains what the amnesia experiment trains (same task, options, budget and
per-condition learning-rate tuning)."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from itertools import product

import numpy as np
import pytest
import torch

from equidocs import cache
from equidocs.data_specs import make_splits
from equidocs.experiments import RunContext, amnesia, explorer_models
from equidocs.experiments.common import MODEL
from equidocs.explorer import EXPORTED_KINDS, export_model, import_model, load_models, net_of
from equidocs.models import make_model
from equidocs.train import Job, TrainConfig, accuracy, train

TASK = {"dataset": "patterns", "canvas": 12, "noise": 0.1, "train_where": "top-left",
        "test_where": "anywhere", "n_val": 40, "n_test": 60}
PROBE_X = torch.randn(7, 1, 12, 12, generator=torch.Generator().manual_seed(5))


def probe_with_outputs(model, splits, job) -> dict:
    """A probe for this test: the exported weights and the trained model's own outputs."""
    model.eval()
    with torch.no_grad():
        outputs = model(PROBE_X).tolist()
    return {"export": export_model(model), "outputs": outputs}


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_config_is_amnesias(profile):
    """Same task, model options, budget and tuning as amnesia, amnesia's kinds plus the conv and
    local nets with the flatten readout; amnesia's sizes (each model has its accuracy map)."""
    cfg, ref = explorer_models.Config.profile(profile), amnesia.Config.profile(profile)
    assert (cfg.task, cfg.model) == (ref.task, ref.model)
    for name in amnesia.PROTOCOL:   # the tuning and budget fields equidocs.experiments.search reads
        assert getattr(cfg, name) == getattr(ref, name), f"{profile}: {name}"
    assert len(ref.tune_seeds) >= 2, "the rate is tuned on the mean of at least two seeds"
    assert cfg.kinds == tuple(ref.kinds) + ("conv_flatten", "local_flatten")
    assert cfg.ns == tuple(ref.ns), f"{profile}: ns {cfg.ns}, amnesia's {ref.ns}"
    assert len(cfg.seeds) == 2
    if profile == "full":
        assert len(cfg.ns) >= 4, "the explorer's N control offers at least 4 sizes"
    with pytest.raises(ValueError, match="profile"):
        explorer_models.Config.profile("huge")
    if profile == "quick":
        assert explorer_models.Config() == cfg, "the defaults are the quick profile"


def test_exported_kinds_name_the_net_and_its_readout():
    assert [net_of(kind) for kind in EXPORTED_KINDS] == [
        ("conv", {}), ("local", {}), ("dense", {}), ("conv", {"head": "flatten"}), ("local", {"head": "flatten"})]
    with pytest.raises(ValueError, match="kind='dense_flatten'"):
        net_of("dense_flatten")
    flat = export_model(make_model("conv", (1, 12, 12), 4, width=2, head="flatten"))
    assert flat["kind"] == "conv_flatten" and flat["options"]["head"] == "flatten"
    with pytest.raises(ValueError, match="disagree"):
        import_model({**flat, "kind": "conv"})       # a flatten head under a pooled kind's name
    with pytest.raises(ValueError, match="disagree"):
        import_model({**flat, "options": {**flat["options"], "head": "max"}, "kind": "conv_flatten"})


@pytest.mark.parametrize("kind", EXPORTED_KINDS)
def test_imported_model_reproduces_the_trained_one(kind):
    net, fixed = net_of(kind)
    job = Job(net, TASK, 16, seed=3, model={**MODEL, **fixed}, train=TrainConfig(max_steps=40),
              probe=f"{__name__}:probe_with_outputs")
    probed = train(job).probe
    model = import_model(json.loads(json.dumps(probed["export"])))   # through JSON, as served
    with torch.no_grad():
        again = model(PROBE_X)
    want = torch.tensor(probed["outputs"])
    assert (again - want).abs().max().item() <= 1e-6, f"{kind}: rebuilt model's logits differ"
    assert export_model(model)["tensors"] == probed["export"]["tensors"], "weights not bit-exact"
    assert probed["export"]["kind"] == kind


def test_export_rejects_other_modules():
    with pytest.raises(TypeError, match="model"):
        export_model(torch.nn.Linear(2, 2))


def test_run_exports_a_weights_file_that_load_models_reads(tmp_path):
    """A tiny run: the companion file loads into models whose test accuracy is the recorded one,
    and its size in numbers is the written file's."""
    cfg = replace(explorer_models.Config.profile("quick"), task=TASK, ns=(16, 32), seeds=(0, 1),
                  lr_grid=(3e-3, 1e-2), tune_seeds=(0,), extend=0, epochs=2, min_steps=30, patience=20)
    result = explorer_models.run(cfg, RunContext(workers=1))
    weights = result["companions"][explorer_models.WEIGHTS_FILE]
    path = tmp_path / explorer_models.WEIGHTS_FILE
    cache.write_json_atomic(path, weights)   # as equidocs.runner.export writes it
    assert path.stat().st_size == result["weights_bytes"]
    assert result["numbers"]["weights_kb"] == f"{round(path.stat().st_size / 1024):,}"
    models = load_models(path)
    assert set(models) == set(product(cfg.kinds, cfg.ns, cfg.seeds))
    recorded = {(m["kind"], m["n"], m["seed"]): m for m in weights["models"]}
    for (kind, n, seed), model in models.items():
        entry = recorded[(kind, n, seed)]
        assert entry["options"] == asdict(model.options) and entry["in_shape"] == [1, 12, 12]
        test = make_splits(TASK, n, seed).test
        assert round(accuracy(model, test.x, test.y), 4) == entry["test_acc"], (kind, n, seed)
    # The home page's file: the conv and dense models at the largest size and first seed, as in the full file.
    home = result["companions"][explorer_models.HOME_FILE]
    assert (home["kinds"], home["ns"], home["seeds"]) == (["conv", "dense"], [max(cfg.ns)], [cfg.seeds[0]])
    assert home["models"] == [recorded[(kind, max(cfg.ns), cfg.seeds[0])] for kind in ("conv", "dense")]
    assert {k: v for k, v in home.items() if k not in ("kinds", "ns", "seeds", "models")} == \
           {k: v for k, v in weights.items() if k not in ("kinds", "ns", "seeds", "models")}
    assert result["numbers"]["home_kb"] == f"{round(explorer_models.weights_bytes(home) / 1024):,}"
    glyphs = np.array(weights["glyphs"])
    assert glyphs.shape == (4, 5, 5) and np.allclose(glyphs.sum((1, 2)), weights["ink"])
    # The caption names the models the figure draws (the seed-seeds[0] ones at the largest size).
    assert f"seed-{cfg.seeds[0]} explorer models trained on {max(cfg.ns)} examples" in result["caption"]
    explorer_models.figure(result)
