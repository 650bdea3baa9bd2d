"""The analysis and outputs of ``python -m equidocs curves``: needs and ratios with intervals
(:mod:`equidocs.stats`), the figure (PNG and SVG), a CSV of exactly the plotted numbers,
``report.json`` (everything) and ``report.md`` (for people; its body, :func:`body`, is what a page can
include).

A need is where the seed-mean test-accuracy curve reaches the target (interpolated in log N,
:func:`equidocs.stats.need`), with a 95% bootstrap interval over seeds and test examples. A ratio is
a net's need over the conv net's (:func:`equidocs.stats.need_ratio`); a net is named as needing fewer
examples only when the ratio's interval excludes 1, else the comparison is "inconclusive".

>>> fmt_count(1077.4), fmt_count(36.52), fmt_count(7.25), fmt_ratio(12.34), fmt_ratio(1.234)
('1,077', '37', '7.2', '12', '1.23')
"""

from __future__ import annotations

import csv
import json
import math
import platform
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from equidocs import stats
from equidocs.curves import ARM_NAMES, CURVES_CODE, TRAIN_CODE, code_hash
from equidocs.curves_data import Dataset

FILES = ("curves.png", "curves.svg", "curves.csv", "report.json", "report.md")
SHORT = {"conv": "conv", "local": "locally connected", "conv_flatten": "conv + flatten",
         "dense": "dense", "memoriser": "1-NN memoriser"}
STYLE = {"conv": "conv", "local": "local", "conv_flatten": "conv+flatten", "dense": "dense",
         "memoriser": "memoriser"}  # equidocs.plotting.ARM_STYLES keys
CSV_COLUMNS = ("arm", "n", "seeds", "mean", "low", "high")


def fmt_count(v: float) -> str:
    """A number of examples: whole from 10 up (or when whole), one decimal below."""
    return f"{v:,.0f}" if v >= 10 or v == round(v) else f"{v:.1f}"


def fmt_ratio(v: float) -> str:
    """A ratio to 3 significant figures (2 from 10 up)."""
    return f"{v:.0f}" if v >= 10 else f"{v:.3g}"


def _need_json(n: stats.Need, top: int) -> dict:
    low, high = stats.valid_interval(n)
    if n.censored == stats.ABOVE:
        text = f"more than {fmt_count(top)} (never reached)"
    elif n.censored == stats.BELOW:
        text = f"at most {fmt_count(n.value)} (reached at the smallest set)"
    else:
        text = f"{fmt_count(n.value)} ({fmt_count(low)}–{fmt_count(high) if math.isfinite(high) else 'unbounded'})"
    return {"value": n.value, "censored": n.censored, "low": low,
            "high": high if math.isfinite(high) else None, "text": text}


def _ratio_json(arm: str, worse: stats.Need, better: stats.Need) -> dict:
    """``arm``'s need over conv's, and which needs fewer examples (intervals separate) or "inconclusive"."""
    r, back = stats.need_ratio(worse, better), stats.need_ratio(better, worse)
    winner = "conv" if r.low > 1 else arm if back.low > 1 else stats.INCONCLUSIVE
    if r.value is None:
        text = "undetermined (conv never reached the target, or this net reached it at the smallest set)"
        if back.value is not None:
            text = f"at most 1/{fmt_ratio(back.value)}" + (f" (95%: at most 1/{fmt_ratio(back.low)})" if back.low > 0 else "")
    elif r.lower_bound_only:
        text = f"at least {fmt_ratio(r.value)} (95%: at least {fmt_ratio(r.low)})"
    else:
        text = f"{fmt_ratio(r.value)} ({fmt_ratio(r.low)}–{fmt_ratio(r.high) if r.high is not None else 'unbounded'})"
    return {"value": r.value, "low": r.low, "high": r.high, "lower_bound_only": r.lower_bound_only,
            "winner": winner, "text": text}


