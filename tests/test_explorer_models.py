"""The explorer's exported models: load_models rebuilds exactly the trained torch modules, and the
explorer_models experiment trains what the amnesia experiment trains (same task, options, budget)."""

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
from equidocs.explorer import export_model, import_model, load_models
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
    """Same task, model options, budget and tuning as amnesia; sizes among amnesia's (its maps)."""
    cfg, ref = explorer_models.Config.profile(profile), amnesia.Config.profile(profile)
    assert (cfg.task, cfg.model, cfg.train, cfg.tune_n, cfg.kinds) == \
           (ref.task, ref.model, ref.train, ref.tune_n, ref.kinds)
    assert set(cfg.ns) <= set(ref.ns), f"{profile}: ns {cfg.ns} not among amnesia's {ref.ns}"
    assert 2 <= len(cfg.ns) <= 3 and 2 <= len(cfg.seeds) <= 3
    with pytest.raises(ValueError, match="profile"):
        explorer_models.Config.profile("huge")


@pytest.mark.parametrize("kind", ["conv", "local", "dense"])
def test_imported_model_reproduces_the_trained_one(kind):
    job = Job(kind, TASK, 16, seed=3, model=dict(MODEL), train=TrainConfig(max_steps=40),
              probe=f"{__name__}:probe_with_outputs")
    probed = train(job).probe
    model = import_model(json.loads(json.dumps(probed["export"])))   # through JSON, as served
    with torch.no_grad():
        again = model(PROBE_X)
    want = torch.tensor(probed["outputs"])
    assert (again - want).abs().max().item() <= 1e-6, f"{kind}: rebuilt model's logits differ"
    assert export_model(model)["tensors"] == probed["export"]["tensors"], "weights not bit-exact"


def test_export_rejects_other_modules():
    with pytest.raises(TypeError, match="model"):
        export_model(torch.nn.Linear(2, 2))


def test_run_exports_a_weights_file_that_load_models_reads(tmp_path):
    """A tiny run: the companion file loads into models whose test accuracy is the recorded one,
    and its size in numbers is the written file's."""
    cfg = replace(explorer_models.Config.profile("quick"), task=TASK, ns=(16, 32), seeds=(0, 1),
                  tune_n=16, train=TrainConfig(max_steps=30, patience=20, fit_loss=0.05))
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
    glyphs = np.array(weights["glyphs"])
    assert glyphs.shape == (4, 5, 5) and np.allclose(glyphs.sum((1, 2)), weights["ink"])
    # The caption names the models the figure draws (the seed-seeds[0] ones at the largest size).
    assert f"seed-{cfg.seeds[0]} explorer models trained on {max(cfg.ns)} examples" in result["caption"]
    explorer_models.figure(result)
