"""survdiff against R (tests/reference/survival_km.R -> survival_km.json)."""

from __future__ import annotations

import numpy as np
import pytest

from cartlens.stats.logrank import survdiff

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import arr, load, why
except ImportError:
    from _survival_ref import arr, load, why  # type: ignore[no-redef]

REF = load("survival_km")


def _case(name: str):
    lung, synth = REF["lung"], REF["synth"]
    t, d = arr(lung["time"]), arr(lung["status"]) == 2
    sex, ecog = arr(lung["sex"]), arr(lung["ph_ecog"])
    ok = ~np.isnan(ecog)
    st, sd_ = arr(synth["time"]), arr(synth["status"])
    return {
        "lung_sex": ((t, d, sex), {}),
        "lung_sex_strata": ((t[ok], d[ok], sex[ok]), {"strata": ecog[ok]}),
        "lung_sex_rho1": ((t, d, sex), {"rho": 1.0}),
        "lung_ecog": ((t[ok], d[ok], ecog[ok]), {}),
        "synth_group": ((st, sd_, synth["group"]), {}),
        "synth_group_strata": ((st, sd_, synth["group"]), {"strata": synth["centre"]}),
        "synth_group_rho05": ((st, sd_, synth["group"]), {"strata": synth["centre"], "rho": 0.5}),
    }[name]


@pytest.mark.parametrize("name", ["lung_sex", "lung_sex_strata", "lung_sex_rho1", "lung_ecog", "synth_group",
                                  "synth_group_strata", "synth_group_rho05"])
def test_survdiff_matches_r(name: str) -> None:
    args, kwargs = _case(name)
    ref = REF["logrank"][name]
    res = survdiff(*args, **kwargs)
    assert res.chisq == pytest.approx(ref["chisq"], rel=1e-6), why(REF)
    assert res.df == ref["df"]
    assert res.p == pytest.approx(ref["p"], rel=1e-6, abs=1e-12)
    k = len(res.groups)
    obs, exp = np.array(ref["obs"], dtype=float), np.array(ref["exp"], dtype=float)
    if obs.ndim == 2:     # stratified: R returns group x stratum matrices
        obs, exp = obs.reshape(k, -1).sum(axis=1), exp.reshape(k, -1).sum(axis=1)
    np.testing.assert_allclose(res.observed, obs, rtol=1e-9)
    np.testing.assert_allclose(res.expected, exp, rtol=1e-9)
    np.testing.assert_allclose(res.var, np.array(ref["var"]), rtol=1e-9, atol=1e-12)


def test_spec_values() -> None:
    """survival_stats.md §3: lung ~ sex chi2 10.32674 (p 0.00131116); + strata(ph.ecog) 10.79506."""
    args, _ = _case("lung_sex")
    assert survdiff(*args).chisq == pytest.approx(10.32674, abs=5e-6)
    args, kwargs = _case("lung_sex_strata")
    assert survdiff(*args, **kwargs).chisq == pytest.approx(10.795059633, abs=5e-9)


def test_one_group_is_refused() -> None:
    with pytest.raises(ValueError, match="only 1 group"):
        survdiff([1, 2, 3], [1, 1, 0], ["a", "a", "a"])
