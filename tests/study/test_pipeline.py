"""The study pipeline end to end on a small seeded cohort (fixture ``small_run`` in conftest.py).

Independent checks: KM medians by lifelines, log-rank by scipy.stats.logrank on CAR-IMPI groups recomputed here
from the fitted coefficients with the published formula, a univariable Cox HR by statsmodels PHReg (Efron ties),
Cohen's kappa and a 2 x 2 test recomputed by hand / scipy from the report's own count tables.
"""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from cartlens.study.pipeline import SECTION_TITLES

MONTH = 30.4375


class _Tables(HTMLParser):
    """Every <table> of the page as a list of rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    except ValueError:
        return False


def _csv(run, name: str) -> pd.DataFrame:
    return pd.read_csv(run.out / "tables" / f"{name}.csv")


def test_every_section_present_with_tables_and_figures(small_run):
    res = small_run.result
    assert list(res.sections) == list(SECTION_TITLES)
    html = (small_run.out / "report.html").read_text(encoding="utf-8")
    for name, sec in res.sections.items():
        assert sec.status == "ok", (name, sec.values)
        assert SECTION_TITLES[name] in html
        assert sec.section.tables, name
        assert sec.section.figures, name
        for table in sec.section.tables:
            assert (small_run.out / "tables" / f"{table}.csv").is_file()
        for fig in sec.section.figures:
            assert (small_run.out / "figures" / f"{fig.name}.png").is_file()
    # every demo section states planted vs recovered, and every page carries the synthetic label
    for name in SECTION_TITLES:
        assert any(t.endswith(("_planted", "_vs_generated")) for t in res.sections[name].section.tables), name
    assert "synthetic demonstration data" in html
    assert "src=\"http" not in html and "<script src" not in html        # self-contained


def test_html_tables_equal_csv_tables(small_run):
    parser = _Tables()
    parser.feed((small_run.out / "report.html").read_text(encoding="utf-8"))
    names = [p for p in small_run.result.outputs["tables"]]
    assert len(parser.tables) == len(names)
    for rows, path in zip(parser.tables, names, strict=True):
        csv = pd.read_csv(small_run.out / path, dtype=str, keep_default_na=False)
        assert rows[0] == list(csv.columns), path
        body = rows[1:]
        assert len(body) == len(csv), path
        for r, (_, c) in zip(body, csv.iterrows(), strict=True):
            for cell, value in zip(r, c.tolist(), strict=True):
                assert _same(cell, value), (path, cell, value)


def test_run_json_records_plan_versions_hash_timings(small_run):
    rec = json.loads((small_run.out / "run.json").read_text(encoding="utf-8"))
    assert rec["seed"] == 11 and rec["plan"]["car_impi"]["bootstrap"] == 20
    assert len(rec["data_hash"]) == 64 and rec["versions"]["numpy"] == np.__version__
    assert set(SECTION_TITLES) <= set(rec["timings_s"]) and rec["timings_s"]["total"] > 0
    assert rec["truth"]["survival"]["knot_ml"] == 44.3
    assert rec["sections"]["car_impi"]["values"]["fit"]["knot_ml"] > 0


def _r_median(km) -> float:
    """R's printed KM median on lifelines' curve: first time with S < 0.5; where S == 0.5 exactly on a step,
    the midpoint to the next step (R survival ``survmean``; lifelines itself takes the first S <= 0.5)."""
    sf = km.survival_function_.iloc[:, 0]
    below = sf[sf < 0.5 - 1e-12]
    if below.empty:
        return float("inf")
    half = sf[np.isclose(sf, 0.5, rtol=0, atol=1e-12)]
    return (half.index[0] + below.index[0]) / 2 if len(half) else float(below.index[0])


def test_cohort_medians_match_lifelines(small_run):
    from lifelines import KaplanMeierFitter

    p = small_run.tables["patients"]
    surv = _csv(small_run, "survival_overview").set_index("cohort")
    for cohort, sub in [("all", p), *p.groupby("cohort")]:
        for ep, col in (("pfs", "median PFS, months (95 % CI)"), ("os", "median OS, months (95 % CI)")):
            km = KaplanMeierFitter().fit(sub[f"{ep}_days"] / MONTH, sub[f"{ep}_event"])
            expected = _r_median(km)
            shown = surv.loc[cohort, col].split(" ")[0]
            if np.isinf(expected):
                assert shown == "NR"
            else:
                assert float(shown) == pytest.approx(expected, abs=0.051), (cohort, ep)


def _lp_by_hand(run) -> pd.Series:
    """CAR-IMPI LP from run.json coefficients: b*MTV + b'*max(0, MTV - knot) + b_age*age + b_stage[stage]."""
    rec = json.loads((run.out / "run.json").read_text(encoding="utf-8"))["sections"]["car_impi"]["values"]["fit"]
    c, knot = rec["coefficients"], rec["knot_ml"]
    p = run.tables["patients"].dropna(subset=["mtv_ml", "age", "stage"])
    lp = (c["mtv_per_ml"] * p["mtv_ml"] + c["mtv_above_knot_per_ml"] * np.maximum(0.0, p["mtv_ml"] - knot)
          + c["age_per_year"] * p["age"] + p["stage"].astype(int).astype(str).map(c["stage"]).astype(float))
    return pd.Series(lp.to_numpy(), index=p.index), rec