def _stops(results: list[dict]) -> dict:
    out = {"patience": 0, "fit": 0, "budget": 0, "none": 0}
    for r in results:
        out[r["stop"]] += 1
    return out


def versions() -> dict:
    import PIL
    import torch

    import equidocs
    return {"equidocs": equidocs.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "pillow": PIL.__version__, "platform": platform.platform(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def analyse(data: Dataset, parts: dict, rungs: list[int], states: dict, store, *, design, target: float,
            seeds: int, device: str, command: str) -> dict:
    """Everything the outputs show, from the stored runs of a finished plan."""
    n_test = len(parts["test"])
    arms, needs, all_runs = {}, {}, {}
    for arm in design.arms:
        st = states[arm]
        ladder_res = [store.get(s) for s in st["specs"]]  # rung-major, seed-minor
        acc = np.array([r["test_acc"] for r in ladder_res]).reshape(len(rungs), seeds).T  # (seeds, rungs)
        curve = stats.shared_test_intervals(acc, n_test, draws=2000, seed=0)
        needs[arm] = stats.need(rungs, acc, target, n_test=n_test, draws=design.draws, seed=0)
        used = {"pilot": st["used"]["pilot"], "tune": st["used"]["tune"], "ladder": st["specs"]}
        for spec in (s for specs in used.values() for s in specs):
            all_runs[store.key(spec)] = store.get(spec)
        arms[arm] = {
            "name": ARM_NAMES[arm],
            "params": None if arm == "memoriser" else ladder_res[0]["params"],
            "pilot": st["pilot"], "pilot_n": st.get("pilot_n"), "tuning": st["tune"], "settings": st["settings"],
            "curve": [{"n": n, "mean": iv.mean, "low": iv.low, "high": iv.high, "per_seed": acc[:, j].tolist()}
                      for j, (n, iv) in enumerate(zip(rungs, curve))],
            "need": _need_json(needs[arm], rungs[-1]),
            "stops": {phase: _stops([store.get(s) for s in dict.fromkeys(specs)]) for phase, specs in used.items()},
            "cpu_s": round(sum(store.get(s)["cpu_s"] for specs in used.values() for s in dict.fromkeys(specs)), 1),
        }
    ratios = {arm: _ratio_json(arm, needs[arm], needs["conv"]) for arm in design.arms
              if arm != "conv" and "conv" in design.arms}
    per_class = np.bincount(data.y, minlength=len(data.classes))
    split_counts = {k: np.bincount(data.y[v], minlength=len(data.classes)) for k, v in parts.items()}
    runs = list(all_runs.values())
    return {
        "tool": "python -m equidocs curves", "command": command,
        "data": {"source": data.source, "kind": data.kind, "images": int(len(data.y)),
                 "classes": data.classes, "per_class": dict(zip(data.classes, per_class.tolist())),
                 "side": data.side, "original_size": data.original_size, "notes": data.notes,
                 "hash": data.digest()},
        "split": {"seed": design.split_seed, "stratified": True, "train_pool": int(len(parts["pool"])),
                  "validation": int(len(parts["val"])), "test": n_test,
                  "per_class": {c: {k: int(split_counts[k][i]) for k in ("pool", "val", "test")}
                                for i, c in enumerate(data.classes)}},
        "design": {**asdict(design), "target": target, "seeds": seeds, "ladder": rungs, "device": device},
        "arms": arms, "ratios_vs_conv": ratios,
        "stops": _stops(runs),
        "compute": {"runs": len(runs), "cpu_s": round(sum(r["cpu_s"] for r in runs), 1),
                    "wall_s_runs": round(sum(r["wall_s"] for r in runs), 1)},
        "versions": versions(),
        "code": {"curves": code_hash(CURVES_CODE), "runs": code_hash(TRAIN_CODE)},
    }


# ---- outputs ---------------------------------------------------------------------------------------

def csv_rows(report: dict) -> list[dict]:
    """The plotted numbers: per net and training-set size the seed mean and its 95% interval."""
    return [{"arm": arm, "n": p["n"], "seeds": len(p["per_seed"]), "mean": p["mean"], "low": p["low"],
             "high": p["high"]} for arm, a in report["arms"].items() for p in a["curve"]]


def figure(report: dict, rows: list[dict]):
    """Test accuracy (seed mean, 95% band) against training-set size (log axis), one line per net."""
    import matplotlib.pyplot as plt

    from equidocs import plotting

    target, classes = report["design"]["target"], len(report["data"]["classes"])
    with plotting.theme("light"):
        fig, ax = plt.subplots(figsize=plotting.figsize(4.2), layout="constrained")
        for arm in report["arms"]:
            pts = [r for r in rows if r["arm"] == arm]
            style = plotting.arm_style(STYLE[arm])
            params = report["arms"][arm]["params"]
            label = SHORT[arm] + (f" ({plotting.short_number(params)} parameters)" if params else "")
            ns = [r["n"] for r in pts]
            ax.fill_between(ns, [r["low"] for r in pts], [r["high"] for r in pts], color=style["color"],
                            alpha=0.15, lw=0)
            ax.plot(ns, [r["mean"] for r in pts], label=label, **style)
        ax.axhline(target, color=plotting.muted_color(), lw=1.0, ls=(0, (1, 2)))
        ax.text(0.01, target, f"target {target:.0%}", transform=ax.get_yaxis_transform(), va="bottom",
                fontsize=plotting.SMALL_FONT, color=plotting.muted_color())
        plotting.chance_line(ax, classes)
        ax.set_xscale("log")
        plotting.plain_log_axis(ax.xaxis)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_xlabel("training-set size (examples, log scale)")
        ax.set_ylabel("test accuracy")
        seeds, n_test = report["design"]["seeds"], report["split"]["test"]
        ax.set_title(f"{Path(report['data']['source']).name}: seed mean of {seeds}, 95% band over seeds "
                     f"and {n_test} test examples", fontsize=plotting.SMALL_FONT)
        plotting.figure_legend(fig, *ax.get_legend_handles_labels(), ncol=3)
    return fig


def write(report: dict, out: Path) -> list[Path]:
    """Write the figure (PNG, SVG), the CSV, report.json and report.md into ``out``."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    rows = csv_rows(report)
    fig = figure(report, rows)
    for suffix, extra in (("png", {"dpi": 150}), ("svg", {"metadata": {"Date": None}})):
        fig.savefig(out / f"curves.{suffix}", facecolor="white", transparent=False, **extra)
    plt.close(fig)
    with (out / "curves.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    (out / "report.json").write_text(json.dumps(report, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    return [out / name for name in FILES]


def markdown(r: dict) -> str:
    """report.md: the title and figure, then :func:`body`."""
    title = [f"# Sample efficiency on `{Path(r['data']['source']).name}`", "",
             "![Test accuracy against training-set size, one line per net](curves.svg)", ""]
    return "\n".join(title) + "\n" + body(r)


def body(r: dict) -> str:
    """The report in Markdown, read from ``report.json`` (the site's "Your own data" page renders a
    committed example's with it at build time)."""
    d, s, g, target = r["data"], r["split"], r["design"], r["design"]["target"]
    top = g["ladder"][-1]
    lines = [f"Examples needed to reach **{target:.0%} test accuracy**, where the seed-mean curve "
             f"crosses it (interpolated in log N), with 95% intervals over {g['seeds']} seeds and the "
             f"{s['test']:,} test examples. A ratio is the net's need over the conv net's; a net is named "
             f"as needing fewer examples only when the ratio's interval excludes 1.", "",
             "| net | parameters | examples needed (95% interval) | need / conv's need (95% interval) | needs fewer |",
             "| --- | ---: | --- | --- | --- |"]
    for arm, a in r["arms"].items():
        ratio = r["ratios_vs_conv"].get(arm)
        lines.append(f"| {a['name']} | {'none (stores the training set)' if a['params'] is None else format(a['params'], ',')} "
                     f"| {a['need']['text']} | {ratio['text'] if ratio else '1'} | {ratio['winner'] if ratio else ''} |")
    last = ", ".join(f"{SHORT[arm]} {a['curve'][-1]['mean']:.1%} ({a['curve'][-1]['low']:.1%}–"
                     f"{a['curve'][-1]['high']:.1%})" for arm, a in r["arms"].items())
    lines += ["", f"Test accuracy at the largest training set ({top:,} examples): {last}.", "",
              "### Data and split", "",
              f"- Data: `{d['source']}` ({d['kind']}), {d['images']:,} images in {len(d['classes'])} classes, "
              f"{d['side']}x{d['side']} pixels; " + "; ".join(d["notes"]) + ".",
              f"- Split, stratified by class with seed {s['seed']}: a training pool of {s['train_pool']:,}, "
              f"validation {s['validation']:,} (every choice: pilot, tuning, early stopping), test "
              f"{s['test']:,} (read only for the curves, at each run's best validation epoch).",
              f"- Training sets: {len(g['ladder'])} sizes from {g['ladder'][0]:,} (one per class) to {top:,}, "
              f"sqrt(2) apart; a seed's sets are nested and class-balanced; every net trains on the same sets.",
              "", "### Settings chosen on validation", "",
              f"Pilot (seed {g['pilot_seed']}, learning rate {g['pilot_lr']:g}): the training set doubles until "
              f"the validation accuracy reaches {target:.0%}. There, with seeds "
              f"{', '.join(map(str, g['tune_seeds']))}, the learning rate, then the weight decay, then the "
              "width are tuned one after the other; a learning rate or weight decay chosen at the end of its "
              f"grid extends the grid past it (at most {g['extend']} values). Adam, cross-entropy, minibatch "
              f"{g['train']['batch_size']}, a budget of {g['train']['epochs']} epochs (at least "
              f"{g['train']['min_steps']} steps), stopping after {g['train']['patience']} evaluations without "
              "a better validation accuracy.", "",
              "| net | pilot crossing N | learning rate | weight decay | width | CPU time |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    from equidocs.progress import fmt_duration
    for arm, a in r["arms"].items():
        st = a["settings"]
        width = st.get("hidden", st.get("width"))
        lines.append(f"| {SHORT[arm]} | {'' if a['pilot_n'] is None else format(a['pilot_n'], ',')} | "
                     f"{st.get('lr', ''):{'g' if st else ''}} | {st.get('weight_decay', ''):{'g' if st else ''}} | "
                     f"{'' if width is None else (f'{width} hidden' if arm == 'dense' else f'{width} filters')} | "
                     f"{fmt_duration(a['cpu_s'])} |")
    c, stops = r["compute"], r["stops"]
    lines += ["", "### Runs", "",
              f"{c['runs']:,} runs, {fmt_duration(c['cpu_s'])} of CPU time (one thread each; "
              f"{r['versions']['cpu_capability']} CPU). Stop reasons: {stops['patience']:,} patience, "
              f"{stops['fit']:,} fit the training set, {stops['budget']:,} at the budget, {stops['none']:,} "
              "none (memoriser).", "",
              "| net | phase | patience | fit | budget |", "| --- | --- | ---: | ---: | ---: |"]
    for arm, a in r["arms"].items():
        for phase, n in a["stops"].items():
            if sum(n.values()) and arm != "memoriser":
                lines.append(f"| {SHORT[arm]} | {phase} | {n['patience']} | {n['fit']} | {n['budget']} |")
    v = r["versions"]
    lines += ["", "### Provenance", "",
              f"- Command: `{r['command']}`",
              f"- Data hash `{d['hash']}`, code hash `{r['code']['curves']}` (runs: `{r['code']['runs']}`).",
              f"- equidocs {v['equidocs']}, Python {v['python']}, torch {v['torch']}, numpy {v['numpy']}, "
              f"Pillow {v['pillow']}.", ""]
    return "\n".join(lines)
