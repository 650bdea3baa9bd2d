"""Every figure has its plotted numbers beside it: a CSV linked from the caption, drawn from the
published result (not a stale copy), whose values are the result file's where the figure plots
stored numbers directly."""

import csv
import io
import re
from pathlib import Path

import matplotlib
import pytest

from equidocs import experiments, frozen
from equidocs.figure_data import figure_rows, to_csv
from equidocs.plotting import theme

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
# Figures that plot numbers stored in the result as they are (others plot means or fits computed
# while drawing, from the stored per-seed numbers).
DIRECT = ("parameter_counts", "amnesia", "sharing_locality", "amnesia_distance", "capacity")


def _numbers(value, out: set) -> set:
    if isinstance(value, dict):
        for v in value.values():
            _numbers(v, out)
    elif isinstance(value, list):
        for v in value:
            _numbers(v, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out.add(float(f"{float(value):.5g}"))
    return out


def test_every_figure_caption_links_its_csv_and_the_csv_holds_the_plotted_numbers(built_site):
    pages = "".join(p.read_text(encoding="utf-8") for p in built_site.rglob("*.html"))
    for name in experiments.NAMES:
        if f'id="fig-{name}"' not in pages:
            continue
        assert re.search(rf'href="(\.\./)*figures/{name}\.csv">Data \(CSV\)</a>', pages), name
        text = (built_site / "figures" / f"{name}.csv").read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and "panel" in rows[0], name
        record = frozen.read(name, RESULTS)
        with theme("light"):  # as the build draws it
            expected = to_csv(figure_rows(experiments.get(name).figure(record["result"])))
        assert text == expected, f"{name}: the published CSV is not the figure of the published result"


@pytest.mark.parametrize("name", DIRECT)
def test_plotted_values_are_the_result_files_numbers(name):
    record = frozen.read(name, RESULTS)
    stored = _numbers({k: v for k, v in record["result"].items() if k != "companions"}, set())
    with theme("light"):
        rows = figure_rows(experiments.get(name).figure(record["result"]))
    plotted = [float(f"{r[k]:.5g}") for r in rows for k in ("y", "value", "y_low", "y_high")
               if r.get(k) is not None]
    assert plotted and all(v in stored for v in plotted), [v for v in plotted if v not in stored][:5]
