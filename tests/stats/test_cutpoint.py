"""cartlens.stats.cutpoint against R maxstat 0.7-25 (tests/reference/prognostic_maxstat.R -> .json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cartlens.stats.cutpoint import (
    candidate_splits,
    logrank_scores,
    maxstat,
    p_exact_gauss,
    p_hothorn_lausen,
    p_lausen92,
    p_lausen94,
)

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_maxstat.json").read_text())
CASES = {c["name"]: c for c in REF["cases"]}
FUN = REF["functions"]
WHY = f"R {REF['r_version']}, maxstat {REF['maxstat']}"


def _data(case: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.asarray(case["time"], float), np.asarray(case["event"], int), np.asarray(case["x"], float)


def _fit(case: dict, **kw: object):
    t, e, x = _data(case)
    return maxstat(t, e, x, minprop=case["minprop"], maxprop=case["maxprop"], **kw)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scores_statistic_cutpoint_and_candidates_match_r(name: str) -> None:
    case = CASES[name]
    t, e, _ = _data(case)
    assert logrank_scores(t, e) == pytest.approx(case["scores"], rel=1e-9, abs=1e-12), WHY
    res = _fit(case)
    assert res.statistic == pytest.approx(case["statistic"], rel=1e-9), WHY
    assert res.cutpoint == case["cutpoint"], WHY
    assert res.cuts.tolist() == pytest.approx(case["cuts"], rel=1e-12), WHY
    assert res.stats == pytest.approx(case["stats"], rel=1e-9), WHY
    assert res.p is None and res.to_dict()["p"] is None          # pmethod "none" -> R's NA


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("pmethod", ["Lau92", "Lau94"])
def test_lausen_pvalues_match_r(name: str, pmethod: str) -> None:
    case = CASES[name]
    res = _fit(case, pmethod=pmethod)
    if case[pmethod] is None:                                   # R: Inf for minprop 0 / maxprop 1
        assert res.to_dict()["p"] is None and math.isinf(res.p)
    else:
        assert res.p == pytest.approx(case[pmethod], rel=1e-6, abs=1e-300), WHY


@pytest.mark.parametrize("name", sorted(CASES))
def test_integer_scores_change_the_statistic_as_in_r(name: str) -> None:
    case = CASES[name]
    res = _fit(case, pmethod="Lau94", iscores=True)
    assert res.statistic == pytest.approx(case["statistic_iscores"], rel=1e-9), WHY
    assert res.p == pytest.approx(case["Lau94_iscores"], rel=1e-6), WHY


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.get("HL") is not None])
def test_hothorn_lausen_matches_r(name: str) -> None:
    case = CASES[name]
    res = _fit(case, pmethod="HL")
    assert res.statistic == pytest.approx(case["HL_statistic"], rel=1e-9), WHY
    assert res.p == pytest.approx(case["HL"], rel=1e-6, abs=1e-12), WHY


def test_hothorn_lausen_runs_beyond_r_gamma_overflow() -> None:
    """R returns NaN above N = 170 (gamma(N+1) = Inf); ours is a probability and agrees with
    the exactGauss value to within the small-sample difference of the two methods."""
    case = CASES["sim200_ties"]
    assert case["HL"] is None                                    # R's NaN, recorded by the R script
    res = _fit(case, pmethod="HL")
    assert 0.0 <= res.p <= 1.0
    assert res.p >= _fit(case, pmethod="exactGauss").p          # HL is an upper bound (Hothorn & Lausen 2003)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "exactGauss_precise" in c])
def test_exact_gauss_within_r_monte_carlo_error(name: str) -> None:
    case = CASES[name]
    res = _fit(case, pmethod="exactGauss")
    tol = 3 * case["exactGauss_precise_error"] + 1e-6
    assert res.p == pytest.approx(case["exactGauss_precise"], abs=tol), WHY
    # the default R call (GenzBretz abseps 1e-3) agrees within its own error
    assert res.p == pytest.approx(case["exactGauss_default"], abs=2e-3), WHY


def test_exact_gauss_single_candidate_and_continuous_limit() -> None:
    assert p_exact_gauss(2.0, 50, [25]) == pytest.approx(2 * 0.022750131948179195, rel=1e-12)   # 2*pnorm(-2)
    # Lau92 is the continuous-time (sup over all t) limit of the same quantity: a discrete set of
    # candidates can only exceed less often
    m = np.arange(200, 1801)
    assert p_exact_gauss(3.0, 2000, m) < p_lausen92(3.0)


def test_exact_gauss_against_simulated_gauss_markov_chain() -> None:
    """Independent check: simulate Z_{k+1} = ρ Z_k + s ε (seeded) for 1300 subjects, 1041 candidates,
    a size where R's pmvnorm refuses (> 1000 dimensions)."""
    n, m = 1300, np.arange(130, 1171)
    rho = np.sqrt(m[:-1] * (n - m[1:]) / ((n - m[:-1]) * m[1:]))
    rng = np.random.default_rng(7)
    z = rng.standard_normal(100_000)
    mx = np.abs(z)
    for r in rho:
        z = r * z + math.sqrt(1 - r * r) * rng.standard_normal(z.size)
        np.maximum(mx, np.abs(z), out=mx)
    p_mc = np.mean(mx > 3.0)
    assert p_exact_gauss(3.0, n, m) == pytest.approx(p_mc, abs=4 * math.sqrt(p_mc * (1 - p_mc) / z.size))


