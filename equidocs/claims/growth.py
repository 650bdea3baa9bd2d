"""Claims on how the need grows with the canvas (``results/resolution_scaling.json``, its
``summary``): whose fitted exponent is steeper, what the memoriser and the growth laws show, and the
needs at the smallest and largest size as number phrases.

An exponent is b in N ∝ d^b (d: pixels), fitted to censored needs; "apart" means the 95% bootstrap
intervals of two exponents do not overlap.

>>> law = lambda b, low, high: {"exponent_d": b, "exponent_d_ci": [low, high]}
>>> summary = {"kinds": {"dense": law(2.0, 1.6, 2.4), "conv": law(0.4, 0.1, 0.7)}}
>>> grows_faster("dense", "conv").check({"resolution_scaling": {"result": {"summary": summary}}}).evidence
'dense: N ∝ d^2.00 (1.60 to 2.40); conv: N ∝ d^0.40 (0.10 to 0.70)'
"""

from __future__ import annotations

from typing import Callable

from equidocs.claims.verdict import Claim, guard, value
from equidocs.experiments.wording import need_words

KIND_NAMES = {"conv": "conv net", "local": "locally-connected net", "dense": "dense net"}


def _summary(records: dict) -> dict:
    return records["resolution_scaling"]["result"]["summary"]


def _exponents_apart(name: str, pick: Callable[[dict], tuple]) -> Claim:
    """A guard: one fitted exponent's 95% interval lies wholly above another's.

    ``pick(summary)`` returns ``((label, entry), (label, entry))`` from the growth-law summary."""

    def test(records: dict) -> tuple[bool, str]:
        (la, a), (lb, b) = pick(_summary(records))
        missing = [label for label, e in ((la, a), (lb, b)) if e["exponent_d_ci"] is None]
        if missing:
            return False, f"no fitted exponent for {missing[0]}"
        law = {label: f"d^{e['exponent_d']:.2f} ({e['exponent_d_ci'][0]:.2f} to {e['exponent_d_ci'][1]:.2f})"
               for label, e in ((la, a), (lb, b))}
        return a["exponent_d_ci"][0] > b["exponent_d_ci"][1], f"{la}: N ∝ {law[la]}; {lb}: N ∝ {law[lb]}"

    return guard(name, test)


def grows_faster(steeper: str, flatter: str) -> Claim:
    """As the canvas grows, ``steeper``'s need grows faster than ``flatter``'s (exponents apart)."""
    return _exponents_apart(f"guard.growth.{steeper}_faster_than_{flatter}",
                            lambda s: ((steeper, s["kinds"][steeper]), (flatter, s["kinds"][flatter])))


def positions_not_pixels(kind: str) -> Claim:
    """For ``kind``, more positions (the canvas grows) cost more data than more pixels per object
    (the same image upsampled): the two exponents apart."""
    return _exponents_apart(
        f"guard.growth.{kind}_positions_not_pixels",
        lambda s: (("canvas grows", s["kinds"][kind]), ("upsampled", s["pixels_per_object"]["kinds"][kind])))


def _two(v: float) -> str:
    """Two decimals, without a negative zero.

    >>> _two(-0.001), _two(0.234)
    ('0.00', '0.23')
    """
    text = f"{v:.2f}"
    return "0.00" if text == "-0.00" else text


def exponent(axis: str, kind: str) -> Claim:
    """A number phrase: ``kind``'s fitted exponent b in N ∝ d^b on ``axis`` ("fov": the canvas grows;
    "upsampled": the same image upsampled) with its 95% interval: ``"3.45 (95% interval 3.24 to 3.59)"``."""

    def phrase(records: dict) -> str:
        summary = _summary(records)
        e = (summary if axis == "fov" else summary["pixels_per_object"])["kinds"][kind]
        if e["exponent_d"] is None:
            return "not fitted (too few measured sizes)"
        if e["exponent_d_ci"] is None:
            return f"{_two(e['exponent_d'])} (no interval: too few measured sizes)"
        low, high = e["exponent_d_ci"]
        return f"{_two(e['exponent_d'])} (95% interval {_two(low)} to {_two(high)})"

    return value(f"growth.exponent.{axis}.{kind}", f"the {KIND_NAMES[kind]}'s pixel exponent ({axis})", phrase)


def need_span(axis: str, kind: str) -> Claim:
    """A number phrase: a kind's need at the smallest and largest size of ``axis`` ("fov": the
    canvas grows; "upsampled": the same image upsampled), each with its 95% interval, or "more
    than N" where it is censored."""

    def one(entry: dict, i: int) -> str:
        return need_words(entry["needed"][i], entry["censored"][i] or "", entry["needed_ci"][i])

    def phrase(records: dict) -> str:
        summary = _summary(records)
        entry = (summary if axis == "fov" else summary["pixels_per_object"])["kinds"][kind]
        return f"from {one(entry, 0)} to {one(entry, -1)}"

    return value(f"growth.{axis}.{kind}.needs", f"the {KIND_NAMES[kind]}'s need at the smallest and largest size",
                 phrase)


