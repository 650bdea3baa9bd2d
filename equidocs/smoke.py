"""The ``smoke`` profile: every experiment's quick design at tiny sizes, for checks, not for reading.

Two seeds, a few dozen examples, two epochs: each experiment runs end to end in seconds and the
whole site builds from a cold cache in about two minutes (the quick profile takes about ten CPU
minutes). Its numbers mean nothing; it shows that the code runs and that every page renders from a
fresh set of results. The experiment tests and CI's cold build use it.

>>> cfg = config("sample_efficiency")
>>> sorted(cfg.tasks), cfg.seeds, cfg.epochs
(['digits', 'patterns'], (0, 1), 2)
"""

from __future__ import annotations

from dataclasses import replace

from equidocs import experiments, mechanism_plan

_STUDY_JOB = dict(epochs=2, min_steps=20, min_evals=5, patience=2, fit_loss=1e-3, batch_size=128, deform=0.5,
                  noise=0.1, n_val=16, n_test=16)

# Overrides of each experiment's quick profile (a field left out keeps its quick value).
SMOKE: dict[str, dict] = {
    "sample_efficiency": dict(
        tasks={"patterns": {"dataset": "patterns", "canvas": 10, "n_val": 16, "n_test": 16},
               "digits": {"dataset": "digits", "canvas": 10, "n_val": 16, "n_test": 16}},
        targets={"patterns": 0.3, "digits": 0.3},
        caps={"patterns": {"conv": 16, "local": 16, "dense": 32}, "digits": {"conv": 16, "local": 16, "dense": 16}},
        floor=8, n_common=16, seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_cap=8, epochs=2, min_steps=20, boot=20),
    "amnesia": dict(task={"dataset": "patterns", "canvas": 10, "train_where": "top-left",
                          "test_where": "anywhere", "n_val": 16, "n_test": 16},
                    ns=(64, 512), seeds=(0, 1), draws=1, lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1,
                    epochs=2, min_steps=20, boot=20),
    "weights": dict(task={"dataset": "patterns", "canvas": 10, "train_where": "top-left",
                          "test_where": "anywhere", "n_val": 16, "n_test": 16},
                    ns=(512,), seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1, epochs=2,
                    min_steps=20),
    "resolution_scaling": dict(
        study=replace(mechanism_plan.Config.profile("quick"), sizes=(6, 7), max_cap=16, seeds_main=2,
                      seeds_other=2, tune_seeds=(0,), lr_grid=(1e-2,), wd_grid=(0.0,), width_grid=(8,),
                      hidden_grid=(32,), target=0.3, job=_STUDY_JOB),
        log="quick", draws=10),  # the log in the cache; its name is also the design the page compares with
    "equivariance_error": dict(canvas=8, shifts=(1, 2), inits=2, seeds=(0, 1),
                               task={"dataset": "patterns", "canvas": 8, "noise": 0.1, "n_val": 16, "n_test": 16},
                               floor=8, cap={"conv": 16, "local": 16, "dense": 16}, target=0.3,
                               lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1, epochs=2, min_steps=20,
                               boot=20),
    "explorer_models": dict(task={"dataset": "patterns", "canvas": 10, "train_where": "top-left",
                                  "test_where": "anywhere", "n_val": 16, "n_test": 16},
                            ns=(8,), seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1,
                            epochs=2, min_steps=20),
    "parameter_counts": {},
    "capacity": dict(cap={"conv": 16, "local": 16, "dense": 16}, tune_cap=8, lr_grid=(1e-3, 1e-2), extend=1,
                     epochs=2, min_steps=20, boot=20, target=0.3,
                     task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "n_val": 16, "n_test": 16}),
    "amnesia_distance": dict(task={"dataset": "patterns", "canvas": 13, "noise": 0.1, "train_where": "top-left",
                                   "test_where": "anywhere", "n_val": 16, "n_test": 16},
                             ns=(8, 16), seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1,
                             epochs=2, min_steps=20, draws=1, boot=20),
    "heads_augmentation": dict(task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 6,
                                     "n_val": 16, "n_test": 16},
                               cap={"conv": 16, "dense": 16}, n_min=8, tune_cap=8, epochs=2, min_steps=20,
                               patience=20, boot=20, target=0.3),
    "sharing_locality": dict(task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 7,
                                   "n_val": 16, "n_test": 16},
                             cap={"conv": 16, "local": 16, "dense": 16}, tune_cap=8, epochs=2, min_steps=20,
                             boot=20, target=0.3),
}


def config(name: str):
    """Experiment ``name``'s smoke config: its quick profile with the overrides in :data:`SMOKE`."""
    module = experiments.get(name)
    if name not in SMOKE:
        raise ValueError(f"experiment {name!r}: no smoke profile; add its overrides to equidocs.smoke.SMOKE")
    return replace(module.Config.profile("quick"), **SMOKE[name])
