"""Train a conv net and a dense net on the same 64 examples and compare their test accuracy."""
from equidocs.train import Job, TrainConfig, train_many

data = {"dataset": "patterns", "canvas": 12, "n_val": 200, "n_test": 500}  # 5x5 glyphs, 4 classes
model = {"depth": 1, "width": 8, "kernel_size": 5, "head": "max", "hidden": 256}
jobs = [Job(kind, data, n_train=64, seed=0, model=model, train=TrainConfig(lr=3e-3))
        for kind in ("conv", "local", "dense")]

for result in train_many(jobs):
    print(f"{result.kind:>5}: {result.params:>6,} parameters, test accuracy {result.test_acc:.0%} "
          f"after {result.steps} steps ({result.stop})")