def held_out(kind: str, law: str = "power law in pixels") -> Claim:
    """A number phrase: ``law`` fitted without the two largest canvases, its prediction there with
    the 95% bootstrap interval, beside the measured need (with its interval, or as a bound), and
    whether they agree: ``"256 pixels: predicted 75 (95% interval 32 to 122), measured 47 (95%
    interval 40 to 56): consistent; ..."``."""

    def phrase(records: dict) -> str:
        result = records["resolution_scaling"]["result"]
        summary, rows = result["summary"], result["axes"]["fov"]["kinds"][kind].get("held_out", {}).get(law)
        if not rows:
            return "not computed (too few measured sizes)"
        entry = summary["kinds"][kind]
        parts = []
        for h in rows:
            i = summary["sizes"].index(h["size"])
            low, high = h["interval"]
            parts.append(f"{summary['pixels'][i]:,} pixels: predicted {h['predicted']:,.0f} (95% interval "
                         f"{low:,.0f} to {high:,.0f}), measured "
                         f"{need_words(entry['needed'][i], entry['censored'][i] or '', entry['needed_ci'][i])}: "
                         f"{'consistent' if h['consistent'] else 'outside the interval'}")
        return "; ".join(parts)

    return value(f"growth.held_out.{kind}", f"the {KIND_NAMES[kind]}'s held-out prediction ({law})", phrase)


def _memoriser_beats_dense(records: dict) -> tuple[bool, str]:
    """At every canvas where the 1-NN memoriser reaches the target, its need's interval lies wholly
    below the dense net's (or the dense net never reached the target there)."""
    k = _summary(records)["kinds"]
    m, d, sizes = k["memoriser"], k["dense"], _summary(records)["sizes"]
    rows, ok = [], []
    for i, size in enumerate(sizes):
        if m["censored"][i]:
            continue
        dense_low = d["needed"][i] if d["censored"][i] else d["needed_ci"][i][0]
        ok.append(m["needed_ci"][i][1] < dense_low)
        rows.append(f"{size}: 1-NN {m['needed_ci'][i]} vs dense {d['needed_ci'][i]} {d['censored'][i] or ''}")
    return bool(ok) and all(ok), "; ".join(rows)


def _conv_need_grows(records: dict) -> tuple[bool, str]:
    """The conv net's need grows with the canvas (its need at the largest canvas lies above its
    need at the smallest, intervals apart), yet far more slowly than the dense net's (pixel
    exponents' intervals apart)."""
    k = _summary(records)["kinds"]
    c, d = k["conv"], k["dense"]
    grows = not c["censored"][0] and not c["censored"][-1] and c["needed_ci"][0][1] < c["needed_ci"][-1][0]
    slower = c["exponent_d_ci"] is not None and d["exponent_d_ci"] is not None and \
        c["exponent_d_ci"][1] < d["exponent_d_ci"][0]
    return grows and slower, f"conv first {c['needed_ci'][0]}, last {c['needed_ci'][-1]}; exponents conv " \
                             f"{c['exponent_d_ci']}, dense {d['exponent_d_ci']}"


def _dense_law_inconclusive(records: dict) -> tuple[bool, str]:
    """The site's own fit does not decide between a power law and an exponential for the dense net
    (growing the canvas): no law wins by delta-AIC >= 2."""
    d = _summary(records)["kinds"]["dense"]
    return d["best_law"] == "inconclusive", f"dense best law: {d['best_law']}; {d['law_win_frequency']}"


def _conv_law_inconclusive(records: dict) -> tuple[bool, str]:
    """No growth law wins for the conv net either (delta-AIC < 2 for every pair)."""
    best = _summary(records)["kinds"]["conv"]["best_law"]
    return best == "inconclusive", best


def _dense_censored_beyond(records: dict) -> tuple[bool, str]:
    """The dense net's need is measured (not a bound) only on the small canvases: it is censored
    from some canvas of at most 12x12 on, so the large canvases give only lower bounds."""
    s = _summary(records)
    cens = [size for size, c in zip(s["sizes"], s["kinds"]["dense"]["censored"]) if c]
    return bool(cens) and min(cens) <= 12, f"dense censored at {cens}"


CLAIMS: list[Claim] = [
    grows_faster("dense", "conv"),
    grows_faster("local", "conv"),
    positions_not_pixels("dense"),
    *(exponent("fov", kind) for kind in ("conv", "local", "dense")),
    exponent("upsampled", "dense"),
    *(held_out(kind) for kind in ("conv", "local", "dense")),
    *(need_span("fov", kind) for kind in ("conv", "local", "dense")),
    *(need_span("upsampled", kind) for kind in ("conv", "dense")),
    guard("guard.memoriser_beats_dense", _memoriser_beats_dense,
          "the 1-NN memoriser needs fewer examples than the dense net"),
    guard("guard.conv_need_grows_slowly", _conv_need_grows,
          "the conv net's need grows, more slowly than the dense net's"),
    guard("guard.dense_law_inconclusive", _dense_law_inconclusive, "the dense net's growth law is not decided"),
    guard("guard.conv_law_inconclusive", _conv_law_inconclusive, "the conv net's growth law is not decided"),
    guard("guard.dense_censored_on_large_canvases", _dense_censored_beyond,
          "the dense net is measured only on small canvases"),
]
