"""cartlens.stats.tests against R stats (tests/reference/prognostic_grouptests.R -> .json; spec §8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cartlens.stats.tests import (
    chisq_test,
    fisher_exact_rxc,
    group_tests,
    kruskal_wallis,
    mann_whitney,
    median_iqr,
    table_tests,
)

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_grouptests.json").read_text())
WHY = f"R {REF['r_version']}"


@pytest.mark.parametrize("case", REF["two"], ids=lambda c: c["name"])
def test_two_groups_match_r(case: dict) -> None:
    x, y = case["x"], case["y"]
    normal = mann_whitney(x, y)
    assert normal.statistic == case["W"], WHY
    assert normal.p == pytest.approx(case["p_normal_cc"], rel=1e-9), WHY          # exact = FALSE, correct
    assert mann_whitney(x, y, method="auto").p == pytest.approx(case["p_default"], rel=1e-9), WHY
    kw = kruskal_wallis(x, y)
    assert kw.statistic == pytest.approx(case["kruskal"], rel=1e-9) and kw.p == pytest.approx(
        case["kruskal_p"], rel=1e-9), WHY
    med = median_iqr(x)
    assert [med["q1"], med["median"], med["q3"]] == pytest.approx(case["quantiles_x"], rel=1e-12), WHY


def test_three_groups_match_r() -> None:
    g = REF["three"]
    res = group_tests(g["value"], g["group"])
    assert res.kruskal.statistic == pytest.approx(g["kruskal"], rel=1e-9), WHY
    assert res.kruskal.p == pytest.approx(g["kruskal_p"], rel=1e-9), WHY
    assert res.mannwhitney is None and res.to_dict()["mannwhitney"] is None
    assert res.descriptives["median"].to_numpy() == pytest.approx(g["medians"], rel=1e-12), WHY
    assert res.descriptives["q1"].to_numpy() == pytest.approx(g["q1"], rel=1e-12), WHY
    assert res.descriptives["q3"].to_numpy() == pytest.approx(g["q3"], rel=1e-12), WHY


def test_group_order_follows_r_factor_levels() -> None:
    """x is the first level: swapping the labels gives W' = n_x n_y − W (hand calculation)."""
    case = REF["two"][0]
    values = np.r_[case["x"], case["y"]]
    labels = np.array(["a"] * len(case["x"]) + ["b"] * len(case["y"]))
    assert group_tests(values, labels).mannwhitney.statistic == case["W"]
    swapped = group_tests(values, np.where(labels == "a", "b", "a")).mannwhitney.statistic
    assert swapped == len(case["x"]) * len(case["y"]) - case["W"]


@pytest.mark.parametrize("case", REF["tables"], ids=lambda c: c["name"])
def test_tables_match_r(case: dict) -> None:
    t = np.asarray(case["t"])
    chi = chisq_test(t)
    assert chi.statistic == pytest.approx(case["chisq"], rel=1e-9), WHY
    assert chi.p == pytest.approx(case["chisq_p"], rel=1e-9), WHY
    assert chi.df == case["df"]
    assert fisher_exact_rxc(t).p == pytest.approx(case["fisher_p"], rel=1e-6), WHY
    assert fisher_exact_rxc(t.T).p == pytest.approx(case["fisher_p"], rel=1e-6)     # symmetric in r, c


def test_fisher_is_deterministic_and_spec_values() -> None:
    assert fisher_exact_rxc([[3, 9], [11, 4]]).p == pytest.approx(0.02130091, rel=1e-6)     # spec §8
    assert fisher_exact_rxc([[3, 7, 10], [12, 5, 4]]).p == pytest.approx(0.01497641, rel=1e-6)
    assert fisher_exact_rxc([[3, 7, 10], [12, 5, 4]]).p == fisher_exact_rxc([[3, 7, 10], [12, 5, 4]]).p


def test_table_tests_cross_tabulates_and_drops_missing() -> None:
    rows = ["a", "a", "b", "b", None, "a", "b", "b"]
    cols = [1, 2, 1, 2, 1, 1, 1, None]
    res = table_tests(rows, cols)
    assert res.counts.tolist() == [[2, 1], [2, 1]]                 # counted by hand
    out = res.to_dict()
    assert set(out) >= {"chisq", "fisher"} and set(out["chisq"]) >= {"statistic", "p"} and "p" in out["fisher"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: mann_whitney([], [1.0]), r"both groups need observations"),
    (lambda: mann_whitney([1.0, float("inf")], [1.0]), r"x\[1\]: must be finite"),
    (lambda: chisq_test([[1, 2, 3]]), r"r, c >= 2"),
    (lambda: fisher_exact_rxc([[1, -2], [3, 4]]), r"non-negative integers"),
    (lambda: group_tests([1.0, 2.0], ["a", "a"]), r"at least two groups"),
])
def test_bad_input_is_rejected(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