@pytest.mark.parametrize("name", sorted(CASES))
def test_cond_mc_within_monte_carlo_error_of_r(name: str) -> None:
    case = CASES[name]
    res = _fit(case, pmethod="condMC", n_perm=10000, seed=1)
    p_r, b = case["condMC"], case["condMC_B"]
    se = math.sqrt(max(p_r * (1 - p_r), 1e-4) / b) * math.sqrt(2)    # two independent MC estimates
    assert res.p == pytest.approx(p_r, abs=4 * se), WHY
    assert res.to_dict()["p_plus1"] == pytest.approx((res.p * b + 1) / (b + 1))
    assert _fit(case, pmethod="condMC", n_perm=10000, seed=1).p == res.p          # seeded


def test_function_level_values() -> None:
    assert [p_lausen92(b) for b in FUN["pLausen92_b"]] == pytest.approx(FUN["pLausen92"], rel=1e-9)
    assert p_lausen92(2.5, 0.25, 0.75) == pytest.approx(FUN["pLausen92_25_75"], rel=1e-9)
    assert p_lausen94(2.5, 20, 0.25, 0.75) == pytest.approx(FUN["pLausen94_2.5_20"], rel=1e-9)
    assert p_lausen94(1.0, 20, 0.25, 0.75) == pytest.approx(FUN["pLausen94_1.0_20"], rel=1e-9)   # > 1, as R
    assert p_lausen94(1.0, 20, 0.25, 0.75, clamp=True) == 1.0
    assert p_lausen94(2.5, 200, 0.25, 0.75, m=np.arange(50, 151, 10)) == pytest.approx(
        FUN["pLausen94_2.5_200_m"], rel=1e-9)
    assert p_hothorn_lausen(2.5, np.arange(1, 21), np.arange(5, 16)) == pytest.approx(
        FUN["pmaxstat_2.5_1_20_5_15"], rel=1e-9)
    assert logrank_scores(FUN["toy_time"], FUN["toy_event"]) == pytest.approx(FUN["toy_scores"], rel=1e-12)


def test_lau94_negative_for_rotterdam_and_clamped_variant() -> None:
    case = CASES["rotterdam_nodes"]
    assert case["Lau94"] < 0                                       # R's unclamped bound
    assert _fit(case, pmethod="Lau94clamped").p == 0.0


def test_minprop_zero_maxprop_one_quirk() -> None:
    x = np.asarray(FUN["quirk_x"], float)
    assert (x[candidate_splits(x, 0, 1) - 1]).tolist() == FUN["quirk_cuts_0_1"]           # R drops 9
    assert (x[candidate_splits(x, 0.1, 0.9) - 1]).tolist() == FUN["quirk_cuts_01_09"]
    assert (x[candidate_splits(x, 0, 1, r_compat=False) - 1]).tolist() == list(range(1, 10))


def test_row_order_invariance_and_group_boundary() -> None:
    t, e, x = _data(CASES["hohnloser_EF"])
    perm = np.random.default_rng(3).permutation(t.size)
    a, b = maxstat(t, e, x, pmethod="Lau94"), maxstat(t[perm], e[perm], x[perm], pmethod="Lau94")
    assert (a.statistic, a.cutpoint) == pytest.approx((b.statistic, b.cutpoint), rel=1e-12)
    assert a.n_low == int(np.sum(x <= a.cutpoint))                # x <= cut is the low group


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"event": [1, 2, 2, 1]}, r"event\[1\].*1/2 coding"),
    ({"time": [1.0, -1.0, 2.0, 3.0]}, r"time\[1\]"),
    ({"x": [1.0, float("nan"), 2.0, 3.0]}, r"x\[1\]"),
    ({"pmethod": "Lau93"}, r"pmethod must be one of"),
    ({"minprop": 0.95}, r"minprop/maxprop"),
])
def test_bad_input_is_rejected(kwargs: dict, message: str) -> None:
    args = {"time": [1.0, 2.0, 3.0, 4.0], "event": [1, 0, 1, 1], "x": [1.0, 2.0, 3.0, 4.0]} | kwargs
    t, e, x = args.pop("time"), args.pop("event"), args.pop("x")
    with pytest.raises(ValueError, match=message):
        maxstat(t, e, x, **args)


def test_exact_gauss_grid_convergence() -> None:
    """Richardson-extrapolated grids of 201/401 and 401/801 points agree to 1e-7 (the O(h²) error
    law holds), i.e. the deterministic p carries far more digits than R's QMC value."""
    case = CASES["DLBCL_MGE"]
    t, e, x = _data(case)
    m = candidate_splits(np.sort(x), 0.1, 0.9)
    b = maxstat(t, e, x).statistic
    assert p_exact_gauss(b, t.size, m) == pytest.approx(p_exact_gauss(b, t.size, m, min_grid=401), abs=1e-7)