def test_car_impi_validation_logrank_matches_scipy(small_run):
    lp, rec = _lp_by_hand(small_run)
    p = small_run.tables["patients"].loc[lp.index]
    dev = lp[p["cohort"] == "development"]
    med = np.quantile(dev, 0.5)                   # type-7 median (survival_stats.md section 6)
    assert med == pytest.approx(rec["cutoffs"]["median"], rel=1e-9)
    val = p[p["cohort"] == "validation"]
    high = lp[val.index] > med
    t, e = val["pfs_days"] / MONTH, val["pfs_event"].astype(bool)

    def cens(sel):
        return stats.CensoredData(uncensored=t[sel & e].to_numpy(), right=t[sel & ~e].to_numpy())

    expected = stats.logrank(cens(high), cens(~high)).pvalue
    km = _csv(small_run, "car_impi_km")
    row = km[(km["cohort"] == "validation") & (km["endpoint"] == "PFS") & (km["scheme"] == "median")].iloc[0]
    shown = str(row["log-rank p"])
    if expected < 1e-4:
        assert shown == "< 0.0001"
    else:
        assert float(shown) == pytest.approx(float(f"{expected:.2g}"))
    sizes = _csv(small_run, "car_impi_group_sizes").set_index("cohort")
    assert sizes.loc["validation", "median group high"] == int(high.sum())


def test_factor_hr_matches_statsmodels(small_run):
    from statsmodels.duration.hazard_regression import PHReg

    scans, les, p = (small_run.tables[k] for k in ("scans", "lesions", "patients"))
    base = scans[scans["day"] <= 0].sort_values("day").drop_duplicates(["centre", "patient_id"], keep="last")
    bl = les.merge(base[["centre", "patient_id", "scan_id"]], on=["centre", "patient_id", "scan_id"])
    big = bl.groupby(["centre", "patient_id"])["ldi_cm"].max() >= 5
    d = p.set_index(["centre", "patient_id"]).join(big.rename("big")).dropna(subset=["big"])
    fit = PHReg(d["pfs_days"].to_numpy(float), d["big"].to_numpy(float).reshape(-1, 1),
                status=d["pfs_event"].to_numpy(), ties="efron").fit()
    screen = _csv(small_run, "factors_screen").set_index("id")
    assert screen.loc["any_lesion_ge5_pfs_004", "HR"] == pytest.approx(np.exp(fit.params[0]), abs=6e-4)
    assert screen.loc["any_lesion_ge5_pfs_004", "published HR"] == 2.41        # prognostic_factors.yaml


def test_kappa_and_toxicity_p_recomputed_from_count_tables(small_run):
    mats = _csv(small_run, "response_agreement_fu2")
    kappa = _csv(small_run, "response_kappa")
    for pair, m in mats.groupby("pair"):
        counts = m.set_index("row")[m["row"].tolist()].to_numpy(float)      # this pair's square matrix
        n = counts.sum()
        po = np.trace(counts) / n
        pe = float((counts.sum(axis=1) / n) @ (counts.sum(axis=0) / n))
        name = pair.replace(" (rows)", "").replace(" (columns)", "")
        shown = kappa[(kappa["timepoint"] == "FU2") & (kappa["pair"] == name)]["kappa"].iloc[0]
        assert shown == pytest.approx((po - pe) / (1 - pe), abs=6e-4), pair
    tox = _csv(small_run, "toxicity_binary").set_index("outcome")
    row = tox.loc["CRS grade >= 3"]
    (a, n1), (b, n2) = (map(int, row[f"CAR-IMPI {g}: n/N"].split("/")) for g in ("high", "low"))
    table = np.array([[a, n1 - a], [b, n2 - b]])
    expected = (stats.fisher_exact(table).pvalue if (stats.contingency.expected_freq(table) < 5).any()
                else stats.chi2_contingency(table, correction=False).pvalue)
    shown = str(row["p"])
    assert shown == "< 0.0001" if expected < 1e-4 else float(shown) == pytest.approx(float(f"{expected:.2g}"))


def test_figures_are_nonempty_images_of_the_expected_size(small_run):
    dpi = 110
    for sec in small_run.result.sections.values():
        for fig in sec.section.figures:
            img = Image.open(io.BytesIO(fig.png))
            assert img.format == "PNG"
            w, h = img.size
            width_in = 10.0 if fig.name == "cohort_km_pfs_os" else 6.4      # figsize of each figure function
            assert 0.75 * width_in * dpi <= w <= 1.35 * width_in * dpi, (fig.name, w)
            assert 2.0 * dpi <= h <= 12 * dpi, (fig.name, h)
            px = np.asarray(img.convert("L"), dtype=float)
            assert px.std() > 5 and (px < 128).mean() > 0.002, fig.name     # not blank
            on_disk = (small_run.out / "figures" / f"{fig.name}.png").read_bytes()
            assert on_disk == fig.png
