"""harrell_c / concordance_counts against R survival::concordance (survival_cox.R -> survival_cox.json)."""

from __future__ import annotations

import numpy as np
import pytest

from cartlens.stats.concordance import concordance_counts, harrell_c

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import arr, load, why
except ImportError:
    from _survival_ref import arr, load, why  # type: ignore[no-redef]

REF = load("survival_cox")


def _synth():
    s = REF["synth"]
    return np.array(s["time"]), np.array(s["status"]), s


@pytest.mark.parametrize(("name", "marker", "kwargs"), [
    ("synth_conc_x1", "x1", {}), ("synth_conc_x2", "x2", {}),
    ("synth_conc_strata", "x3", {"strata": "centre"}), ("synth_conc_weights", "x1", {"weights": "w"}),
])
def test_concordance_matches_r(name: str, marker: str, kwargs: dict) -> None:
    t, d, s = _synth()
    ref = REF[name]
    res = concordance_counts(t, d, s[marker], **{k: s[v] for k, v in kwargs.items()})
    assert res.c == pytest.approx(ref["c"], rel=1e-9), why(REF)
    assert res.se == pytest.approx(ref["se"], rel=1e-7), why(REF)
    # R's count after reverse=TRUE: concordant, discordant, tied.x, tied.y, tied.xy
    got = [res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy]
    np.testing.assert_allclose(got, ref["count"], rtol=1e-9)


def test_lung_cox_concordance_counts() -> None:
    """survival_stats.md §4.4: concordant 11910, discordant 7793, tied.x 311, tied.y 28 (lung age + sex)."""
    lung = REF["lung"]
    lp = np.array(REF["fits"]["efron"]["lp"])
    res = concordance_counts(arr(lung["time"]), arr(lung["status"]) == 2, lp)
    assert (res.concordant, res.discordant, res.tied_x, res.tied_y) == (11910, 7793, 311, 28)
    np.testing.assert_allclose([res.c, res.se], REF["fits"]["efron"]["concordance"][5:7], rtol=1e-9)


def test_strata_only_compare_within() -> None:
    """Two strata, each perfectly concordant on its own, discordant across: C must be 1 within strata."""
    time = [1, 2, 3, 1, 2, 3]
    event = [1, 1, 1, 1, 1, 1]
    risk = [3, 2, 1, 30, 20, 10]
    assert harrell_c(time, event, risk, strata=[0, 0, 0, 1, 1, 1])[0] == 1.0


def test_no_comparable_pairs_is_nan_like_r() -> None:
    """All events at one time: R concordance(Surv(c(1,1,1), c(1,1,1)) ~ c(1,2,3)) gives NaN (0/0)."""
    c, se = harrell_c([1, 1, 1], [1, 1, 1], [1, 2, 3])
    assert np.isnan(c) and np.isnan(se)


def _brute_force(time, event, risk, w, strata):
    """Pair-by-pair count of R's definition (reverse=TRUE), written out independently of the module."""
    conc = disc = tie_x = 0.0
    n = len(time)
    for i in range(n):
        for j in range(n):
            if i == j or strata[i] != strata[j] or not event[i]:
                continue
            if time[i] < time[j] or (time[i] == time[j] and not event[j]):
                pair = w[i] * w[j]
                if risk[i] > risk[j]:
                    conc += pair
                elif risk[i] < risk[j]:
                    disc += pair
                else:
                    tie_x += pair
    return conc, disc, tie_x


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_a_brute_force_pair_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 140))
    time = rng.integers(1, 12, n).astype(float)
    event = rng.random(n) < 0.6
    risk = rng.integers(0, 6, n).astype(float)            # many ties in the score
    w = rng.integers(1, 4, n).astype(float)
    strata = rng.integers(0, 1 + seed % 3, n)
    res = concordance_counts(time, event, risk, weights=w, strata=strata)
    np.testing.assert_allclose([res.concordant, res.discordant, res.tied_x],
                               _brute_force(time, event, risk, w, strata), rtol=1e-12)
